/** What an AWS SDK failure says: its S3 error code or Node error, its HTTP status, in one line. */

export function errorName(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { Code?: unknown; name?: unknown; code?: unknown };
    if (typeof o.Code === 'string') return o.Code;
    if (typeof o.code === 'string' && (o.name === 'Error' || o.name === undefined)) return o.code;
    if (typeof o.name === 'string') return o.name;
  }
  return 'Error';
}

export function httpStatus(e: unknown): number | undefined {
  const s = (e as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

export function describeCause(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${errorName(e)}${typeof code === 'string' && code !== errorName(e) ? ` ${code}` : ''}: ${e.message}`;
  }
  return String(e);
}
