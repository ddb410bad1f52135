import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import type { Results } from '../../bench/results.ts';

/** Every file under bench/ (results and caches included), to show a test run leaves none behind. */
function benchFiles(root: string): string[] {
  return readdirSync(join(root, 'bench'), { recursive: true, encoding: 'utf8' }).sort();
}

// The benchmark is not a test, but it must not rot: a tiny run of every section is.
it('npm run bench -- --quick runs every section and writes plausible results', async () => {
  const out = mkdtempSync(join(tmpdir(), 'evident-bench-out-'));
  const root = new URL('../../', import.meta.url).pathname;
  const before = benchFiles(root);
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out],
      // Seconds on an idle machine; minutes on a loaded one (the HTTP section starts servers).
      { cwd: root, timeout: 300_000 },
    );
    assert.match(stdout, /## Targets/);
    assert.equal(readFileSync(join(out, 'latest-quick.md'), 'utf8'), stdout);
    assert.match(readFileSync(join(out, 'latest-quick-ingest.svg'), 'utf8'), /^<svg[\s\S]*<path d="M/);
    const r = JSON.parse(readFileSync(join(out, 'latest-quick.json'), 'utf8')) as Results;

    // PostgreSQL may be absent on a laptop, never in CI; when absent the results say why.
    if (process.env['CI'] === 'true') assert.equal(r.postgres_skipped, undefined);
    const stores = r.postgres_skipped === undefined ? ['sqlite', 'postgres'] : ['sqlite'];
    if (r.postgres_skipped === undefined) assert.match(r.machine.postgres?.version ?? '', /^\d+/);
    assert.match(r.machine.sqlite, /^3\.\d+/);
    assert.deepEqual(Object.keys(r.ran).sort(), [
      'alerts',
      'archive',
      'clusters',
      'exports',
      'http',
      'ingest',
      'proofs',
      'queries',
      'replication',
      'storage',
      'tiles',
      'verify',
      'viewer',
      'witness',
    ]);
    // tiles: level-0 hash tiles, bundles and the checkpoint at least, all answered and checked
    assert.ok((r.tiles ?? []).length >= 3);
    for (const x of r.tiles ?? []) assert.ok(x.ok && x.errors === 0 && x.requests > 0, JSON.stringify(x));
    assert.equal(r.witness?.length, 1);
    assert.ok(r.witness![0]!.ok && r.witness![0]!.requests_per_s > 0, JSON.stringify(r.witness));
    assert.equal(r.alerts?.length, 1);
    assert.ok(r.alerts![0]!.caught_up && r.alerts![0]!.on_events_per_s > 0, JSON.stringify(r.alerts));
    assert.equal(r.archive?.length, 1); // the S3 variant never runs under --quick
    assert.equal(r.archive_s3_skipped, 'not under --quick');
    assert.ok(r.archive![0]!.ok && r.archive![0]!.pruned_entries > 0, JSON.stringify(r.archive));
    assert.deepEqual(
      r.exports?.map((x) => x.format),
      ['bundle', 'ocsf', 'cef', 'syslog', 'csv'],
    );
    // Sync against async replication on private servers, when the PostgreSQL server binaries are here (always in CI).
    if (process.env['CI'] === 'true') assert.equal(r.replication_skipped, undefined);
    if (r.replication_skipped === undefined) {
      assert.deepEqual(
        r.replication?.map((x) => x.mode),
        ['asynchronous', 'synchronous'],
      );
      for (const x of r.replication ?? []) assert.ok(x.events_per_s > 0 && x.ratio > 0, JSON.stringify(x));
    } else assert.match(r.replication_skipped, /PostgreSQL server binaries/);
    for (const x of r.exports ?? []) assert.ok(x.entries >= 5_000 && x.entries_per_s > 0, JSON.stringify(x));
    // The viewer in Chromium, when Chromium is installed (always under CI: .ci/run installs it).
    if (existsSync('/usr/bin/chromium') || process.env['CI'] === 'true') {
      assert.equal(r.viewer?.length, 1);
      assert.ok(r.viewer![0]!.ok && r.viewer![0]!.page_entries_per_s > 0, JSON.stringify(r.viewer));
    }

    // evident, the naive design and the bare rows (the limit), at concurrency 1 and 64
    assert.equal(r.ingest.length, stores.length * 6);
    for (const store of stores)
      assert.deepEqual(
        r.ingest.filter((x) => x.store === store && x.system === 'bare').map((x) => x.concurrency),
        [1, 64],
      );
    for (const x of r.ingest) {
      assert.ok(x.events_per_s > 0 && x.p50_ms > 0 && x.p50_ms <= x.p99_ms, JSON.stringify(x));
      // evident's chain always holds; the naive design's forks under concurrency (its reads race its writes)
      if (x.system === 'evident') assert.equal(x.chain_ok, true);
      if (x.system === 'naive' && x.concurrency === 64)
        assert.ok(x.forks! > 0 && !x.chain_ok, JSON.stringify(x));
    }
    assert.deepEqual(
      r.http.map((x) => `${x.store} ${x.batch}`),
      stores.flatMap((s) => [`${s} 1`, `${s} 100`, `${s} 1000`]),
    );
    for (const x of r.http) assert.ok(x.events >= x.batch && x.refused === 0, JSON.stringify(x));

    assert.deepEqual(
      r.verify.map((x) => `${x.what} ${x.workers > 1 ? 'N' : 1}`),
      ['read 1', 'schema 1', 'log 1', 'log N', 'bundle 1', 'bundle N'],
    );
    for (const x of r.verify) assert.ok(x.ok && x.entries_per_s > 0, JSON.stringify(x));
    assert.equal(r.proofs.length, 2);
    for (const p of r.proofs) {
      assert.ok(
        p.ok && p.inclusion.p50_ms > 0 && p.inclusion.p50_ms <= p.inclusion.p99_ms,
        JSON.stringify(p),
      );
      assert.ok(p.consistency.p50_ms > 0 && p.consistency.p50_ms < 1000, JSON.stringify(p));
    }
    assert.equal(r.queries.length, stores.length * 3);
    for (const q of r.queries) assert.ok(q.p50_ms > 0 && q.p50_ms <= q.p99_ms, JSON.stringify(q));
    // 5,000 entries, all within the last 30 days: every actor and every patient record appears exactly once.
    for (const q of r.queries.filter((x) => x.query !== 'failures_24h'))
      assert.equal(q.mean_rows, 1, q.query);
    assert.deepEqual(
      r.storage.map((s) => `${s.store} ${s.system}`),
      stores.flatMap((s) => [`${s} evident`, `${s} bare`]),
    );
    // A leaf of about 400 bytes of JSON, its hash, its tree nodes and indexes: some hundreds of bytes, not megabytes.
    for (const s of r.storage)
      assert.ok(s.bytes_per_entry > 300 && s.bytes_per_entry < 10_000, JSON.stringify(s));

    // Two private PostgreSQL clusters against one: both rows, chains verified; or why not (never in CI).
    if (r.clusters_skipped === undefined || process.env['CI'] === 'true') {
      assert.deepEqual(
        r.clusters?.map((x) => x.clusters),
        [1, 2],
      );
      for (const x of r.clusters ?? [])
        assert.ok(x.chain_ok && x.events_per_s > 0 && x.ratio > 0, JSON.stringify(x));
      assert.equal(r.clusters![0]!.ratio, 1);
    } else assert.match(r.clusters_skipped, /PostgreSQL|runuser/);

    // The targets table names every target; tiny sizes leave the 10M and 1M ones unjudged.
    assert.equal(r.targets.length, 14);
    assert.equal(r.targets.find((t) => t.target.startsWith('proofs at 10M'))!.met, undefined);
    assert.equal(typeof r.targets[0]!.met, 'boolean');
    // The run wrote its results to the folder it was given, and nothing into the working tree.
    assert.deepEqual(benchFiles(root), before);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
