/**
 * The access guard, one onRequest hook for every route with an access rule, before the body is
 * read: authenticate the key, apply the rate limit (per key; per address without one), check the
 * log name, then the key's logs and scopes, then find the log. A key never reaches a log it is
 * not bound to, whatever the URL says: the log comes from the path, and the path's log must be
 * one of the key's. Refusals on a known log are recorded as `denied` access events: one by one
 * for a valid key; without one (no key, a malformed, unknown or revoked one) counted per
 * address and window and written once per window (./access-tally.ts), so that requests that
 * cost nothing cannot grow the log without bound.
 *
 * Order matters: the rate limit comes before the denial is recorded, so a flood of bad keys
 * cannot flood the log; a key that does not reach a log gets 403 whether the log exists or not,
 * so keys cannot probe other tenants' log names.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, EvidentError, ValidationError } from '../core/errors.ts';
import { isValidLogName, LOG_NAME_RULE } from '../core/log-name.ts';
import type { ApiKeyRecord } from '../store/types.ts';
import { recordAccess } from './access-audit.ts';
import { keyHasScope, keyReaches, parseApiKey, secretMatches } from './api-keys.ts';
import type { AccessRule, ServerContext } from './context.ts';
import { forbidden, unauthenticated } from './errors.ts';

type Limiter = (req: FastifyRequest) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttl?: number }>;

export function accessGuard(ctx: ServerContext, limiter: Limiter | undefined) {
  return async function guard(req: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const rule = req.routeOptions.config.access;
    req.evident = { key: undefined, ledger: undefined };
    if (!rule) return;

    const auth = await authenticate(ctx, req.headers.authorization);
    if (auth.key) req.evident.key = auth.key;
    if (auth.claimedId) req.evident.claimedKeyId = auth.claimedId;

    if (limiter) {
      const r = await limiter(req);
      if (!r.isAllowed && r.isExceeded) {
        throw new EvidentError(ErrorCode.RATE_LIMITED, 'too many requests: slow down', {
          retry_after_ms: r.ttl ?? 1000,
        });
      }
    }

    const name = (req.params as { log?: unknown }).log;
    if (typeof name !== 'string' || !isValidLogName(name)) {
      throw new ValidationError([
        {
          field: 'log',
          rule: 'format',
          message: `a log name is ${LOG_NAME_RULE}`,
        },
      ]);
    }

    const refusal = decide(ctx, rule, auth, name);
    if (refusal) {
      const ledger = await ctx.registry.get(name).catch(() => undefined);
      if (ledger) {
        const record = {
          action: rule.action,
          result: 'denied' as const,
          reason: refusal.message,
          metadata: {
            code: refusal.code,
            required_scope: rule.scope,
            ...(typeof refusal.details?.['rule'] === 'string' ? { rule: refusal.details['rule'] } : {}),
          },
        };
        if (auth.key && !auth.failure) {
          // the refusal stands even if it could not be recorded (logged, counted)
          await recordAccess(ctx, req, ledger, record).catch(() => {});
        } else {
          ctx.tally.count(req, ledger, record);
        }
      }
      throw refusal;
    }

    const key = auth.key;
    let ledger = await ctx.registry.get(name);
    if (!ledger && rule.createLog && key && keyHasScope(key, 'admin'))
      ledger = await ctx.registry.create(name);
    if (!ledger) throw new EvidentError(ErrorCode.NOT_FOUND, `no log named "${name}"`, { field: 'log' });
    req.evident.ledger = ledger;
  };
}

function decide(
  ctx: ServerContext,
  rule: AccessRule,
  auth: Authentication,
  log: string,
): EvidentError | undefined {
  if (auth.failure) return auth.failure;
  const key = auth.key;
  if (!key) {
    // Only the logs named public: any other name gets the same 401, whether it exists or not.
    if (rule.scope === 'verify' && ctx.options.publicVerify.includes(log)) return undefined;
    return unauthenticated('an API key is required: Authorization: Bearer evk_...', 'missing_key');
  }
  if (!keyReaches(key, log)) return forbidden(`this API key is not bound to log "${log}"`, 'log_not_allowed');
  if (!keyHasScope(key, rule.scope)) {
    return forbidden(`this API key lacks the "${rule.scope}" scope`, 'scope_missing');
  }
  return undefined;
}

interface Authentication {
  key?: ApiKeyRecord;
  claimedId?: string;
  failure?: EvidentError;
}

async function authenticate(ctx: ServerContext, header: string | undefined): Promise<Authentication> {
  if (header === undefined) return {};
  const m = /^Bearer +(\S+) *$/i.exec(header);
  const parsed = m ? parseApiKey(m[1]!) : undefined;
  if (!parsed) {
    return {
      failure: unauthenticated('the Authorization header is not "Bearer evk_<id>_<secret>"', 'malformed_key'),
    };
  }
  const record = await ctx.store.getApiKey(parsed.id);
  if (!secretMatches(record, parsed.secret)) {
    return { claimedId: parsed.id, failure: unauthenticated('unknown API key', 'unknown_key') };
  }
  if (record!.revokedAt !== undefined) {
    return { key: record!, failure: unauthenticated('this API key was revoked', 'revoked_key') };
  }
  return { key: record! };
}

/** What the rate limit counts against: the authenticated key, else the client address. */
export function rateLimitKey(req: FastifyRequest): string {
  const key = req.evident?.key;
  return key ? `key:${key.id}` : `ip:${req.ip}`;
}
