/**
 * Witness policies (C2SP tlog-policy) and the quorum check a verifier runs on a checkpoint.
 *
 * A policy file is line based: `log <vkey> [<url>]`, `witness <name> <vkey> [<url>]`,
 * `group <name> all|any|<k> <name>...`, `quorum <name>|none`; blank lines and `#` comments are
 * ignored, items are separated by spaces or tabs. Log vkeys are signed-note Ed25519 keys (type
 * 0x01) whose key name is the log's origin; witness vkeys are cosignature/v1 keys (type 0x04).
 *
 * The quorum check follows tlog-witness and signed-note: a cosignature by a key the policy does
 * not list is ignored; one by a listed key that fails to verify rejects the checkpoint
 * (NOTE_SIGNATURE_INVALID); too few valid cosignatures is WITNESS_QUORUM_UNMET.
 */
import { bytesEqual, toHex, utf8 } from './bytes.ts';
import { cosignatureVerifier, parseCosignerKey } from './cosignature.ts';
import { ErrorCode, EvidentError } from './errors.ts';
import { parseNote } from './note.ts';
import { type NoteVerifier, parseVerifierKey, type VerifierKey } from './note-keys.ts';

/** tlog-policy "Implementation limits": at least 32 of each must be supported; we stop at 64. */
export const MAX_POLICY_ITEMS = 64;

export interface PolicyLog {
  /** The log's origin: its vkey's key name (tlog-policy "Defining a log"). */
  origin: string;
  vkey: string;
  key: VerifierKey;
  url?: string;
}

export interface PolicyWitness {
  name: string;
  vkey: string;
  key: VerifierKey;
  url?: string;
}

export interface PolicyGroup {
  name: string;
  threshold: number;
  members: string[];
}

export interface WitnessPolicy {
  logs: PolicyLog[];
  witnesses: PolicyWitness[];
  groups: PolicyGroup[];
  /** The quorum's name: a witness, a group, or `none`; undefined when the file has no quorum line. */
  quorum: string | undefined;
}

function bad(line: number, rule: string, message: string): EvidentError {
  return new EvidentError(ErrorCode.USAGE, `witness policy line ${line}: ${message}`, {
    field: 'policy',
    rule,
    line,
  });
}

// tlog-policy "Character set": tab, newline, 0x20-0x7E and anything above 0x7F.
const BAD_CHAR = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * Parses a tlog-policy file. `requireQuorum` (default true) demands exactly one quorum line; a
 * witness's own configuration lists only logs and passes false.
 */
export function parseWitnessPolicy(text: string, o: { requireQuorum?: boolean } = {}): WitnessPolicy {
  if (typeof text !== 'string') throw bad(0, 'type', 'the policy must be text');
  const policy: WitnessPolicy = { logs: [], witnesses: [], groups: [], quorum: undefined };
  const names = new Set<string>(['none']);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    if (BAD_CHAR.test(raw)) throw bad(n, 'character', 'control characters other than tab are not allowed');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...args] = line.split(/[ \t]+/) as [string, ...string[]];
    switch (keyword) {
      case 'log': {
        if (args.length < 1 || args.length > 2) throw bad(n, 'arity', 'want: log <vkey> [<url>]');
        const key = parseKey(n, args[0]!, 'log');
        if (policy.logs.some((l) => bytesEqual(l.key.publicKey, key.publicKey))) {
          throw bad(n, 'duplicate', 'this log key is listed twice');
        }
        policy.logs.push({ origin: key.name, vkey: args[0]!, key, ...(args[1] ? { url: args[1] } : {}) });
        break;
      }
      case 'witness': {
        if (args.length < 2 || args.length > 3) throw bad(n, 'arity', 'want: witness <name> <vkey> [<url>]');
        const [name, vkey, url] = args as [string, string, string | undefined];
        defineName(n, names, name);
        const key = parseKey(n, vkey, 'witness');
        if (policy.witnesses.some((w) => bytesEqual(w.key.publicKey, key.publicKey))) {
          throw bad(n, 'duplicate', 'this witness key is listed twice');
        }
        policy.witnesses.push({ name, vkey, key, ...(url ? { url } : {}) });
        break;
      }
      case 'group': {
        if (args.length < 3) throw bad(n, 'arity', 'want: group <name> all|any|<k> <name>...');
        const [name, k, ...members] = args as [string, string, ...string[]];
        for (const m of members) {
          if (!names.has(m) || m === 'none') throw bad(n, 'undefined-name', `"${m}" is not defined above`);
        }
        if (new Set(members).size !== members.length) throw bad(n, 'duplicate', 'a member is listed twice');
        let threshold: number;
        if (k === 'all') threshold = members.length;
        else if (k === 'any') threshold = 1;
        else if (/^[1-9][0-9]{0,2}$/.test(k) && Number(k) <= members.length) threshold = Number(k);
        else throw bad(n, 'threshold', 'the threshold is all, any, or k with 1 <= k <= members');
        defineName(n, names, name);
        policy.groups.push({ name, threshold, members });
        break;
      }
      case 'quorum': {
        if (args.length !== 1) throw bad(n, 'arity', 'want: quorum <name>');
        if (policy.quorum !== undefined) throw bad(n, 'duplicate', 'only one quorum line is allowed');
        if (!names.has(args[0]!)) throw bad(n, 'undefined-name', `"${args[0]}" is not defined above`);
        policy.quorum = args[0]!;
        break;
      }
      default:
        throw bad(n, 'keyword', `unknown keyword "${keyword}" (log, witness, group, quorum)`);
    }
    if (Math.max(policy.logs.length, policy.witnesses.length, policy.groups.length) > MAX_POLICY_ITEMS) {
      throw bad(n, 'limit', `at most ${MAX_POLICY_ITEMS} logs, witnesses and groups each`);
    }
  }
  if ((o.requireQuorum ?? true) && policy.quorum === undefined) {
    throw bad(lines.length, 'quorum', 'the policy needs a quorum line');
  }
  return policy;
}

function defineName(line: number, names: Set<string>, name: string): void {
  if (names.has(name)) throw bad(line, 'duplicate', `the name "${name}" is already defined`);
  names.add(name);
}

function parseKey(line: number, vkey: string, kind: 'log' | 'witness'): VerifierKey {
  try {
    return kind === 'log' ? parseVerifierKey(vkey) : parseCosignerKey(vkey);
  } catch (e) {
    const reason = e instanceof EvidentError ? String(e.details['reason'] ?? '') : '';
    throw bad(line, 'vkey', `not a ${kind} verifier key (${reason || (e as Error).message})`);
  }
}

/**
 * A flat "k of these witnesses" policy, as `--witness VKEY` (repeated) and `--witness-quorum K`
 * give it. Each witness is named by its vkey's key name (suffixed `#2`, `#3`... if two share one).
 */
export function quorumPolicy(vkeys: readonly string[], k: number): WitnessPolicy {
  if (!Number.isSafeInteger(k) || k < 0 || k > vkeys.length) {
    throw new EvidentError(ErrorCode.USAGE, `--witness-quorum must be from 0 to ${vkeys.length}`, {
      field: '--witness-quorum',
      rule: 'range',
    });
  }
  const seen = new Map<string, number>();
  const names = vkeys.map((v) => {
    const base = v.slice(0, Math.max(0, v.indexOf('+'))) || 'witness';
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}#${count}`;
  });
  const lines = vkeys.map((v, i) => `witness ${names[i]} ${v}`);
  if (k === 0) lines.push('quorum none');
  else lines.push(`group evident.quorum ${k} ${names.join(' ')}`, 'quorum evident.quorum');
  return parseWitnessPolicy(lines.join('\n'));
}

/** The number of cosignatures the quorum asks for, when it is a flat group of witnesses. */
function required(policy: WitnessPolicy): number | string | undefined {
  const g = policy.groups.find((x) => x.name === policy.quorum);
  return g?.members.every((m) => policy.witnesses.some((w) => w.name === m)) ? g!.threshold : policy.quorum;
}

/** Whether the witnesses named in `cosigned` satisfy the policy's quorum. */
export function quorumMet(policy: WitnessPolicy, cosigned: ReadonlySet<string>): boolean {
  const q = policy.quorum;
  if (q === undefined || q === 'none') return true;
  const memo = new Map<string, boolean>();
  const met = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const g = policy.groups.find((x) => x.name === name);
    const r = g ? g.members.filter(met).length >= g.threshold : cosigned.has(name);
    memo.set(name, r);
    return r;
  };
  return met(q);
}

export interface QuorumResult {
  /** Whether the policy's quorum is met. */
  met: boolean;
  /** The names (policy names) of the witnesses whose cosignature verified. */
  cosigned: string[];
  /** The policy's witnesses with no cosignature on the note. */
  missing: string[];
  /** Cosignature timestamps (POSIX seconds) by witness name. */
  times: Record<string, number>;
}

/** The verifier of one policy witness, for verifyNote-style use. */
export function witnessVerifier(w: PolicyWitness): NoteVerifier {
  return cosignatureVerifier(w.vkey);
}

/**
 * Counts the valid cosignatures of trusted witnesses on a signed checkpoint (the log's own
 * signature is checked elsewhere). Throws NOTE_SIGNATURE_INVALID when a trusted witness's
 * cosignature fails; never throws for a quorum not met (see checkWitnessQuorum).
 */
export function evaluateWitnessQuorum(note: string, policy: WitnessPolicy): QuorumResult {
  const parsed = parseNote(note);
  const msg = utf8(parsed.text);
  const cosigned = new Set<string>();
  const times: Record<string, number> = {};
  for (const sig of parsed.signatures) {
    const w = policy.witnesses.find((x) => x.key.name === sig.name && bytesEqual(x.key.keyId, sig.keyId));
    if (!w) continue; // signed-note: signatures by unknown keys are ignored
    const v = witnessVerifier(w);
    if (!v.verify(msg, sig.signature)) {
      throw new EvidentError(ErrorCode.NOTE_SIGNATURE_INVALID, `invalid cosignature by witness ${w.name}`, {
        name: sig.name,
        keyId: toHex(sig.keyId),
        witness: w.name,
      });
    }
    cosigned.add(w.name);
    const view = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8);
    times[w.name] = Number(view.getBigUint64(0));
  }
  return {
    met: quorumMet(policy, cosigned),
    cosigned: [...cosigned],
    missing: policy.witnesses.filter((w) => !cosigned.has(w.name)).map((w) => w.name),
    times,
  };
}

/**
 * The quorum check any verifier runs: `witnesses` are cosigner vkeys (or a parsed policy, whose
 * quorum then applies and `quorum` is ignored). Throws WITNESS_QUORUM_UNMET (details:
 * `required`, `cosigned`, `missing`) when fewer than `quorum` trusted witnesses cosigned the
 * note, NOTE_SIGNATURE_INVALID when a trusted witness's cosignature fails.
 */
export function checkWitnessQuorum(
  note: string,
  witnesses: readonly string[] | WitnessPolicy,
  quorum = 0,
): QuorumResult {
  const policy = Array.isArray(witnesses)
    ? quorumPolicy(witnesses as readonly string[], quorum)
    : (witnesses as WitnessPolicy);
  const r = evaluateWitnessQuorum(note, policy);
  if (!r.met) {
    throw new EvidentError(
      ErrorCode.WITNESS_QUORUM_UNMET,
      `the checkpoint is not cosigned by enough trusted witnesses (cosigned by ${r.cosigned.length}: ${
        r.cosigned.join(', ') || 'none'
      })`,
      { required: required(policy), cosigned: r.cosigned, missing: r.missing },
    );
  }
  return r;
}
