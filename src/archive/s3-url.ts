/**
 * The S3 target's URL: `s3://bucket/prefix?endpoint=http://host:port&region=r&force_path_style=true`.
 * Credentials never go in it (they come from the AWS environment variables and the SDK's default
 * chain), so the normalised URL can be shown in events, metrics and reports as it is.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';

export interface S3Location {
  bucket: string;
  /** The key prefix every object name is appended to: '' or ending with '/'. */
  prefix: string;
  /** A custom S3 endpoint (Ceph RGW, MinIO); undefined for AWS. */
  endpoint?: string;
  region?: string;
  forcePathStyle: boolean;
  /** The normalised URL, without secrets. */
  url: string;
}

const PARAMS = ['endpoint', 'region', 'force_path_style'] as const;

function usage(part: string, rule: string, value?: string): EvidentError {
  const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  return new EvidentError(ErrorCode.USAGE, `S3 archive URL, ${part}: ${rule}${shown}`, {
    field: part,
    rule,
  });
}

/** S3 bucket naming rules (AWS "Bucket naming rules"): what every S3 implementation accepts. */
function checkBucket(bucket: string): void {
  if (bucket === '') throw usage('bucket', 'missing: the URL is s3://bucket/prefix');
  if (bucket.length < 3 || bucket.length > 63) throw usage('bucket', 'must be 3 to 63 characters', bucket);
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket))
    throw usage(
      'bucket',
      'lowercase letters, digits, dots and hyphens only, starting and ending with a letter or digit',
      bucket,
    );
  if (bucket.includes('..')) throw usage('bucket', 'must not contain two adjacent dots', bucket);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(bucket)) throw usage('bucket', 'must not look like an IP address', bucket);
}

function checkPrefix(raw: string): string {
  if (raw === '' || raw === '/') return '';
  let prefix: string;
  try {
    prefix = decodeURIComponent(raw.slice(1));
  } catch {
    throw usage('prefix', 'invalid percent-encoding', raw);
  }
  const segments = prefix.replace(/\/$/, '').split('/');
  for (const s of segments) {
    if (s === '') throw usage('prefix', 'must not contain an empty segment (//)', prefix);
    if (s === '.' || s === '..') throw usage('prefix', 'must not contain . or .. segments', prefix);
  }
  if (/[\u0000-\u001f\u007f]/.test(prefix))
    throw usage('prefix', 'must not contain control characters', prefix);
  return `${segments.join('/')}/`;
}

function checkEndpoint(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw usage('endpoint', 'must be an absolute http:// or https:// URL', value);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw usage('endpoint', 'must be an http:// or https:// URL', value);
  if (u.username !== '' || u.password !== '')
    throw usage('endpoint', 'must not hold credentials: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (u.search !== '' || u.hash !== '') throw usage('endpoint', 'must not have a query or fragment', value);
  return u.href.replace(/\/$/, '');
}

/** Parses and checks an S3 target URL; every refusal is USAGE naming the part at fault. */
export function parseS3Url(input: URL | string): S3Location {
  const text = typeof input === 'string' ? input : input.href;
  const m = /^s3:\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/.exec(text);
  if (!m) throw usage('scheme', 'the URL must start with s3://', text);
  const [, authority = '', path = '', query, fragment] = m;
  if (fragment !== undefined) throw usage('fragment', 'an S3 URL has no #fragment', text);
  if (authority.includes('@'))
    throw usage('credentials', 'must not be in the URL: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (authority.includes(':')) throw usage('bucket', 'has no port: put the server in ?endpoint=', authority);
  checkBucket(authority);
  const prefix = checkPrefix(path);

  const params = new URLSearchParams(query?.slice(1) ?? '');
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!(PARAMS as readonly string[]).includes(key))
      throw usage(`?${key}`, `unknown parameter: one of ${PARAMS.join(', ')}`);
    if (seen.has(key)) throw usage(`?${key}`, 'given twice');
    seen.add(key);
  }
  const endpointRaw = params.get('endpoint');
  const endpoint = endpointRaw === null ? undefined : checkEndpoint(endpointRaw);
  const regionRaw = params.get('region');
  if (regionRaw !== null && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(regionRaw))
    throw usage('?region', 'lowercase letters, digits and hyphens', regionRaw);
  const region = regionRaw ?? undefined;
  const styleRaw = params.get('force_path_style');
  if (styleRaw !== null && styleRaw !== 'true' && styleRaw !== 'false')
    throw usage('?force_path_style', 'true or false', styleRaw);
  // Servers other than AWS are reached by path (no wildcard DNS for bucket host names) unless told.
  const forcePathStyle = styleRaw === null ? endpoint !== undefined : styleRaw === 'true';

  // Shown as written (an endpoint has no '&' or '?': checked above), for people to read.
  const shown: string[] = [];
  if (endpoint !== undefined) shown.push(`endpoint=${endpoint}`);
  if (region !== undefined) shown.push(`region=${region}`);
  if (styleRaw !== null) shown.push(`force_path_style=${styleRaw}`);
  const url = `s3://${authority}/${prefix}${shown.length === 0 ? '' : `?${shown.join('&')}`}`;
  return {
    bucket: authority,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    forcePathStyle,
    url,
  };
}
