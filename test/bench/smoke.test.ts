import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';

// The benchmark is not a test, but it must not rot: a tiny run of it is.
it('npm run bench -- --quick runs and writes its results', async () => {
  const out = mkdtempSync(join(tmpdir(), 'evident-bench-out-'));
  const root = new URL('../../', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out],
    { cwd: root, timeout: 120_000 },
  );
  assert.match(stdout, /events\/s/);
  const results = JSON.parse(readFileSync(join(out, 'latest-quick.json'), 'utf8'));
  assert.equal(results.ingest.length, 4);
  for (const r of results.ingest) assert.ok(r.events_per_s > 0);
  // evident's chain always holds; the brief's breaks under concurrency (its reads race its writes)
  for (const r of results.ingest.filter((x: { system: string }) => x.system === 'evident'))
    assert.equal(r.chain_ok, true);
  assert.equal(
    results.ingest.find(
      (x: { system: string; concurrency: number }) => x.system === 'brief' && x.concurrency === 64,
    ).chain_ok,
    false,
  );
  assert.match(readFileSync(join(out, 'latest-quick-ingest.svg'), 'utf8'), /^<svg/);
  assert.equal(results.verify[0].ok, true);
  assert.ok(results.verify[0].entries_per_s > 0);
});
