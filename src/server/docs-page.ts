/**
 * GET /docs: the OpenAPI document rendered as one self-contained HTML page, on the server, with
 * no script and nothing fetched from elsewhere (the service may run where there is no
 * internet, and a strict Content-Security-Policy can stay strict).
 */

interface Schema {
  type?: string | string[];
  pattern?: string;
  description?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { description?: string; content?: Record<string, unknown> };
  responses?: Record<string, { description?: string }>;
  security?: unknown[];
}

export interface OpenApiDoc {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function typeOf(s: Schema | undefined): string {
  if (!s) return '';
  if (s.anyOf)
    return s.anyOf.map((x) => (x.const !== undefined ? JSON.stringify(x.const) : typeOf(x))).join(' | ');
  if (s.enum) return s.enum.map((x) => JSON.stringify(x)).join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? '');
  const range =
    s.minimum !== undefined || s.maximum !== undefined
      ? ` ${s.minimum ?? ''}..${s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : ''}`
      : '';
  return `${t}${range}${s.maxLength !== undefined ? ` ≤${s.maxLength} chars` : ''}`;
}

function operation(method: string, path: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td>` +
        `<td><code>${esc(typeOf(p.schema))}</code></td><td>${esc(p.description ?? p.schema?.description ?? '')}</td></tr>`,
    )
    .join('');
  const responses = Object.entries(op.responses ?? {})
    .map(([code, r]) => `<li><b>${esc(code)}</b> ${esc(r.description ?? '')}</li>`)
    .join('');
  const body = op.requestBody
    ? `<p><b>Body</b> (${esc(Object.keys(op.requestBody.content ?? {}).join(', '))}): ${esc(op.requestBody.description ?? '')}</p>`
    : '';
  return (
    `<section id="${esc(`${method}-${path}`)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> ` +
    `<code>${esc(path)}</code></h3><p><b>${esc(op.summary ?? '')}</b></p><p>${esc(op.description ?? '')}</p>` +
    (params
      ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>meaning</th></tr>${params}</table>`
      : '') +
    body +
    (responses ? `<ul>${responses}</ul>` : '') +
    '</section>'
  );
}

export function renderDocsPage(doc: OpenApiDoc): string {
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
  const index = ops
    .map(
      ({ path, method, op }) =>
        `<li><a href="#${esc(`${method}-${path}`)}">${esc(method.toUpperCase())} ${esc(path)}</a> ${esc(op.summary ?? '')}</li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info?.title ?? 'API')}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}
section{border-top:1px solid #ddd;margin-top:1.5rem}
table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
.m{font:bold 13px ui-monospace,monospace;padding:.1em .4em;border-radius:3px;color:#fff;background:#555}
.m.get{background:#1f6feb}.m.post{background:#2da44e}
</style></head><body>
<h1>${esc(doc.info?.title ?? 'API')} <small>${esc(doc.info?.version ?? '')}</small></h1>
<p>${esc(doc.info?.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3). Authentication: <code>Authorization: Bearer evk_&lt;id&gt;_&lt;secret&gt;</code>.</p>
<ul>${index}</ul>
${ops.map(({ path, method, op }) => operation(method, path, op)).join('\n')}
</body></html>
`;
}
