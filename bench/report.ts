/** The results as Markdown tables, and the ingest chart (SVG). */
import { lineChart } from './chart.ts';
import type { IngestResult } from './ingest.ts';
import type { Results } from './results.ts';

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const table = (head: string[], rows: (string | number)[][]) =>
  rows.length === 0
    ? []
    : [
        `| ${head.join(' | ')} |`,
        `| ${head.map((h, i) => (i === 0 || h.endsWith('?') ? '---' : '---:')).join(' | ')} |`,
        ...rows.map((r) => `| ${r.join(' | ')} |`),
        '',
      ];
const yes = (ok: boolean) => (ok ? 'yes' : '**no**');
const naiveCheck = (x: IngestResult) =>
  x.chain_ok ? 'yes' : `**no**: ${n(x.broken_links ?? 0)} broken links, ${n(x.forks ?? 0)} forks`;

/** The opt-in s3 section, when it ran (`--only s3`). */
function s3Section(r: Results): string[] {
  if (r.s3 === undefined && r.s3_skipped === undefined) return [];
  const head = ['## S3 archive target: put throughput', ''];
  if (r.s3 === undefined) return [...head, `Not measured: ${r.s3_skipped}.`, ''];
  return [
    ...head,
    `A file put to ${r.s3[0]?.server ?? 'the target'}: the target hashes it, uploads it with Content-MD5 and SHA-256 under COMPLIANCE retention, checks the retention and reads it back; a plain streamed PutObject of the same file for comparison. Client and server share the machine.`,
    '',
    ...table(
      ['MiB', 'target put MiB/s', 'plain PutObject MiB/s', 'target / plain'],
      r.s3.map((x) => [
        x.mb,
        x.put_mb_per_s,
        x.raw_mb_per_s,
        `${(x.put_mb_per_s / x.raw_mb_per_s).toFixed(2)}x`,
      ]),
    ),
  ];
}

export function markdown(r: Results): string {
  const m = r.machine;
  const pg = m.postgres
    ? `PostgreSQL ${m.postgres.version} (fsync ${m.postgres.fsync}, synchronous_commit ${m.postgres.synchronous_commit}, autovacuum ${m.postgres.autovacuum ?? 'not recorded'})`
    : `PostgreSQL not measured${r.postgres_skipped ? `: ${r.postgres_skipped}` : ''}`;
  const ratio = (x: IngestResult, to: 'naive' | 'bare') => {
    const b = r.ingest.find((y) => y.system === to && y.store === x.store && y.concurrency === x.concurrency);
    return x.system === 'evident' && b ? `${(x.events_per_s / b.events_per_s).toFixed(2)}x` : '';
  };
  const bareBytes = (x: { store: string; system?: string; bytes_per_entry: number }) => {
    const b = r.storage.find((y) => y.system === 'bare' && y.store === x.store);
    return x.system !== 'bare' && b ? `${(x.bytes_per_entry / b.bytes_per_entry).toFixed(2)}x` : '';
  };
  return [
    `# evident benchmark (${m.date}${r.quick ? ', quick: tiny sizes, not figures to quote' : ''})`,
    '',
    `evident ${m.evident} (${m.commit}); Node ${m.node}; SQLite ${m.sqlite} (WAL, synchronous=FULL); ${pg}.`,
    `${m.cpus}, ${m.memory_gb} GiB, load average ${m.load_at_start} at the start; client, server and database share the machine.`,
    `Sections last run: ${Object.entries(r.ran)
      .map(([s, d]) => `${s} ${d.at} (${d.seconds} s)`)
      .join(', ')}.`,
    '',
    '## Targets',
    '',
    ...table(
      ['target', 'measured', 'met?'],
      r.targets.map((t) => [
        t.target,
        t.measured,
        t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**',
      ]),
    ),
    '## Durable ingest, library mode',
    '',
    'Each of C callers awaits its append before the next; an append resolves once committed and fsynced.',
    'The naive hash-chain design: one row per event, prev_hash read by ORDER BY timestamp DESC LIMIT 1, 8 fields hashed, INSERT.',
    'Its check is its verify_chain (rows in timestamp order): millisecond timestamps tie, and ties break it',
    'even with one caller; forks count entries whose predecessor another entry also claims (concurrent writers).',
    'The limit (bare): the same entry rows (same columns, indexes and triggers) inserted by a bare loop in',
    'transactions of C rows, no validation, hashing or tree, same durability settings: what the database itself allows.',
    '',
    ...table(
      [
        'store, system, concurrency',
        'events',
        'events/s',
        'p50 ms',
        'p99 ms',
        'chain verifies?',
        'evident / naive',
        'evident / bare',
      ],
      r.ingest.map((x) => [
        `${x.store}, ${x.system}, ${x.concurrency}`,
        x.events,
        n(x.events_per_s),
        x.p50_ms,
        x.p99_ms,
        x.system === 'naive' ? naiveCheck(x) : x.system === 'bare' ? 'no chain' : yes(x.chain_ok),
        ratio(x, 'naive'),
        ratio(x, 'bare'),
      ]),
    ),
    '## Durable ingest over HTTP',
    '',
    'A child `evident serve` process (from source), fetch clients in the bench process; counted events were answered 201.',
    '',
    ...table(
      [
        'store, batch, concurrency',
        'events',
        'seconds',
        'events/s',
        'request p50 ms',
        'request p99 ms',
        'refused',
      ],
      r.http.map((x) => [
        `${x.store}, ${x.batch}, ${x.concurrency}`,
        x.events,
        x.seconds,
        n(x.events_per_s),
        x.p50_ms,
        x.p99_ms,
        x.refused,
      ]),
    ),
    '## Verification (SQLite)',
    '',
    'Full re-hash of every entry, chain, tree, every checkpoint signature and root; streaming. threads 1: the main',
    'thread alone; N: a worker thread per core. bundle: the same log exported and verified offline (verify-bundle).',
    'Each row runs in a process of its own (run from the sources through tsx): its peak RSS is its own, worker threads included.',
    'The limit rows, one thread each: read, every entry row read (all columns, pages of 1,000) and hashed with SHA-256, nothing checked;',
    'schema, the schema check alone (PRAGMA integrity_check reads every index against its table). No verifier of the file can skip either.',
    '',
    ...table(
      ['entries', 'what', 'threads', 'entries/s', 'seconds', 'peak RSS MB (process)', 'ok?'],
      r.verify.map((x) => [
        n(x.entries),
        x.what ?? 'log',
        x.workers ?? 1,
        n(x.entries_per_s),
        x.seconds,
        x.peak_rss_mb,
        yes(x.ok),
      ]),
    ),
    '## Proofs, library mode (SQLite)',
    '',
    'Page cache `warm`: the database file read through once before timing, as on a server that has been',
    'answering from it. `cold`: the page cache dropped first (root only), every page read from the disk.',
    '',
    ...table(
      [
        'entries',
        'page cache',
        'samples',
        'inclusion p50 ms',
        'inclusion p99 ms',
        'consistency p50 ms',
        'consistency p99 ms',
        'checked?',
      ],
      r.proofs.map((x) => [
        n(x.entries),
        x.page_cache ?? 'as found',
        x.samples,
        x.inclusion.p50_ms,
        x.inclusion.p99_ms,
        x.consistency.p50_ms,
        x.consistency.p99_ms,
        yes(x.ok),
      ]),
    ),
    '## Tiles over HTTP (SQLite, evident serve)',
    '',
    'Random full tiles of the log, concurrent clients on the same machine; each entry bundle read',
    'is recorded as an access event (one group commit shared by the concurrent reads).',
    '',
    ...table(
      ['entries', 'kind', 'clients', 'requests/s', 'MB/s', 'p50 ms', 'p99 ms', 'errors', 'checked?'],
      (r.tiles ?? []).map((x) => [
        n(x.entries),
        x.kind,
        x.concurrency,
        n(x.requests_per_s),
        x.mb_per_s,
        x.p50_ms,
        x.p99_ms,
        x.errors,
        yes(x.ok),
      ]),
    ),
    '## Witness add-checkpoint (SQLite)',
    '',
    'One log; each request carries a checkpoint 1,000 entries past the last and its consistency proof, over HTTP,',
    'sequentially (each moves the state the next starts from); one durable transaction per request.',
    '',
    ...table(
      ['entries per step', 'requests', 'requests/s', 'p50 ms', 'p99 ms', 'cosignatures verified?'],
      (r.witness ?? []).map((x) => [
        n(x.step),
        x.requests,
        n(x.requests_per_s),
        x.p50_ms,
        x.p99_ms,
        yes(x.ok),
      ]),
    ),
    '## Alert evaluation on ingest (SQLite)',
    '',
    'Library ingest (16 concurrent appendMany batches of 100) with no alert runner and with one evaluating every',
    'rule on its own connection; runs alternate off/on twice in one process, means shown. Target: cost < 10%.',
    '',
    ...table(
      ['events', 'off events/s', 'on events/s', 'cost %', 'alerts raised', 'caught up?'],
      (r.alerts ?? []).map((x) => [
        n(x.events),
        n(x.off_events_per_s),
        n(x.on_events_per_s),
        x.cost_percent,
        x.alerts_raised,
        yes(x.caught_up),
      ]),
    ),
    '## Ingest over two PostgreSQL clusters',
    '',
    'Library ingest through the routed store `evident serve` uses with a cluster map: the same logs and callers',
    '(each awaiting its append), every log on one private cluster, then spread evenly over two; runs alternate',
    'one/two twice, means shown. Both clusters, the callers and evident share this machine: evident CPU % is',
    "this process's CPU time over wall time (100: one core busy); with the databases' own processes on the",
    'same cores, a second cluster adds disks and locks but no CPU, so the ratio is near 2x only on separate hosts.',
    '',
    ...(r.clusters_skipped
      ? [`Skipped: ${r.clusters_skipped}.`, '']
      : table(
          [
            'clusters',
            'logs',
            'callers',
            'events',
            'events/s',
            'ratio',
            'evident CPU %',
            'cores, load',
            'chains verify?',
          ],
          (r.clusters ?? []).map((x) => [
            x.clusters,
            x.logs,
            x.concurrency,
            n(x.events),
            n(x.events_per_s),
            `${x.ratio}x`,
            x.evident_cpu_percent ?? '-',
            x.cores === undefined ? '-' : `${x.cores}, ${x.load_at_start}`,
            yes(x.chain_ok),
          ]),
        )),
    '## Synchronous replication (PostgreSQL, primary + 1 standby)',
    '',
    'Library ingest at concurrency 64 (each caller awaits its append), the commit waiting for the standby',
    '(synchronous_standby_names set, synchronous_commit = on) against asynchronous replication, same servers,',
    `same run, alternating (async, sync, async, sync); ratio: over asynchronous.${r.replication_skipped ? ` Skipped: ${r.replication_skipped}.` : ''}`,
    '',
    ...table(
      ['mode', 'events', 'events/s', 'p50 ms', 'p99 ms', 'ratio'],
      (r.replication ?? []).map((x) => [x.mode, n(x.events), n(x.events_per_s), x.p50_ms, x.p99_ms, x.ratio]),
    ),
    '## The three compliance queries',
    '',
    'actor_30_days: one actor, last 30 days, newest first; resource: one patient record, newest first;',
    'failures_24h: actors with more than 5 failures or denials in the last 24 hours. The log spans 30 days.',
    '',
    ...table(
      ['store, query', 'entries', 'samples', 'p50 ms', 'p99 ms', 'mean rows'],
      r.queries.map((x) => [
        `${x.store}, ${x.query}`,
        n(x.entries),
        x.samples,
        x.p50_ms,
        x.p99_ms,
        x.mean_rows,
      ]),
    ),
    '## Storage',
    '',
    'bare: the same entry rows alone (no tree nodes, checkpoints or head), inserted in transactions of 20,000.',
    '',
    ...table(
      ['store, system', 'entries', 'bytes', 'bytes per entry', 'parts', 'evident / bare'],
      r.storage.map((x) => [
        `${x.store}, ${x.system ?? 'evident'}`,
        n(x.entries),
        n(x.bytes),
        n(x.bytes_per_entry),
        Object.entries(x.parts)
          .map(([k, v]) => `${k} ${n(v)}`)
          .join(', '),
        bareBytes(x),
      ]),
    ),
    '## Retention: seal, archive, verify, prune',
    '',
    'A copy of the log sealed into segments and put to a target (a directory: fsync, link, read back; S3 with Object Lock: hash, upload with Content-MD5 under COMPLIANCE retention, retention check, read back), then `archive verify` over the target alone, then every segment pruned (each bundle read back from the target first). Client and S3 server share the machine.',
    '',
    ...(r.archive_s3_skipped ? [`S3 variant not measured: ${r.archive_s3_skipped}.`, ''] : []),
    ...table(
      [
        'target',
        'entries',
        'segment',
        'segments',
        'bundle bytes',
        'seal s',
        'seal entries/s',
        'seal MB/s',
        'verify s',
        'verify entries/s',
        'prune s',
        'ok',
      ],
      (r.archive ?? []).map((x) => [
        x.target ?? 'directory',
        n(x.entries),
        n(x.segment_entries),
        x.segments,
        n(x.bundle_bytes),
        x.seal_seconds,
        n(x.seal_entries_per_s),
        x.seal_mb_per_s,
        x.verify_seconds,
        n(x.verify_entries_per_s),
        x.prune_seconds,
        x.ok ? 'yes' : 'NO',
      ]),
    ),
    ...s3Section(r),
    '## Exports',
    '',
    'Every entry of the SQLite log through the code of `evident export`, output counted and dropped: the bundle and the SIEM record formats (docs/exports.md). Heap growth over the run shows the export streams.',
    '',
    ...table(
      ['format', 'entries', 'seconds', 'entries/s', 'MB/s', 'bytes per entry', 'heap growth MB'],
      (r.exports ?? []).map((x) => [
        x.format,
        n(x.entries),
        x.seconds,
        n(x.entries_per_s),
        x.mb_per_s,
        n(x.bytes_per_entry),
        x.heap_growth_mb,
      ]),
    ),
    '## The viewer (Chromium) against evident verify, same log, same run',
    '',
    ...table(
      ['entries', 'evident verify entries/s', 'viewer entries/s', 'viewer / CLI', 'OK'],
      (r.viewer ?? []).map((x) => [
        n(x.entries),
        n(x.cli_entries_per_s),
        n(x.page_entries_per_s),
        x.ratio,
        yes(x.ok),
      ]),
    ),
    '## How the large logs were built',
    '',
    'appendMany in chunks through the public API, one commit per chunk; SQLite logs are cached in bench/.cache/.',
    '',
    ...table(
      ['store', 'entries', 'chunk', 'seconds', 'events/s', 'built'],
      r.builds.map((b) => [
        b.store,
        n(b.entries),
        n(b.chunk),
        b.seconds,
        n(b.events_per_s),
        `${b.built_at}${b.cached ? ' (cached)' : ''}`,
      ]),
    ),
  ].join('\n');
}

export function ingestChart(r: Results): string {
  const line = (store: string, system: string) =>
    r.ingest
      .filter((x) => x.store === store && x.system === system)
      .map((x) => ({ x: x.concurrency, y: x.events_per_s }));
  const series = [
    { name: 'evident, SQLite', color: '#1f6feb', points: line('sqlite', 'evident') },
    { name: 'naive, SQLite', color: '#d1242f', points: line('sqlite', 'naive') },
    { name: 'evident, PostgreSQL', color: '#1a7f37', points: line('postgres', 'evident') },
    { name: 'naive, PostgreSQL', color: '#bf8700', points: line('postgres', 'naive') },
    { name: 'bare rows, SQLite', color: '#8c959f', points: line('sqlite', 'bare') },
    { name: 'bare rows, PostgreSQL', color: '#57606a', points: line('postgres', 'bare') },
  ].filter((s) => s.points.length > 0);
  return lineChart('Durable ingest, library mode', series, 'concurrent callers', 'events per second');
}
