import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/errors.ts';
import { EXIT_CODE } from '../../src/cli/exit-codes.ts';
import { ErrorCode, EvidentError } from '../../src/core/errors.ts';
import { generateSigner } from '../../src/core/note-keys.ts';
import { HTTP_STATUS } from '../../src/server/errors.ts';
import { ensureBuilt, errorOf, removeTempDirs, run, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

const doc = (name: string) => readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');

describe('CLI exit codes (src/cli/exit-codes.ts)', () => {
  it('gives every error code an exit code; 1 only for evidence of tampering; INTERNAL 3', () => {
    for (const code of Object.values(ErrorCode)) assert.ok([1, 2, 3].includes(EXIT_CODE[code]), code);
    const tamper = Object.entries(EXIT_CODE)
      .filter(([, x]) => x === 1)
      .map(([c]) => c);
    // A proof file that does not prove its entry is evidence too (evident verify-proof).
    // So is a checkpoint without the witness quorum the auditor required.
    assert.deepEqual(tamper.sort(), [
      'CHECKPOINT_INCONSISTENT',
      'LOG_FENCED',
      'TAMPER_DETECTED',
      'TLOG_PROOF_REJECTED',
      'WITNESS_QUORUM_UNMET',
    ]);
    assert.equal(EXIT_CODE.INTERNAL, 3);
    assert.equal(exitCodeFor(new TypeError('a bug')), 3);
    assert.equal(exitCodeFor(new EvidentError(ErrorCode.INTERNAL, 'x')), 3);
    assert.equal(exitCodeFor(new EvidentError(ErrorCode.NOTE_SIGNATURE_INVALID, 'x')), 2);
  });

  it('docs/errors.md lists every code with its HTTP status and its exit code, as the two tables say', () => {
    const text = doc('docs/errors.md');
    for (const code of Object.values(ErrorCode)) {
      const row = new RegExp(
        `^\\| \`${code}\` \\|.*\\| ${HTTP_STATUS[code]} \\| ${EXIT_CODE[code]} \\|$`,
        'm',
      );
      assert.match(text, row, `${code}: HTTP ${HTTP_STATUS[code]}, exit ${EXIT_CODE[code]}`);
    }
  });

  it('README.md and docs/errors.md list every exit code the CLI uses (130: a second signal)', () => {
    const used = [0, ...new Set(Object.values(EXIT_CODE)), 130];
    for (const name of ['README.md', 'docs/errors.md']) {
      const text = doc(name);
      for (const x of used) assert.match(text, new RegExp(`^\\| ${x} \\| `, 'm'), `${name}: exit ${x}`);
    }
  });

  it('the built bin exits 2, not 1, for an unreadable bundle (BUNDLE_INVALID is not tampering)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'b.jsonl'), 'not a bundle\n');
    const vkey = generateSigner('test.example/default').verifierKey;
    const r = await run(['verify-bundle', 'b.jsonl', '--vkey', vkey, '--json'], { cwd: dir });
    assert.equal(errorOf(r).code, 'BUNDLE_INVALID');
    assert.equal(r.code, 2, r.stderr);
  });
});
