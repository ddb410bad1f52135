/**
 * Matching a route pattern against a request path, loosely: enough to read parameter values
 * that a framework keeps only per router (Express without mergeParams), and to tell apart two
 * mounts of one router. Covers the pattern syntax of Express 4 and 5 and Fastify
 * (`:name`, `:name?`, `:name(regex)`, `*`, `*name`, `{...}` optional groups).
 */

export interface CompiledPattern {
  regexp: RegExp;
  names: string[];
}

const cache = new Map<string, CompiledPattern>();
const CACHE_LIMIT = 1000;

/** `end: false` compiles a mount prefix: it matches up to a `/` or the end of the path. */
export function compilePattern(pattern: string, end = true): CompiledPattern {
  const key = end ? pattern : `prefix:${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const names: string[] = [];
  let source = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === ':' || c === '*') {
      const m = /^[A-Za-z0-9_$]*/.exec(pattern.slice(i + 1))!;
      let name = m[0];
      i += 1 + name.length;
      if (c === '*' && name === '') name = String(names.filter((n) => /^\d+$/.test(n)).length);
      // A custom regexp after the name (Express 4 `:id(\\d+)`) is skipped: any segment will do here.
      if (c === ':' && pattern[i] === '(') i = skipGroup(pattern, i);
      names.push(name);
      const optional = pattern[i] === '?';
      if (optional) i++;
      if (c === '*') source += '(.*)';
      else if (!optional) source += '([^/]+)';
      // Express 4 `/a/:b?` also matches `/a`: the slash is optional with the parameter.
      else if (source.endsWith('\\/')) source = `${source.slice(0, -2)}(?:\\/([^/]+))?`;
      else source += '([^/]+)?';
      continue;
    }
    if (c === '{') source += '(?:';
    else if (c === '}') source += ')?';
    else source += c.replace(/[.+?^$|()[\]\\/]/g, '\\$&');
    i++;
  }
  const compiled = { regexp: new RegExp(end ? `^${source}\\/?$` : `^${source}(?=\\/|$)`, 'i'), names };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

function skipGroup(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '(') depth++;
    else if (s[i] === ')' && --depth === 0) return i + 1;
  }
  return s.length;
}

/** The parameters of `path` under `pattern`, or undefined when it does not match. */
export function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const { regexp, names } = compilePattern(pattern);
  const m = regexp.exec(path);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  names.forEach((name, k) => {
    const raw = m[k + 1];
    if (raw === undefined) return;
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      params[name] = raw;
    }
  });
  return params;
}

/** The path of a URL without its query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** What is left of `path` after a mount `pattern`, or undefined when the mount does not match. */
export function afterPrefix(pattern: string, path: string): string | undefined {
  if (pattern === '') return path;
  const m = compilePattern(pattern, false).regexp.exec(path);
  if (!m) return undefined;
  const rest = path.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
