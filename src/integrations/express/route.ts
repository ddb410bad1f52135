/**
 * The full route pattern of an Express request (`/orgs/:orgId/patients/:id`), for Express 4 and 5.
 * Express keeps only the pattern of the last route (`req.route.path`) and the *matched* mount
 * paths (`req.baseUrl`, with real ids), so the mounts are found by walking the router tree:
 * the chain of mount layers that leads to `req.route`. A request answered before any route
 * (an authentication guard, a 404) is resolved by matching its path and method against the
 * same tree: the route that would have handled it, or none.
 */
import { afterPrefix, matchPattern, pathOf } from '../audit/pattern.ts';

interface RouteLike {
  path?: unknown;
  _handlesMethod?(method: string): boolean;
  _handles_method?(method: string): boolean;
}
interface LayerLike {
  route?: RouteLike;
  handle?: unknown;
  /** Express 5 (router 2): the pattern as given to use(). */
  rawPath?: unknown;
  /** Express 4: the compiled pattern and its keys; the string is not kept. */
  regexp?: RegExp & { fast_slash?: boolean };
  keys?: { name: string | number; optional?: boolean }[];
}
interface RouterLike {
  stack: LayerLike[];
}
interface AppLike {
  _router?: unknown;
  router?: unknown;
  mountpath?: unknown;
  parent?: unknown;
}
export interface RoutedRequest {
  app?: unknown;
  route?: unknown;
  method: string;
  originalUrl?: string;
  url?: string;
}

const MAX_DEPTH = 32;
const chainCache = new WeakMap<object, string[]>();
const mountCache = new WeakMap<object, string[]>();

export function expressRoutePattern(req: RoutedRequest): string | undefined {
  const app = req.app as AppLike | undefined;
  const router = app ? routerOf(app) : undefined;
  if (!app || !router) return undefined;
  const path = pathOf(req.originalUrl ?? req.url ?? '/');
  const prefix = appPrefix(app);
  const inner = afterPrefix(prefix, path) ?? path;
  const route = req.route;
  const found =
    (typeof route === 'object' && route !== null ? pick(chainsTo(router, route), inner) : undefined) ??
    resolve(router, inner, req.method, 0);
  if (found === undefined) return undefined;
  const full = prefix + found;
  return full === '' ? '/' : full;
}

function routerOf(app: AppLike): RouterLike | undefined {
  let r: unknown = app._router; // Express 4 (its app.router getter throws)
  if (r === undefined && !('_router' in app)) {
    try {
      r = app.router; // Express 5
    } catch {
      r = undefined;
    }
  }
  return isRouter(r) ? r : undefined;
}

function isRouter(x: unknown): x is RouterLike {
  return (
    (typeof x === 'function' || typeof x === 'object') && x !== null && Array.isArray((x as RouterLike).stack)
  );
}

/** A mounted sub-application's mount paths, outermost first. */
function appPrefix(app: AppLike): string {
  let prefix = '';
  let a: AppLike | undefined = app;
  for (let i = 0; a?.parent && i < MAX_DEPTH; i++) {
    const m = Array.isArray(a.mountpath) ? a.mountpath[0] : a.mountpath;
    prefix = trimSlash(typeof m === 'string' ? m : String(m)) + prefix;
    a = a.parent as AppLike;
  }
  return prefix;
}

/** The chain that matches the path; with several and none matching, none (the caller resolves by path). */
function pick(candidates: string[], path: string): string | undefined {
  if (candidates.length <= 1) return candidates[0];
  return candidates.find((c) => matchPattern(c, path) !== undefined);
}

function chainsTo(router: RouterLike, route: object): string[] {
  const hit = chainCache.get(route);
  if (hit) return hit;
  const out: string[] = [];
  walk(router, route, '', out, new Set(), 0);
  if (out.length > 0) chainCache.set(route, out);
  return out;
}

function walk(
  router: RouterLike,
  route: object,
  prefix: string,
  out: string[],
  seen: Set<object>,
  depth: number,
) {
  if (depth > MAX_DEPTH || seen.has(router)) return;
  seen.add(router);
  for (const layer of router.stack) {
    if (layer.route === route) {
      for (const p of routePaths(layer.route)) out.push(prefix + p);
    } else if (!layer.route && isRouter(layer.handle)) {
      for (const m of mountPatterns(layer)) walk(layer.handle, route, prefix + m, out, seen, depth + 1);
    }
  }
  seen.delete(router);
}

function resolve(router: RouterLike, path: string, method: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  for (const layer of router.stack) {
    const route = layer.route;
    if (route) {
      if (!handles(route, method)) continue;
      const p = routePaths(route).find((c) => matchPattern(c, path) !== undefined);
      if (p !== undefined) return p;
    } else if (isRouter(layer.handle)) {
      for (const m of mountPatterns(layer)) {
        const rest = afterPrefix(m, path);
        const inner = rest === undefined ? undefined : resolve(layer.handle, rest, method, depth + 1);
        if (inner !== undefined) return m + inner;
      }
    }
  }
  return undefined;
}

function handles(route: RouteLike, method: string): boolean {
  const m = method.toLowerCase();
  if (typeof route._handlesMethod === 'function') return route._handlesMethod(m);
  if (typeof route._handles_method === 'function') return route._handles_method(m);
  return false;
}

function routePaths(route: RouteLike): string[] {
  const p = route.path;
  const list = Array.isArray(p) ? p.flat(Infinity) : [p];
  return list.map((x) => (typeof x === 'string' ? x : String(x)));
}

function mountPatterns(layer: LayerLike): string[] {
  const hit = mountCache.get(layer);
  if (hit) return hit;
  let out: string[];
  if ('rawPath' in layer) {
    const raw = layer.rawPath;
    const list = Array.isArray(raw) ? raw.flat(Infinity) : [raw];
    out = list.map((x) => trimSlash(typeof x === 'string' ? x : String(x)));
  } else if (layer.regexp) {
    out = layer.regexp.fast_slash ? [''] : fromExpress4Regexp(layer.regexp, layer.keys ?? []);
  } else {
    out = [''];
  }
  mountCache.set(layer, out);
  return out;
}

const trimSlash = (s: string) => (s.endsWith('/') ? s.slice(0, -1) : s);

/**
 * Express 4 compiles `app.use('/orgs/:orgId', r)` to `^\/orgs(?:\/([^/]+?))\/?(?=\/|$)` and
 * drops the string: this writes the common forms back, one pattern per path of an array mount.
 * Anything else (a RegExp mount) is shown as the regular expression's own text.
 */
export function fromExpress4Regexp(re: RegExp, keys: readonly { name: string | number }[]): string[] {
  const alternatives = re.source.split('|^');
  let k = 0;
  const name = () => {
    const key = keys[k++];
    return key === undefined || typeof key.name === 'number' ? '' : key.name;
  };
  const out: string[] = [];
  for (let s of alternatives) {
    if (s.startsWith('^')) s = s.slice(1);
    s = s.replace(/\\\/\?\(\?=\\\/\|\$\)$/, '').replace(/\\\/\?\$$/, '');
    const text = s.replace(
      /\(\?:\\\/\(\[\^\/\]\+\?\)\)(\?)?|\(\[\^\/\]\+\?\)|\(\.\*\)|\\([/.-])/g,
      (m, opt: string | undefined, esc: string | undefined) => {
        if (esc !== undefined) return esc;
        if (m === '(.*)') {
          k++;
          return '*';
        }
        const n = name();
        return m.startsWith('(?:') ? `/:${n}${opt ?? ''}` : `:${n}`;
      },
    );
    if (/[\\()[\]^$|+{}]/.test(text)) return [String(re)];
    out.push(trimSlash(text));
  }
  return out;
}
