/**
 * The README's commands, run as written: the first command (without `npm ci`, which the test
 * run has done), then the whole tour, in one shell, one after the other, as a new user pastes
 * them. `npx evident` runs the built bin of this checkout.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { BIN, ensureBuilt, ROOT, removeTempDirs, tempDir } from './helpers.ts';

before(ensureBuilt);
after(removeTempDirs);

/** The sh code blocks of the README section whose heading is `heading`. */
function shBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

it("the README's first command, then its tour, run as written in one folder", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const [first] = shBlocks(readme, 'The two commands');
  const [tour] = shBlocks(readme, 'A five-minute tour');
  assert.ok(first?.startsWith('npm ci && ') && tour, first);
  const script = [
    'set -euo pipefail',
    // npx evident, as the clone's bin: the same program without npm's start-up time.
    'npx() { [ "$1" = evident ] || exit 99; shift; node "$EVIDENT_BIN" "$@"; }',
    first!.slice('npm ci && '.length),
    tour,
  ].join('\n');
  const cwd = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, EVIDENT_BIN: BIN };
  for (const k of ['EVIDENT_DB', 'EVIDENT_KEY', 'EVIDENT_SIGNING_KEY']) delete env[k];
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile('bash', ['-c', script], { cwd, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? -1) : 0, out: `${stdout}\n${stderr}` }),
    );
  });
  assert.equal(r.code, 0, r.out);
});
