/**
 * The defaults: who the actor is, which resource a route names, and what a status means.
 */
import type { ActorType, ResourceRef, RouteInfo } from './types.ts';

/** The actor recorded when none is found. */
export const ANONYMOUS = 'anonymous';
/** The action's path, resource type and resource id of a request that matched no route: never the raw path. */
export const UNMATCHED = '(unmatched)';
/** The resource id of a route without parameters (a collection, a login form ...). */
export const NO_ID = '*';

type Loose = Record<string, unknown> | undefined;

const asObject = (v: unknown): Loose =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;

const asId = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * The shapes authentication libraries leave on a request: passport (`req.user.id`), JWT payloads
 * (`req.user.sub`), Clerk (`req.auth.userId`), express-oauth2-jwt-bearer (`req.auth.payload.sub`).
 */
export function defaultActor(req: unknown): string | undefined {
  const r = asObject(req);
  const user = asObject(r?.['user']);
  const auth = asObject(r?.['auth']);
  return (
    asId(user?.['id']) ??
    asId(user?.['sub']) ??
    asId(auth?.['userId']) ??
    asId(auth?.['sub']) ??
    asId(asObject(auth?.['payload'])?.['sub'])
  );
}

export function defaultActorType(_req: unknown, actorId: string | undefined): ActorType {
  return actorId === undefined ? 'anonymous' : 'user';
}

export function defaultSession(req: unknown): string | undefined {
  const r = asObject(req);
  const session = asObject(r?.['session']);
  return asId(r?.['sessionID']) ?? asId(session?.['id']) ?? asId(session?.['sessionId']);
}

/** 2xx and 3xx succeeded, 401 and 403 were denied, everything else failed. */
export function resultFromStatus(status: number): 'success' | 'denied' | 'failure' {
  if (status >= 200 && status < 400) return 'success';
  if (status === 401 || status === 403) return 'denied';
  return 'failure';
}

/**
 * The resource a route names. `resource_id` is the value of the route's last parameter (`*` when
 * it has none). `resource_type` is the literal segment just before that parameter when the route
 * ends with it (`/patients/:id` -> `patients`), else the route's last literal segment
 * (`/patients/:id/notes` -> `notes`, `/patients` -> `patients`, `/` -> `root`).
 */
export function defaultResource(route: RouteInfo): ResourceRef {
  if (route.pattern === undefined) return { type: 'route', id: UNMATCHED };
  const segments = route.pattern.split('/').filter((s) => s.length > 0);
  const isParam = (s: string) => s.startsWith(':') || s.startsWith('*') || s.startsWith('{');
  let lastParam = -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    if (isParam(segments[i]!)) {
      lastParam = i;
      break;
    }
  }
  const literalBefore = (end: number) => {
    for (let i = end - 1; i >= 0; i--) if (!isParam(segments[i]!)) return segments[i]!;
    return 'root';
  };
  const endsWithParam = lastParam === segments.length - 1 && lastParam >= 0;
  const type = endsWithParam ? literalBefore(lastParam) : literalBefore(segments.length);
  const name = lastParam >= 0 ? paramName(segments[lastParam]!) : undefined;
  // A bare `*` is `params['*']` in Fastify and `params[0]` in Express 4.
  const value =
    name === undefined ? undefined : (route.params[name] ?? (name === '*' ? route.params['0'] : undefined));
  return { type, id: value !== undefined && value.length > 0 ? value : NO_ID };
}

/** `:id`, `:id?`, `:id(\\d+)`, `*path`, `{:id}` -> the parameter's name; a bare `*` -> `*`. */
function paramName(segment: string): string | undefined {
  if (segment === '*') return '*';
  const m = /^[{]?[:*]([A-Za-z0-9_$]+)/.exec(segment);
  return m?.[1];
}
