/**
 * Object names in an archive target (docs/formats.md, "Archive layout"). Numbers are
 * zero-padded to 16 digits, so that name order is index order:
 *
 *   <log>/segments/<first>-<last>.bundle         the segment's export bundle
 *   <log>/segments/<first>-<last>.manifest.json  its manifest
 *   <log>/checkpoints/<size>.note                every signed checkpoint, byte-exact
 */
const PAD = 16;
const pad = (n: number) => String(n).padStart(PAD, '0');

export const segmentBase = (log: string, first: number, last: number) =>
  `${log}/segments/${pad(first)}-${pad(last)}`;
export const bundleName = (log: string, first: number, last: number) =>
  `${segmentBase(log, first, last)}.bundle`;
export const manifestName = (log: string, first: number, last: number) =>
  `${segmentBase(log, first, last)}.manifest.json`;
export const checkpointName = (log: string, size: number) => `${log}/checkpoints/${pad(size)}.note`;

export type ParsedName =
  | { kind: 'bundle' | 'manifest'; log: string; first: number; last: number }
  | { kind: 'checkpoint'; log: string; size: number }
  | { kind: 'unknown'; log?: string };

const SEGMENT = /^([^/]+)\/segments\/([0-9]{16})-([0-9]{16})\.(bundle|manifest\.json)$/;
const CHECKPOINT = /^([^/]+)\/checkpoints\/([0-9]{16})\.note$/;

export function parseName(name: string): ParsedName {
  const s = SEGMENT.exec(name);
  if (s) {
    const first = Number(s[2]);
    const last = Number(s[3]);
    if (Number.isSafeInteger(first) && Number.isSafeInteger(last) && first <= last)
      return { kind: s[4] === 'bundle' ? 'bundle' : 'manifest', log: s[1]!, first, last };
  }
  const c = CHECKPOINT.exec(name);
  if (c && Number.isSafeInteger(Number(c[2]))) return { kind: 'checkpoint', log: c[1]!, size: Number(c[2]) };
  const slash = name.indexOf('/');
  return slash > 0 ? { kind: 'unknown', log: name.slice(0, slash) } : { kind: 'unknown' };
}
