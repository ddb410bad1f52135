/**
 * The few HTTP calls the client makes, with fetch. Every answer that is not a success becomes an
 * EvidentError carrying the server's code and details, the HTTP `status`, and `retry_after_ms`
 * from Retry-After; a request that got no answer becomes one with `reason: 'network'` or
 * `'timeout'` (and no status).
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';

const USER_AGENT = 'evident-client/0.1';
const KNOWN = new Set<string>(Object.values(ErrorCode));

export interface Receipt {
  id: string;
  index: number;
  hash: string;
  duplicate?: boolean;
}

export interface TransportOptions {
  url: string;
  log: string;
  apiKey: string;
  verifyApiKey: string;
  requestTimeoutMs: number;
}

/** Retry-After: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const t = header.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

async function failure(res: Response): Promise<EvidentError> {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await res.text());
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      body = parsed as Record<string, unknown>;
    }
  } catch {
    // not JSON: a proxy's page, say
  }
  const code =
    typeof body.code === 'string' && KNOWN.has(body.code)
      ? (body.code as ErrorCode)
      : res.status >= 500
        ? ErrorCode.STORE_FAILED
        : ErrorCode.BAD_REQUEST;
  const { code: _c, message, ...details } = body;
  const retry = retryAfterMs(res.headers.get('retry-after'));
  return new EvidentError(code, typeof message === 'string' ? message : `HTTP ${res.status}`, {
    ...details,
    status: res.status,
    ...(retry !== undefined ? { retry_after_ms: retry } : {}),
  });
}

export class Transport {
  private readonly base: string;

  constructor(
    private readonly o: TransportOptions,
    /** Aborted by close(): the request in flight is given up (its events stay spooled). */
    private readonly stop: AbortSignal,
  ) {
    this.base = `${o.url}/v1/logs/${encodeURIComponent(o.log)}`;
  }

  private async request(path: string, key: string, init: RequestInit = {}): Promise<Response> {
    const signal = AbortSignal.any([this.stop, AbortSignal.timeout(this.o.requestTimeoutMs)]);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        ...init,
        signal,
        headers: { authorization: `Bearer ${key}`, 'user-agent': USER_AGENT, ...(init.headers ?? {}) },
      });
    } catch (e) {
      const timeout = (e as { name?: string }).name === 'TimeoutError';
      const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
      return Promise.reject(
        new EvidentError(
          ErrorCode.DELIVERY_FAILED,
          timeout
            ? `no answer within ${this.o.requestTimeoutMs} ms`
            : `cannot reach the server: ${cause?.code ?? (e as Error).message}`,
          {
            reason: timeout ? 'timeout' : 'network',
            ...(typeof cause?.code === 'string' ? { cause: cause.code } : {}),
          },
        ),
      );
    }
    if (!res.ok) throw await failure(res);
    return res;
  }

  /** POSTs events already serialized as JSON; resolves with the receipts, in order. */
  async postEvents(payloads: readonly Buffer[]): Promise<Receipt[]> {
    const parts: Buffer[] = [Buffer.from('[')];
    for (const [i, p] of payloads.entries()) {
      if (i > 0) parts.push(Buffer.from(','));
      parts.push(p);
    }
    parts.push(Buffer.from(']'));
    const res = await this.request('/events', this.o.apiKey, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat(parts),
    });
    const body = (await res.json()) as { receipts?: unknown };
    if (!Array.isArray(body.receipts)) {
      throw new EvidentError(ErrorCode.DELIVERY_FAILED, 'the server answered without receipts', {
        reason: 'protocol',
      });
    }
    return body.receipts as Receipt[];
  }

  /** The latest signed checkpoint, byte-exact. */
  async checkpoint(): Promise<string> {
    return (await this.request('/checkpoint', this.o.verifyApiKey)).text();
  }

  /** RFC 9162 §2.1.4 proof between two tree sizes, hashes in standard base64. */
  async consistency(from: number, to: number): Promise<string[]> {
    const res = await this.request(`/proof/consistency?from=${from}&to=${to}`, this.o.verifyApiKey);
    const body = (await res.json()) as { hashes?: unknown };
    if (!Array.isArray(body.hashes) || !body.hashes.every((h) => typeof h === 'string')) {
      throw new EvidentError(ErrorCode.DELIVERY_FAILED, 'the consistency proof is not a list of hashes', {
        reason: 'protocol',
      });
    }
    return body.hashes as string[];
  }
}
