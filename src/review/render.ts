/**
 * The report as CSV (RFC 4180, one row per figure, cells neutralised against formula injection
 * like the SIEM CSV export) and as one self-contained HTML page: no external assets, charts as
 * inline SVG, a print style sheet.
 */
import { csvCell } from '../ledger/siem/csv.ts';
import type { Listed } from './aggregate.ts';
import type { Report } from './report.ts';

export const REPORT_CSV_COLUMNS = ['section', 'key', 'value', 'detail'] as const;

export function reportCsv(r: Report): string {
  const rows: string[][] = [[...REPORT_CSV_COLUMNS]];
  const add = (section: string, key: string, value: string | number, detail = '') =>
    rows.push([section, key, String(value), detail]);
  add('report', 'log', r.log);
  add('report', 'origin', r.origin);
  add('report', 'period', r.period.label, `${r.period.from}..${r.period.to}`);
  add('report', 'generated_at', r.generated_at);
  add('verification', 'ok', String(r.verification.ok));
  add('verification', 'entries', r.verification.entries);
  add('verification', 'verified_size', r.verification.verified_size);
  add('verification', 'root', r.verification.root);
  for (const f of r.verification.faults)
    add('verification', 'fault', f.kind, `${f.index ?? ''} ${f.message}`);
  if (r.checkpoint) {
    add('checkpoint', 'size', r.checkpoint.size, r.checkpoint.created_at);
    for (const s of r.checkpoint.signed_by) add('checkpoint', 'signed_by', s);
  }
  const f = r.figures;
  add('figures', 'entries', f.entries);
  for (const [k, v] of Object.entries(f.by_action)) add('by_action', k, v);
  for (const [k, v] of Object.entries(f.by_result)) add('by_result', k, v);
  for (const [k, v] of Object.entries(f.by_actor_type)) add('by_actor_type', k, v);
  for (const a of f.top_actors) add('top_actors', a.actor_id, a.count, a.actor_type);
  for (const d of f.per_day) add('per_day', d.day, d.total, `failure=${d.failure} denied=${d.denied}`);
  const list = (section: string, l: { count: number; latest: Listed[] }) => {
    add(section, 'count', l.count);
    for (const e of l.latest)
      add(section, String(e.index), e.action, `${e.timestamp} ${e.actor_id} ${e.resource} ${e.result}`);
  };
  list('failures', f.failures);
  list('denials', f.denials);
  list('after_hours', f.after_hours);
  list('alerts', f.alerts);
  list('audit_log_access', f.audit_log_access);
  add('retention', 'policy', r.retention.policy ? String(r.retention.policy.preset) : 'none');
  for (const t of r.retention.targets) add('retention', 'target', t);
  for (const p of r.retention.pruned)
    add('retention', 'pruned', `${p.first}-${p.last}`, `by #${p.prune_index}`);
  return rows.map((row) => `${row.map(csvCell).join(',')}\r\n`).join('');
}

const esc = (s: string | number) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** A horizontal bar chart of label → value. */
function barChart(id: string, title: string, data: [string, number][]): string {
  if (data.length === 0) return `<p>No ${esc(title.toLowerCase())}.</p>`;
  const max = Math.max(...data.map((d) => d[1]), 1);
  const rowH = 22;
  const h = data.length * rowH + 10;
  const bars = data
    .map(([k, v], i) => {
      const w = Math.max(1, Math.round((v / max) * 300));
      const y = i * rowH + 5;
      return `<text x="0" y="${y + 15}" class="l">${esc(k.length > 28 ? `${k.slice(0, 27)}…` : k)}</text><rect x="200" y="${y + 3}" width="${w}" height="16"/><text x="${205 + w}" y="${y + 15}">${v}</text>`;
    })
    .join('');
  return `<svg id="${id}" role="img" aria-label="${esc(title)}" viewBox="0 0 580 ${h}" width="580" height="${h}"><title>${esc(title)}</title>${bars}</svg>`;
}

/** Entries per day (bars) with failures and denials (line). */
function volumeChart(r: Report): string {
  const days = r.figures.per_day;
  if (days.length === 0) return '<p>No entries in the period.</p>';
  const W = 640;
  const H = 200;
  const max = Math.max(...days.map((d) => d.total), 1);
  const step = (W - 40) / days.length;
  const y = (v: number) => H - 20 - (v / max) * (H - 40);
  const bars = days
    .map(
      (d, i) =>
        `<rect x="${(30 + i * step).toFixed(1)}" y="${y(d.total).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${(H - 20 - y(d.total)).toFixed(1)}"><title>${esc(d.day)}: ${d.total}</title></rect>`,
    )
    .join('');
  const pts = days
    .map((d, i) => `${(30 + i * step + step / 2).toFixed(1)},${y(d.failure + d.denied).toFixed(1)}`)
    .join(' ');
  return `<svg id="chart-volume" role="img" aria-label="Entries per day" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title>Entries per day; the line: failures and denials</title><line x1="28" y1="${H - 20}" x2="${W - 10}" y2="${H - 20}" class="axis"/><text x="0" y="14">${max}</text><text x="30" y="${H - 4}">${esc(days[0]!.day)}</text><text x="${W - 90}" y="${H - 4}">${esc(days[days.length - 1]!.day)}</text>${bars}<polyline class="bad" fill="none" points="${pts}"/></svg>`;
}

function table(l: { count: number; latest: Listed[] }, none: string): string {
  if (l.count === 0) return `<p>${esc(none)}</p>`;
  const rows = l.latest
    .map(
      (e) =>
        `<tr><td>${e.index}</td><td>${esc(e.timestamp)}</td><td>${esc(e.actor_id)} (${esc(e.actor_type)})</td><td>${esc(e.action)}</td><td>${esc(e.resource)}</td><td>${esc(e.result)}</td></tr>`,
    )
    .join('');
  const more =
    l.count > l.latest.length ? `<p>${l.count} in all; the latest ${l.latest.length} listed.</p>` : '';
  return `<p>${l.count} in the period.</p><table><thead><tr><th>#</th><th>time</th><th>actor</th><th>action</th><th>resource</th><th>result</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#111;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
.ok{color:#06602a;font-weight:bold}.bad-t{color:#a00;font-weight:bold}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border:1px solid #ccc;padding:2px 4px;text-align:left;vertical-align:top}
svg rect{fill:#3a6ea5}svg text{font-size:11px;fill:#111}svg .axis{stroke:#555}svg polyline.bad{stroke:#c0392b;stroke-width:2}
pre{white-space:pre-wrap;word-break:break-all;font-size:11px;background:#f4f4f4;padding:.5em}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table,svg,pre{break-inside:avoid}a{color:inherit}}`;

export function reportHtml(r: Report): string {
  const v = r.verification;
  const f = r.figures;
  const status = v.ok
    ? `<p class="ok" id="verification-status">Verified: the log is intact (${v.entries} entries, ${v.verified_size} under a signed checkpoint).</p>`
    : `<p class="bad-t" id="verification-status">VERIFICATION FAILED: ${v.faults.length} fault(s), first bad entry ${v.first_bad_index ?? 'none'}.</p><ul>${v.faults.map((x) => `<li>${esc(x.kind)}: ${esc(x.message)}</li>`).join('')}</ul>`;
  const cp = r.checkpoint
    ? `<p>Checkpoint of size ${r.checkpoint.size} (${esc(r.checkpoint.created_at)}), signed by ${r.checkpoint.signed_by.map(esc).join(', ')}.</p><pre>${esc(r.checkpoint.note)}</pre>`
    : '<p>No signed checkpoint yet.</p>';
  const ret = r.retention;
  const retention = `<p>Policy: ${ret.policy ? `${esc(String(ret.policy.preset))}, online ${esc(String(ret.policy.online))}, archive ${esc(String(ret.policy.archive))}` : 'none set'}.</p><p>Archive targets: ${ret.targets.length ? ret.targets.map(esc).join(', ') : 'none'}.</p><p>Pruned ranges: ${ret.pruned.length ? ret.pruned.map((p) => `${p.first}–${p.last} (by #${p.prune_index})`).join(', ') : 'none'}.</p>`;
  const actors = f.top_actors.map((a) => [`${a.actor_id} (${a.actor_type})`, a.count] as [string, number]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Audit log review: ${esc(r.log)} ${esc(r.period.label)}</title><style>${CSS}</style></head>
<body><main>
<h1>Audit log review: ${esc(r.log)}, ${esc(r.period.label)}</h1>
<p>Origin ${esc(r.origin)}; period ${esc(r.period.from)} to ${esc(r.period.to)} (event time, end excluded); generated ${esc(r.generated_at)}.</p>
<h2>Verification</h2>${status}${cp}
<h2>Volume</h2><p>${f.entries} entries in the period.</p>${volumeChart(r)}
<h2>Results</h2>${barChart('chart-results', 'Entries by result', Object.entries(f.by_result))}
<h2>Actions</h2>${barChart('chart-actions', 'Entries by action', Object.entries(f.by_action).slice(0, 25))}
<h2>Actor types</h2>${barChart('chart-actor-types', 'Entries by actor type', Object.entries(f.by_actor_type))}
<h2>Top actors</h2>${barChart('chart-actors', 'Top actors', actors)}${f.top_actors_exact ? '' : '<p>Counts are lower bounds: more distinct actors than tracked at once.</p>'}
<h2>Failures</h2>${table(f.failures, 'No failures.')}
<h2>Denials</h2>${table(f.denials, 'No denials.')}
<h2>After-hours access</h2><p>Working hours ${esc(r.working_hours.hours)}, days ${esc(r.working_hours.days.join(','))} (0 = Sunday), ${esc(r.working_hours.time_zone)}.</p>${table(f.after_hours, 'No access after hours.')}
<h2>Alerts raised</h2>${table(f.alerts, 'No alerts raised (no evident.alert entries).')}
<h2>Access to the audit log</h2>${table(f.audit_log_access, 'No audit_log.* entries: the log was not read through the HTTP service in the period.')}
<h2>Retention and archive</h2>${retention}
</main></body></html>
`;
}
