/**
 * `npm run bench [-- --quick] [-- --verify-entries N]`: measures durable ingest and
 * verification, prints a table, and writes JSON and Markdown to bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChart } from './chart.ts';
import { benchBrief, benchIngest, type IngestResult } from './ingest.ts';
import { progress } from './support.ts';
import { benchVerify, type VerifyResult } from './verify.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'verify-entries': { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const quick = values.quick;
const verifySizes = values['verify-entries']
  ? [Number(values['verify-entries'])]
  : quick
    ? [2_000]
    : [100_000, 1_000_000];

const ingest: IngestResult[] = [];
const plan: [number, number][] = quick
  ? [
      [1, 100],
      [64, 2_000],
    ]
  : [
      [1, 3_000],
      [8, 20_000],
      [64, 60_000],
      [256, 60_000],
    ];
for (const [c, n] of plan) {
  ingest.push(await benchIngest(c, n));
  ingest.push(await benchBrief(c, Math.min(n, quick ? n : 20_000)));
}
const verify: VerifyResult[] = [];
for (const n of verifySizes) verify.push(await benchVerify(n));
progress('');

const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  memory_gb: Math.round(totalmem() / 2 ** 30),
  quick,
};
const md = [
  `# evident benchmark (${machine.date}${quick ? ', quick' : ''})`,
  '',
  `Node ${machine.node}, ${machine.cpus}, ${machine.memory_gb} GiB; SQLite WAL, synchronous=FULL.`,
  '',
  '| durable ingest (library, SQLite) | events | events/s | p50 ms | p99 ms | chain verifies | vs brief |',
  '| --- | ---: | ---: | ---: | ---: | --- | ---: |',
  ...ingest.map((r) => {
    const brief = ingest.find((x) => x.system === 'brief' && x.concurrency === r.concurrency);
    const ratio =
      r.system === 'evident' && brief ? `${(r.events_per_s / brief.events_per_s).toFixed(1)}x` : '';
    const ok = r.chain_ok ? 'yes' : '**no**';
    return `| ${r.system}, concurrency ${r.concurrency} | ${r.events} | ${r.events_per_s} | ${r.p50_ms} | ${r.p99_ms} | ${ok} | ${ratio} |`;
  }),
  '',
  '| verification (SQLite) | entries | entries/s | peak RSS MB | ok |',
  '| --- | ---: | ---: | ---: | --- |',
  ...verify.map(
    (r) =>
      `| full re-hash, chain, tree, checkpoints | ${r.entries} | ${r.entries_per_s} | ${r.peak_rss_mb} | ${r.ok} |`,
  ),
  '',
].join('\n');
process.stdout.write(`${md}\n`);
mkdirSync(values.out!, { recursive: true });
const stem = quick ? 'latest-quick' : 'latest';
writeFileSync(join(values.out!, `${stem}.json`), `${JSON.stringify({ machine, ingest, verify }, null, 2)}\n`);
writeFileSync(join(values.out!, `${stem}.md`), md);
const line = (system: IngestResult['system']) =>
  ingest.filter((r) => r.system === system).map((r) => ({ x: r.concurrency, y: r.events_per_s }));
writeFileSync(
  join(values.out!, `${stem}-ingest.svg`),
  lineChart(
    'Durable ingest on SQLite (WAL, synchronous=FULL)',
    [
      { name: 'evident', color: '#1f6feb', points: line('evident') },
      { name: "the brief's design", color: '#d1242f', points: line('brief') },
    ],
    'concurrent callers',
    'events per second',
  ),
);
if (verify.some((r) => !r.ok)) process.exitCode = 1;
