/**
 * Request bodies: JSON only, read with a byte limit and a deadline, decoded as strict UTF-8 and
 * parsed with the strict parser (../core/json.ts), so that duplicate keys, lone surrogates,
 * deep nesting and unsafe integers are refused before anything looks at the value, and a
 * `__proto__` key stays a plain property. Fastify's own JSON parser (JSON.parse) is removed:
 * it keeps the last of duplicate keys and replaces invalid UTF-8 with U+FFFD, silently.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this many ms of the handler asking for it. */
  timeoutMs: number;
  /** Deepest nesting accepted by the parser (events are held to 16 by validation). */
  maxDepth?: number;
}

export function registerJsonBody(app: FastifyInstance, limits: BodyLimits): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    async (req: { raw: IncomingMessage }, payload: IncomingMessage) => {
      const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.raw.headers['content-type'] ?? '')?.[2];
      if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
        throw new EvidentError(
          ErrorCode.UNSUPPORTED_MEDIA_TYPE,
          `charset ${charset} is not accepted: send UTF-8`,
        );
      }
      const bytes = await readBody(req.raw, payload, limits);
      let text: string;
      try {
        // ignoreBOM keeps a BOM in the text, where the parser refuses it (RFC 8259 §8.1).
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        throw new EvidentError(ErrorCode.ENCODING_INVALID, 'the body is not valid UTF-8', { rule: 'utf8' });
      }
      return parseJson(text, { maxDepth: limits.maxDepth ?? 64 });
    },
  );
}

function tooLarge(limit: number): EvidentError {
  return new EvidentError(ErrorCode.PAYLOAD_TOO_LARGE, `the body is larger than ${limit} bytes`, {
    rule: 'max_bytes',
    limit,
  });
}

/** The body's bytes; refuses a declared or actual length past the limit, and a body that trickles. */
export function readBody(
  raw: IncomingMessage,
  payload: IncomingMessage,
  limits: BodyLimits,
): Promise<Buffer> {
  const declared = raw.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) {
    return Promise.reject(tooLarge(limits.maxBytes));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (e: unknown, value?: Buffer) => {
      clearTimeout(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      if (e) {
        // Whatever else arrives is discarded; the answer closes the connection.
        payload.resume();
        reject(e);
      } else resolve(value!);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) finish(tooLarge(limits.maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks, received));
    // A client that goes away midway is the client's doing, not a fault of ours: a 400 nobody reads.
    const onError = (e: NodeJS.ErrnoException) =>
      finish(
        e.code === 'ECONNRESET'
          ? new EvidentError(ErrorCode.BAD_REQUEST, 'the connection closed before the whole body arrived', {
              rule: 'incomplete',
            })
          : e,
      );
    const timer = setTimeout(
      () =>
        finish(
          new EvidentError(
            ErrorCode.REQUEST_TIMEOUT,
            `the body did not arrive within ${limits.timeoutMs} ms`,
            { limit: limits.timeoutMs },
          ),
        ),
      limits.timeoutMs,
    );
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
