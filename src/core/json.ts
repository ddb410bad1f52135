/**
 * A strict RFC 8259 JSON parser for hostile input.
 *
 * JSON.parse accepts documents whose meaning it then silently changes: it keeps the last of
 * duplicate keys, lets lone surrogates through, rounds integers beyond 2^53 and turns 1e400 into
 * Infinity. An audit log must not store a value different from the one it was sent, so each
 * of those is rejected here, as is nesting past `maxDepth` (checked before descending, so
 * `[[[[...` a million deep fails fast, without a stack overflow).
 *
 * Every failure is EvidentError(JSON_INVALID) with details `{ rule, offset, line, column }`:
 * `offset` is the 0-based UTF-16 code-unit index of the fault, `line`/`column` are 1-based
 * (lines end at \n; the column counts code units). Rules: 'too_long', 'bom', 'syntax',
 * 'trailing_data', 'duplicate_key', 'lone_surrogate', 'max_depth', 'unsafe_integer',
 * 'number_overflow'.
 */
import { resolveMaxDepth } from './canonical.ts';
import { ErrorCode, EvidentError } from './errors.ts';

export interface ParseJsonOptions {
  /** Most containers (arrays/objects) nested in one another; default 64, at most 1000. */
  maxDepth?: number;
  /** Longest accepted text in UTF-16 code units (for parseJsonLines: per line). */
  maxLength?: number;
}

export interface JsonLine {
  /** 1-based line number in the text given to parseJsonLines. */
  line: number;
  value?: unknown;
  error?: EvidentError;
}

export function parseJson(text: string, options?: ParseJsonOptions): unknown {
  const { maxDepth, maxLength } = resolveOptions(options);
  return parseRange(text, 0, text.length, maxDepth, maxLength);
}

/**
 * JSON Lines: one document per \n-terminated line (a trailing \r is allowed, blank lines are
 * skipped). Every non-blank line gets an entry, so a caller can report all bad lines at once
 * and store nothing; error positions are relative to the whole text.
 */
export function parseJsonLines(text: string, options?: ParseJsonOptions): JsonLine[] {
  const { maxDepth, maxLength } = resolveOptions(options);
  const out: JsonLine[] = [];
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const next = end + 1;
    if (end > start && text.charCodeAt(end - 1) === CR) end--;
    if (!isBlank(text, start, end)) {
      try {
        out.push({ line, value: parseRange(text, start, end, maxDepth, maxLength) });
      } catch (e) {
        if (!(e instanceof EvidentError)) throw e;
        out.push({ line, error: e });
      }
    }
    start = next;
  }
  return out;
}

function resolveOptions(options: ParseJsonOptions | undefined): { maxDepth: number; maxLength: number } {
  const maxDepth = resolveMaxDepth(options?.maxDepth);
  const maxLength = options?.maxLength ?? Number.POSITIVE_INFINITY;
  if (!(maxLength >= 0)) throw new RangeError('maxLength must be a non-negative number');
  return { maxDepth, maxLength };
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const BOM = 0xfeff;

function isBlank(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== SPACE && c !== TAB && c !== CR && c !== LF) return false;
  }
  return true;
}

function parseRange(text: string, start: number, end: number, maxDepth: number, maxLength: number): unknown {
  if (end - start > maxLength) {
    throw jsonError(text, start + maxLength, 'too_long', `text is longer than ${maxLength} characters`);
  }
  // RFC 8259 §8.1: implementations MUST NOT add a BOM; we do not accept one either.
  if (start < end && text.charCodeAt(start) === BOM) {
    throw jsonError(text, start, 'bom', 'byte order mark before JSON text');
  }
  const p = new Parser(text, start, end, maxDepth);
  p.skipWs();
  const value = p.value(0);
  p.skipWs();
  if (p.pos < end) p.fail('trailing_data', 'data after the JSON value');
  return value;
}

class Parser {
  pos: number;

  constructor(
    private readonly src: string,
    start: number,
    private readonly end: number,
    private readonly maxDepth: number,
  ) {
    this.pos = start;
  }

  /** The code unit at `i`, or -1 past the end of the range. */
  private at(i: number): number {
    return i < this.end ? this.src.charCodeAt(i) : -1;
  }

  /** RFC 8259 §2: insignificant whitespace is space, tab, LF and CR only. */
  skipWs(): void {
    let c = this.at(this.pos);
    while (c === SPACE || c === LF || c === CR || c === TAB) c = this.at(++this.pos);
  }

  /** Parses the value at `pos`, which sits inside `depth` containers. */
  value(depth: number): unknown {
    const c = this.at(this.pos);
    switch (c) {
      case LBRACE:
        return this.object(depth + 1);
      case LBRACKET:
        return this.array(depth + 1);
      case QUOTE:
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
        return this.fail('syntax', c < 0 ? 'unexpected end of text' : 'expected a JSON value');
    }
  }

  private literal<T>(word: string, value: T): T {
    if (this.pos + word.length > this.end || !this.src.startsWith(word, this.pos)) {
      this.fail('syntax', 'expected a JSON value');
    }
    this.pos += word.length;
    return value;
  }

  private enter(level: number): void {
    if (level > this.maxDepth) this.fail('max_depth', `nesting exceeds ${this.maxDepth} levels`);
    this.pos++; // past the opening bracket
    this.skipWs();
  }

  private array(level: number): unknown[] {
    this.enter(level);
    const out: unknown[] = [];
    if (this.at(this.pos) === RBRACKET) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(level));
      this.skipWs();
      const c = this.at(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWs();
      } else if (c === RBRACKET) {
        this.pos++;
        return out;
      } else {
        return this.fail('syntax', "expected ',' or ']'");
      }
    }
  }

  private object(level: number): Record<string, unknown> {
    this.enter(level);
    const out: Record<string, unknown> = {};
    if (this.at(this.pos) === RBRACE) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.at(this.pos) !== QUOTE) this.fail('syntax', 'expected a string key');
      const keyAt = this.pos;
      const key = this.string();
      // RFC 8259 §4 leaves duplicate names to the implementation; keeping one would drop data.
      if (Object.hasOwn(out, key)) this.fail('duplicate_key', `duplicate key ${JSON.stringify(key)}`, keyAt);
      this.skipWs();
      if (this.at(this.pos) !== COLON) this.fail('syntax', "expected ':'");
      this.pos++;
      this.skipWs();
      const value = this.value(level);
      if (key === '__proto__') {
        // Plain assignment would call Object.prototype's __proto__ setter and swap the prototype.
        Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        // Every other Object.prototype member is a writable data property: assignment shadows it.
        out[key] = value;
      }
      this.skipWs();
      const c = this.at(this.pos);
      if (c === COMMA) {
        this.pos++;
        this.skipWs();
      } else if (c === RBRACE) {
        this.pos++;
        return out;
      } else {
        return this.fail('syntax', "expected ',' or '}'");
      }
    }
  }

  /** RFC 8259 §7; `pos` is at the opening quote. */
  private string(): string {
    const src = this.src;
    let i = this.pos + 1;
    let runStart = i;
    let out = '';
    for (;;) {
      const c = this.at(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return out + src.slice(runStart, i);
      }
      if (c === BACKSLASH) {
        out += src.slice(runStart, i);
        i = this.escape(i);
        out += this.decoded;
        runStart = i;
      } else if (c >= 0xd800 && c <= 0xdfff) {
        // A raw surrogate must be a high one directly followed by a raw low one.
        const next = this.at(i + 1);
        if (c > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
          this.fail('lone_surrogate', 'lone surrogate in string', i);
        }
        i += 2;
      } else if (c >= SPACE) {
        i++;
      } else if (c < 0) {
        this.fail('syntax', 'unterminated string', i);
      } else {
        this.fail('syntax', 'unescaped control character in string', i);
      }
    }
  }

  /** Text of the escape read last by `escape` (a field, so escapes do not allocate tuples). */
  private decoded = '';

  /** Reads the escape at `i` (a backslash) into `decoded`; returns the index after it. */
  private escape(i: number): number {
    const c = this.at(i + 1);
    switch (c) {
      case QUOTE:
        this.decoded = '"';
        return i + 2;
      case BACKSLASH:
        this.decoded = '\\';
        return i + 2;
      case SLASH:
        this.decoded = '/';
        return i + 2;
      case 0x62: // b
        this.decoded = '\b';
        return i + 2;
      case 0x66: // f
        this.decoded = '\f';
        return i + 2;
      case 0x6e: // n
        this.decoded = '\n';
        return i + 2;
      case 0x72: // r
        this.decoded = '\r';
        return i + 2;
      case 0x74: // t
        this.decoded = '\t';
        return i + 2;
      case 0x75: {
        // u: RFC 8259 §7 / §8.2: a \uD800-\uDBFF escape must be followed by a \uDC00-\uDFFF one.
        const unit = this.hex4(i + 2);
        if (unit < 0xd800 || unit > 0xdfff) {
          this.decoded = String.fromCharCode(unit);
          return i + 6;
        }
        if (unit <= 0xdbff && this.at(i + 6) === BACKSLASH && this.at(i + 7) === 0x75) {
          const low = this.hex4(i + 8);
          if (low >= 0xdc00 && low <= 0xdfff) {
            this.decoded = String.fromCharCode(unit, low);
            return i + 12;
          }
        }
        return this.fail('lone_surrogate', 'escape forms a lone surrogate', i);
      }
      default:
        return c < 0
          ? this.fail('syntax', 'unterminated string', i + 1)
          : this.fail('syntax', 'invalid escape', i);
    }
  }

  /** The four hex digits at `i` as a number. */
  private hex4(i: number): number {
    let n = 0;
    for (let k = i; k < i + 4; k++) {
      const c = this.at(k);
      let d: number;
      // 0-9, then a-f (0x61 - 10 = 0x57), then A-F (0x41 - 10 = 0x37).
      if (c >= ZERO && c <= NINE) d = c - ZERO;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return this.fail('syntax', 'invalid \\u escape', k);
      n = (n << 4) | d;
    }
    return n;
  }

  /** RFC 8259 §6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
  private number(): number {
    const start = this.pos;
    let i = start;
    let c = this.at(i);
    const negative = c === MINUS;
    if (negative) c = this.at(++i);
    let small = 0; // the integer part, exact while it has at most 15 digits
    const intStart = i;
    if (c === ZERO) {
      c = this.at(++i);
      if (c >= ZERO && c <= NINE) this.fail('syntax', 'leading zeros are not allowed', i);
    } else if (c > ZERO && c <= NINE) {
      do {
        small = small * 10 + (c - ZERO);
        c = this.at(++i);
      } while (c >= ZERO && c <= NINE);
    } else {
      this.fail('syntax', 'expected a digit', i);
    }
    let integer = true;
    if (c === DOT) {
      integer = false;
      c = this.at(++i);
      if (!(c >= ZERO && c <= NINE)) this.fail('syntax', 'expected a digit after the decimal point', i);
      do c = this.at(++i);
      while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      integer = false;
      c = this.at(++i);
      if (c === PLUS || c === MINUS) c = this.at(++i);
      if (!(c >= ZERO && c <= NINE)) this.fail('syntax', 'expected a digit in the exponent', i);
      do c = this.at(++i);
      while (c >= ZERO && c <= NINE);
    }
    this.pos = i;
    if (integer && i - intStart <= 15) return negative ? -small : small;
    // Number() on RFC 8259 number syntax is the same conversion JSON.parse performs.
    const n = Number(this.src.slice(start, i));
    // Past 2^53 - 1 an integer literal would be rounded: the stored value would differ.
    if (integer && !Number.isSafeInteger(n)) {
      this.fail('unsafe_integer', 'integer beyond ±(2^53 - 1) loses precision', start);
    }
    if (!Number.isFinite(n)) this.fail('number_overflow', 'number is too large for a double', start);
    return n;
  }

  fail(rule: string, message: string, offset: number = this.pos): never {
    throw jsonError(this.src, offset, rule, message);
  }
}

function jsonError(text: string, offset: number, rule: string, message: string): EvidentError {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const column = offset - lineStart + 1;
  return new EvidentError(ErrorCode.JSON_INVALID, `${message} at line ${line}, column ${column}`, {
    rule,
    offset,
    line,
    column,
  });
}
