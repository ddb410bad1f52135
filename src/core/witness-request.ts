/**
 * The body of a C2SP tlog-witness `add-checkpoint` request, and of its answers:
 *
 *   old <size>\n
 *   <base64 hash>\n          (zero to 63 consistency proof lines, RFC 6962 §2.1.2)
 *   \n
 *   <signed checkpoint note>
 *
 * The 200 answer is one or more signature lines (`— <name> <base64>\n`); a 409 answer is the
 * latest cosigned size in decimal and a newline (`text/x.tlog.size`). Parsing is strict: every
 * malformed byte is a CHECKPOINT_MALFORMED or NOTE_MALFORMED error with a `reason`.
 */
import { fromBase64, toBase64 } from './bytes.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { HASH_SIZE } from './hash.ts';
import { formatSignatureLine, MAX_NOTE_BYTES, type NoteSignature, parseNote } from './note.ts';

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;
/** The largest request body a witness reads: a checkpoint note and 63 proof lines. */
export const MAX_ADD_CHECKPOINT_BYTES = MAX_NOTE_BYTES + 8 * 1024;
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, byte-exact. */
  checkpoint: string;
}

function malformed(reason: string, message: string): EvidentError {
  return new EvidentError(ErrorCode.CHECKPOINT_MALFORMED, message, { reason, field: 'body' });
}

const SIZE = /^(?:0|[1-9][0-9]{0,15})$/;

/** Parses the request body (already decoded as UTF-8). */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  if (typeof body !== 'string') throw malformed('type', 'the body must be text');
  const first = body.indexOf('\n');
  if (first < 0) throw malformed('old-line', 'the body must start with "old <size>" and a newline');
  const oldLine = body.slice(0, first);
  if (!oldLine.startsWith('old ') || !SIZE.test(oldLine.slice(4))) {
    throw malformed('old-line', 'the first line must be "old <size>" (decimal, no leading zeros)');
  }
  const oldSize = Number(oldLine.slice(4));
  if (!Number.isSafeInteger(oldSize)) throw malformed('old-line', 'the old size is too large');
  const proof: Uint8Array[] = [];
  let at = first + 1;
  for (;;) {
    const end = body.indexOf('\n', at);
    if (end < 0)
      throw malformed('no-blank-line', 'an empty line must separate the proof from the checkpoint');
    const line = body.slice(at, end);
    at = end + 1;
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) {
      throw malformed('too-many-proof-lines', `at most ${MAX_PROOF_LINES} consistency proof lines`);
    }
    try {
      proof.push(fromBase64(line, HASH_SIZE));
    } catch {
      throw malformed(
        'proof-line',
        `proof line ${proof.length + 1} is not base64 of a ${HASH_SIZE}-byte hash`,
      );
    }
  }
  const checkpoint = body.slice(at);
  parseNote(checkpoint); // NOTE_MALFORMED before anything else looks at it
  return { oldSize, proof, checkpoint };
}

export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  return `old ${r.oldSize}\n${r.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${r.checkpoint}`;
}

/** The 200 answer: one signature line per cosignature. */
export function formatCosignatureLines(sigs: readonly NoteSignature[]): string {
  return sigs.map(formatSignatureLine).join('');
}

/** Parses a 200 answer's signature lines, by appending them to the checkpoint and parsing the note. */
export function parseCosignatureLines(checkpointNote: string, body: string): NoteSignature[] {
  if (!body.endsWith('\n') || body.length === 0 || !body.startsWith('\u2014 ')) {
    throw new EvidentError(ErrorCode.NOTE_MALFORMED, 'the witness answer is not signature lines', {
      reason: 'witness-answer',
    });
  }
  const all = parseNote(checkpointNote + body).signatures;
  return all.slice(parseNote(checkpointNote).signatures.length);
}

/** Parses a 409 answer's `text/x.tlog.size` body; undefined if it is not one. */
export function parseTlogSize(body: string): number | undefined {
  const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(body);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
