/**
 * Holding an Express response until its audit event is durable (fail-closed routes).
 *
 * Express has no hook between "the handler answered" and "bytes leave", so the response's own
 * methods are wrapped for this one request: `writeHead` only sets the status and headers,
 * `write` keeps the chunks, `flushHeaders` waits, and `end` hands over to `decide`. Nothing
 * reaches the socket before `decide` settles. Then the original methods are put back and the
 * held response is written as it was, or, if the event could not be recorded and headers are
 * still unsent, replaced by a 503. The body is buffered in memory: streamed responses on a
 * fail-closed route arrive all at once, after the event is durable.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

type Callback = (error?: Error | null) => void;
type Chunk = { data: unknown; encoding: BufferEncoding | undefined; cb: Callback | undefined };

export type Decision = { release: true } | { release: false; replace: (res: ServerResponse) => void };

export function holdResponse(res: ServerResponse, decide: () => Promise<Decision>): void {
  const original = {
    writeHead: res.writeHead,
    write: res.write,
    end: res.end,
    flushHeaders: res.flushHeaders,
  };
  const chunks: Chunk[] = [];
  let ended = false;

  const restore = () => {
    res.writeHead = original.writeHead;
    res.write = original.write;
    res.end = original.end;
    res.flushHeaders = original.flushHeaders;
  };

  res.writeHead = function heldWriteHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    res.statusCode = status;
    const [a, b] = rest;
    if (typeof a === 'string') res.statusMessage = a;
    const headers = typeof a === 'string' ? b : a;
    applyHeaders(res, headers);
    return res;
  } as ServerResponse['writeHead'];

  res.flushHeaders = () => {};

  res.write = function heldWrite(data: unknown, encoding?: unknown, cb?: unknown) {
    if (typeof encoding === 'function') chunks.push({ data, encoding: undefined, cb: encoding as Callback });
    else
      chunks.push({ data, encoding: encoding as BufferEncoding | undefined, cb: cb as Callback | undefined });
    return true;
  } as ServerResponse['write'];

  res.end = function heldEnd(data?: unknown, encoding?: unknown, cb?: unknown) {
    if (ended) return res;
    ended = true;
    let done: Callback | undefined;
    if (typeof data === 'function') done = data as Callback;
    else {
      if (typeof encoding === 'function') done = encoding as Callback;
      else if (typeof cb === 'function') done = cb as Callback;
      if (data !== undefined && data !== null) {
        chunks.push({
          data,
          encoding: typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined,
          cb: undefined,
        });
      }
    }
    decide().then(
      (d) => settle(d, done),
      () => {
        // `decide` does not reject; if it ever did, an unrecorded response must not go out.
        restore();
        res.destroy();
      },
    );
    return res;
  } as ServerResponse['end'];

  const settle = (d: Decision, done: Callback | undefined) => {
    restore();
    if (d.release || res.headersSent) {
      for (const c of chunks) {
        if (c.encoding !== undefined) res.write(c.data as string, c.encoding, c.cb);
        else res.write(c.data as string, c.cb);
      }
      res.end(done);
      return;
    }
    const dropped = new Error('response replaced: its audit event was not recorded');
    for (const c of chunks) c.cb?.(dropped);
    d.replace(res);
    if (done) res.once('finish', () => done());
  };
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    // Either [[name, value], ...] or the flat [name, value, name, value] form Node accepts.
    if (headers.every((h) => Array.isArray(h))) {
      for (const [name, value] of headers as [string, string][]) res.setHeader(name, value);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2)
        res.setHeader(String(headers[i]), headers[i + 1] as string);
    }
  } else if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value);
    }
  }
}
