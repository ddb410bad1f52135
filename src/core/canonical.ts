/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one JS value, exactly one byte string.
 *
 * Only the I-JSON data model is accepted (null, booleans, finite numbers, well-formed strings,
 * arrays, plain objects). Anything JSON.stringify would silently drop, coerce or throw on
 * (undefined, functions, NaN, Date, Map, cycles...) is rejected instead: a canonical form
 * that quietly loses data would let two different records hash alike.
 *
 * Errors: EvidentError(CANONICAL_INVALID) with details `{ rule, path }`, where `path` names the
 * offending location (`metadata.a[2]`, '' for the root) and `rule` is one of
 * 'non_finite' | 'lone_surrogate' | 'undefined' | 'unsupported_type' | 'cycle' | 'max_depth'.
 */
import { utf8 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';

export interface CanonicalOptions {
  /** Most containers (arrays/objects) nested in one another; default 64. */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 64;
/** Ceiling on `maxDepth`: serialization recurses, so the JS stack must stay safe. */
export const MAX_DEPTH_LIMIT = 1000;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function canonicalize(value: unknown, options?: CanonicalOptions): string {
  const w = new Writer(resolveMaxDepth(options?.maxDepth));
  w.value(value, 0);
  return w.out;
}

/** The UTF-8 bytes of `canonicalize(value)` (§3.2.4); the text is well-formed, so no U+FFFD. */
export function canonicalBytes(value: unknown, options?: CanonicalOptions): Uint8Array {
  return utf8(canonicalize(value, options));
}

/** Validates a caller's depth option; shared with the JSON parser. */
export function resolveMaxDepth(maxDepth: number | undefined): number {
  if (maxDepth === undefined) return DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`maxDepth must be an integer from 0 to ${MAX_DEPTH_LIMIT}`);
  }
  return maxDepth;
}

/** True when `s` holds a surrogate code unit that is not half of a high+low pair. */
export function hasLoneSurrogate(s: string): boolean {
  // ES2024's String.prototype.isWellFormed (Node 20, every current browser): native, no regex.
  return !(s as WellFormedString).isWellFormed();
}

/** The ES2024 method, which the ES2023 library types do not declare. */
type WellFormedString = string & { isWellFormed(): boolean };

/** Code units JSON escapes (quote, backslash, C0 controls), and surrogates, paired or not. */
const NOT_PLAIN = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * §3.2.2.2: a string's canonical text, or undefined for a string with a lone surrogate, which
 * JCS must reject. A string with none of the code units NOT_PLAIN names is itself in quotes:
 * the common case, found by one regular expression test instead of the serialiser. For other
 * well-formed strings JSON.stringify emits exactly the JCS escaping (\" \\ \b \t \n \f \r,
 * other C0 controls as lowercase \u00xx, everything else literal); the tests check both for
 * every BMP code unit.
 */
export function stringText(s: string): string | undefined {
  if (!NOT_PLAIN.test(s)) return `"${s}"`;
  return hasLoneSurrogate(s) ? undefined : JSON.stringify(s);
}

/**
 * One serialization pass. `path[i]` and `ancestors[i]` describe the i-th enclosing container;
 * they are overwritten by index (no push/pop), and the textual path is built only on failure.
 */
class Writer {
  out = '';
  private readonly path: (string | number)[] = [];
  private readonly ancestors: object[] = [];

  constructor(private readonly maxDepth: number) {}

  /** Appends `v`, found at `path[0..depth)`. */
  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        this.string(v, depth);
        return;
      case 'number':
        if (!Number.isFinite(v)) this.fail('non_finite', depth, 'NaN and Infinity have no JSON form');
        // §3.2.2.3: exactly ECMAScript Number::toString; -0 serializes as "0".
        this.out += String(v);
        return;
      case 'boolean':
        this.out += v ? 'true' : 'false';
        return;
      case 'undefined':
        this.fail('undefined', depth, 'undefined has no JSON form (it is never silently dropped)');
        return;
      case 'object':
        if (v === null) {
          this.out += 'null';
          return;
        }
        this.enter(v, depth);
        if (Array.isArray(v)) this.array(v, depth);
        else this.object(v, depth);
        return;
      default:
        this.fail('unsupported_type', depth, `a ${typeof v} has no JSON form`);
    }
  }

  /** Cycle and depth checks for a container found at `path[0..depth)`. */
  private enter(v: object, depth: number): void {
    const ancestors = this.ancestors;
    for (let i = 0; i < depth; i++) {
      if (ancestors[i] === v) this.fail('cycle', depth, 'value contains itself');
    }
    if (depth >= this.maxDepth) this.fail('max_depth', depth, `nesting exceeds ${this.maxDepth} levels`);
    ancestors[depth] = v;
  }

  private array(a: readonly unknown[], depth: number): void {
    this.out += '[';
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.out += ',';
      this.path[depth] = i;
      // A hole in a sparse array reads as undefined and is rejected there.
      this.value(a[i], depth + 1);
    }
    this.out += ']';
  }

  private object(o: object, depth: number): void {
    const proto = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      this.fail('unsupported_type', depth, `only plain objects are allowed, not ${String(name ?? 'this')}`);
    }
    // Symbol-keyed properties would be invisible to Object.keys: reject rather than drop them.
    if (Object.getOwnPropertySymbols(o).length > 0) {
      this.fail('unsupported_type', depth, 'symbol-keyed properties have no JSON form');
    }
    const keys = sortKeys(Object.keys(o));
    const record = o as Record<string, unknown>;
    this.out += '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) this.out += ',';
      this.path[depth] = key;
      this.string(key, depth + 1);
      this.out += ':';
      this.value(record[key], depth + 1);
    }
    this.out += '}';
  }

  /** §3.2.2.2 (stringText): lone surrogates MUST be rejected. */
  private string(s: string, depth: number): void {
    const text = stringText(s);
    if (text === undefined) this.fail('lone_surrogate', depth, 'string holds a lone surrogate');
    this.out += text;
  }

  private fail(rule: string, depth: number, message: string): never {
    const path = formatPath(this.path, depth);
    const where = path === '' ? 'value' : path;
    throw new EvidentError(ErrorCode.CANONICAL_INVALID, `${where}: ${message}`, { rule, path });
  }
}

/**
 * §3.2.3: keys in the order of their UTF-16 code units, which is what both the default sort and
 * `<` on strings compare. A few keys are sorted in place by insertion: the default sort
 * allocates a work array per call, for every object of every event.
 */
export function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** `metadata.a[2]`; keys that are not identifiers are quoted: `a["x.y"]`. */
function formatPath(path: readonly (string | number)[], length: number): string {
  let p = '';
  for (let i = 0; i < length; i++) {
    const seg = path[i]!;
    if (typeof seg === 'number') p += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) p += i === 0 ? seg : `.${seg}`;
    else p += `[${JSON.stringify(seg)}]`;
  }
  return p;
}
