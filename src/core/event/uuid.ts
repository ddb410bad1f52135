/** UUIDs (RFC 9562). Event ids are lowercase canonical text; new ones are version 7. */

export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

let lastMs = 0;
let seq = 0;

// One getRandomValues call per 512 ids: the call itself costs more than the bytes.
const pool = new Uint8Array(16 * 512);
let poolAt = pool.length;

function randomBytes16(): Uint8Array {
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  poolAt += 16;
  return pool.slice(poolAt - 16, poolAt);
}

/**
 * RFC 9562 §5.7 UUIDv7: 48-bit Unix milliseconds, then random bits. Within one millisecond a
 * 12-bit counter in rand_a (§6.2 method 1) keeps ids from one process in creation order.
 */
export function uuidv7(now: number = Date.now()): string {
  const b = randomBytes16();
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs++; // counter rolled over: borrow the next millisecond
    now = lastMs;
  } else {
    lastMs = now;
    seq = b[6]! & 0x07; // random start, leaving room to count up
  }
  const ms = now;
  b[0] = Math.floor(ms / 2 ** 40) & 255;
  b[1] = Math.floor(ms / 2 ** 32) & 255;
  b[2] = (ms >>> 24) & 255;
  b[3] = (ms >>> 16) & 255;
  b[4] = (ms >>> 8) & 255;
  b[5] = ms & 255;
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 255;
  b[8] = 0x80 | (b[8]! & 0x3f);
  let h = '';
  for (let i = 0; i < 16; i++) {
    h += b[i]!.toString(16).padStart(2, '0');
    if (i === 3 || i === 5 || i === 7 || i === 9) h += '-';
  }
  return h;
}
