/**
 * IP address parsing and normalisation without node:net, so the core runs in browsers.
 * IPv4: dotted quad, no leading zeros (they are octal to some parsers: ambiguous, so rejected).
 * IPv6: RFC 4291 §2.2 text forms, written back in the RFC 5952 §4 canonical form.
 */

export function normaliseIp(s: string): string | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  if (s.includes(':')) return normaliseIpv6(s);
  const v4 = parseIpv4(s);
  return v4 ? v4.join('.') : undefined;
}

function parseIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function normaliseIpv6(s: string): string | undefined {
  if (s.includes('%')) return undefined; // zone ids are local to one host: not an address to audit
  const words = parseIpv6(s);
  return words ? formatIpv6(words) : undefined;
}

function parseIpv6(s: string): number[] | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (allowV4Tail && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  if (halves.length === 1) {
    const all = parseGroups(halves[0]!, true);
    return all && all.length === 8 ? all : undefined;
  }
  const head = parseGroups(halves[0]!, false);
  const tail = parseGroups(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::". */
function formatIpv6(w: number[]): string {
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted tail.
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) {
    return `::ffff:${w[6]! >> 8}.${w[6]! & 255}.${w[7]! >> 8}.${w[7]! & 255}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
