/**
 * C2SP tlog-policy parsing and the witness quorum check: groups and thresholds, the rules a
 * policy file must meet (each refusal with its rule), and the quorum over real cosignatures:
 * unknown keys ignored, a failing trusted cosignature rejecting the note, too few unmet.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBase64, toBase64 } from '../../src/core/bytes.ts';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { cosign, cosignerFromSeed, formatCosignerKey } from '../../src/core/cosignature.ts';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import { formatSignatureLine } from '../../src/core/note.ts';
import { formatVerifierKey, signerFromSeed } from '../../src/core/note-keys.ts';
import {
  checkWitnessQuorum,
  parseWitnessPolicy,
  quorumMet,
  quorumPolicy,
} from '../../src/core/witness-policy.ts';
import {
  formatAddCheckpoint,
  MAX_PROOF_LINES,
  parseAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
} from '../../src/core/witness-request.ts';

const seed = (b: number) => new Uint8Array(32).fill(b);
const log = signerFromSeed('audit.test/a', seed(1));
const logVkey = formatVerifierKey(log.name, log.publicKey);
const W = [1, 2, 3].map((i) => ({
  name: `witness.test/w${i}`,
  seed: seed(10 + i),
  vkey: formatCosignerKey(
    `witness.test/w${i}`,
    cosignerFromSeed(`witness.test/w${i}`, seed(10 + i)).publicKey,
  ),
}));
const text = 'audit.test/a\n5\n' + toBase64(new Uint8Array(32).fill(7)) + '\n';
const note = signCheckpoint({ origin: 'audit.test/a', size: 5, rootHash: new Uint8Array(32).fill(7) }, log);
const cosigned = (idx: number[]) =>
  note +
  idx.map((i) => formatSignatureLine(cosign(text, W[i]!.name, W[i]!.seed, 1_700_000_000 + i))).join('');

function codeOf(fn: () => unknown): { code: string; rule?: unknown } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidentError, String(e));
    return { code: e.code, rule: e.details['rule'] };
  }
  assert.fail('did not throw');
}

describe('tlog-policy files', () => {
  it('parses logs, witnesses with URLs, nested groups and the quorum; comments and blank lines ignored', () => {
    const p = parseWitnessPolicy(
      [
        '# a policy',
        `log ${logVkey} https://log.example`,
        '',
        `witness X1 ${W[0]!.vkey} http://127.0.0.1:1`,
        `\twitness X2 ${W[1]!.vkey}`,
        `witness Y1 ${W[2]!.vkey}`,
        'group X any X1 X2',
        'group XY all X Y1',
        'quorum XY',
      ].join('\n'),
    );
    assert.equal(p.logs[0]!.origin, 'audit.test/a');
    assert.equal(p.logs[0]!.url, 'https://log.example');
    assert.equal(p.witnesses[0]!.url, 'http://127.0.0.1:1');
    assert.equal(p.quorum, 'XY');
    assert.equal(quorumMet(p, new Set(['X2', 'Y1'])), true);
    assert.equal(quorumMet(p, new Set(['X1', 'X2'])), false);
  });

  it('refuses what the spec forbids, naming the rule', () => {
    const w = `witness A ${W[0]!.vkey}\n`;
    const cases: [string, string][] = [
      [`${w}quorum B`, 'undefined-name'],
      [`${w}group G 2 A\nquorum G`, 'threshold'],
      [`${w}group G 0 A\nquorum G`, 'threshold'],
      [`${w}group G any A A\nquorum G`, 'duplicate'],
      [`${w}witness A ${W[1]!.vkey}\nquorum A`, 'duplicate'],
      [`${w}witness B ${W[0]!.vkey}\nquorum A`, 'duplicate'],
      [`${w}quorum A\nquorum A`, 'duplicate'],
      [`${w}`, 'quorum'],
      [`${w}group none any A\nquorum A`, 'duplicate'],
      [`${w}group G any none\nquorum G`, 'undefined-name'],
      [`witness A ${logVkey}\nquorum A`, 'vkey'],
      [`log ${W[0]!.vkey}\nquorum none`, 'vkey'],
      [`${w}frobnicate\nquorum A`, 'keyword'],
      [`${w}quorum A\u0001`, 'character'],
    ];
    for (const [policy, rule] of cases) {
      assert.deepEqual(
        codeOf(() => parseWitnessPolicy(policy)),
        { code: ErrorCode.USAGE, rule },
        policy,
      );
    }
  });

  it('a witness configuration needs no quorum line', () => {
    assert.equal(parseWitnessPolicy(`log ${logVkey}\n`, { requireQuorum: false }).quorum, undefined);
  });
});

describe('checkWitnessQuorum', () => {
  const keys = W.map((w) => w.vkey);

  it('counts valid cosignatures by trusted witnesses: k of n met or WITNESS_QUORUM_UNMET', () => {
    assert.deepEqual(checkWitnessQuorum(cosigned([0, 1]), keys, 2).cosigned.sort(), [W[0]!.name, W[1]!.name]);
    const unmet = codeOf(() => checkWitnessQuorum(cosigned([0]), keys, 2));
    assert.equal(unmet.code, ErrorCode.WITNESS_QUORUM_UNMET);
    assert.equal(checkWitnessQuorum(cosigned([2]), keys, 1).met, true);
    assert.equal(codeOf(() => checkWitnessQuorum(note, keys, 1)).code, ErrorCode.WITNESS_QUORUM_UNMET);
  });

  it('ignores cosignatures by unknown keys; one by a trusted key that fails rejects the note', () => {
    const stranger = formatSignatureLine(cosign(text, 'witness.test/w1', seed(99), 5));
    // Same name, other key: its key ID differs, so it is an unknown key, ignored.
    assert.equal(
      codeOf(() => checkWitnessQuorum(note + stranger, [keys[0]!], 1)).code,
      ErrorCode.WITNESS_QUORUM_UNMET,
    );
    const good = formatSignatureLine(cosign(text, W[0]!.name, W[0]!.seed, 5));
    const raw = fromBase64(good.slice(good.lastIndexOf(' ') + 1, -1));
    raw[raw.length - 1]! ^= 1;
    const bad = `\u2014 ${W[0]!.name} ${toBase64(raw)}\n`;
    assert.equal(
      codeOf(() => checkWitnessQuorum(note + bad, keys, 1)).code,
      ErrorCode.NOTE_SIGNATURE_INVALID,
    );
    // A cosignature of another checkpoint by a trusted key fails too.
    const other = formatSignatureLine(cosign(text.replace('\n5\n', '\n6\n'), W[1]!.name, W[1]!.seed, 5));
    assert.equal(
      codeOf(() => checkWitnessQuorum(note + other, keys, 1)).code,
      ErrorCode.NOTE_SIGNATURE_INVALID,
    );
  });

  it('quorumPolicy refuses k out of range; k = 0 asks for nothing', () => {
    assert.equal(codeOf(() => quorumPolicy(keys, 4)).code, ErrorCode.USAGE);
    assert.equal(checkWitnessQuorum(note, keys, 0).met, true);
  });
});

describe('add-checkpoint bodies', () => {
  it('round-trips; refuses more than 63 proof lines, bad base64, a bad old line, no blank line', () => {
    const proof = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const r = parseAddCheckpoint(formatAddCheckpoint({ oldSize: 3, proof, checkpoint: note }));
    assert.equal(r.oldSize, 3);
    assert.deepEqual(r.proof, proof);
    assert.equal(r.checkpoint, note);
    const line = `${toBase64(new Uint8Array(32))}\n`;
    const reasons: [string, string][] = [
      [`old 3\n${line.repeat(MAX_PROOF_LINES + 1)}\n${note}`, 'too-many-proof-lines'],
      [`old 3\nAAAA\n\n${note}`, 'proof-line'],
      [`old 03\n\n${note}`, 'old-line'],
      [`old 3\n${line}`, 'no-blank-line'],
    ];
    for (const [body, reason] of reasons) {
      assert.throws(
        () => parseAddCheckpoint(body),
        (e: EvidentError) => e.details['reason'] === reason,
        reason,
      );
    }
    assert.equal(parseAddCheckpoint(`old 3\n${line.repeat(MAX_PROOF_LINES)}\n${note}`).proof.length, 63);
  });

  it('reads signature-line answers and text/x.tlog.size answers strictly', () => {
    const line = formatSignatureLine(cosign(text, W[0]!.name, W[0]!.seed, 5));
    assert.equal(parseCosignatureLines(note, line).length, 1);
    assert.throws(() => parseCosignatureLines(note, 'hello\n'));
    assert.equal(parseTlogSize('42\n'), 42);
    assert.equal(parseTlogSize('042\n'), undefined);
    assert.equal(parseTlogSize('42'), undefined);
  });
});
