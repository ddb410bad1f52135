/** evident archive target add|list, archive run, archive verify (docs/retention.md). */
import { addTarget, readTargets } from '../../archive/config.ts';
import { archivePass } from '../../archive/pass.ts';
import type { ArchiveTarget } from '../../archive/target.ts';
import { openArchiveTarget } from '../../archive/targets.ts';
import { type ArchiveVerifyReport, verifyArchive } from '../../archive/verify.ts';
import { actorFromFlags } from '../actor-flags.ts';
import type { Context } from '../command.ts';
import { EXIT_OK, EXIT_TAMPERED, usageError } from '../errors.ts';
import { flag, str, strs } from '../globals.ts';
import { parseVkeyArg } from '../keys.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { note, print, printJson, table } from '../output.ts';
import { progress } from '../progress.ts';
import { readTrustedCheckpoints } from '../trusted-checkpoints.ts';

function oneUrl(ctx: Context): string {
  const url = ctx.positionals[0];
  if (url === undefined || ctx.positionals.length > 1) throw usageError('give one target URL', 'URL');
  return url;
}

export async function targetAdd(ctx: Context): Promise<number> {
  const url = oneUrl(ctx);
  const by = actorFromFlags(ctx);
  const r = await withLedger(await openForWriting(ctx), (l) =>
    addTarget(l.store, l.log, url, { now: ctx.now, ...(by ? { by } : {}) }),
  );
  if (ctx.json) printJson(ctx, { url, receipt: { id: r.id, index: r.index, hash: r.hash } });
  else print(ctx, `archive target ${url} added; recorded as event #${r.index}`);
  return EXIT_OK;
}

export async function targetList(ctx: Context): Promise<number> {
  const urls = await withLedger(await openReadOnly(ctx), (l) => readTargets(l.store, l.log));
  if (ctx.json) printJson(ctx, { targets: urls });
  else
    print(
      ctx,
      urls.length === 0
        ? 'no archive target (evident archive target add)'
        : table(
            ['target'],
            urls.map((u) => [u]),
          ),
    );
  return EXIT_OK;
}

export async function runPass(ctx: Context): Promise<number> {
  const bar = progress(ctx, 'sealed');
  const staging = str(ctx, 'staging');
  const result = await withLedger(await openForWriting(ctx), async (l) => {
    const targets: ArchiveTarget[] = [];
    try {
      for (const url of await readTargets(l.store, l.log)) targets.push(await openArchiveTarget(url));
      const size = (await l.store.head(l.log.id)).size;
      return await archivePass({
        ledger: l,
        targets,
        sealOpen: flag(ctx, 'seal-open'),
        prune: !flag(ctx, 'no-prune'),
        now: ctx.now,
        ...(staging !== undefined ? { stagingDir: staging } : {}),
        onProgress: (p) => {
          if (p.last !== undefined) bar.update(p.last + 1, size);
        },
      });
    } finally {
      for (const t of targets) await t.close();
    }
  });
  bar.end();
  if (ctx.json) printJson(ctx, result);
  else {
    const lines = [
      `log ${result.log}: sealed ${result.sealed.length} segment(s)${result.sealed.map((s) => ` ${s.first}..${s.last}`).join(',')}; copied ${result.copied}; wrote ${result.checkpoints_written} checkpoint(s) to ${result.targets.length} target(s)`,
      `pruned ${result.pruned.reduce((n, p) => n + p.entries, 0)} entries${result.pruned.map((p) => ` ${p.first}..${p.last} (event #${p.prune_index})`).join(',')}; entries before ${result.pruned_through} are pruned`,
      `last sealed index: ${result.last_sealed ?? '(none)'}; not yet sealed: ${result.lag_entries} entries`,
    ];
    print(ctx, lines.join('\n'));
  }
  return EXIT_OK;
}

function timeFlag(ctx: Context, name: 'from' | 'to'): Date | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(d.getTime()))
    throw usageError(`--${name} must be an RFC 3339 time`, `--${name}`);
  return d;
}

export async function verify(ctx: Context): Promise<number> {
  const url = oneUrl(ctx);
  const vkeys = strs(ctx, 'vkey');
  if (vkeys.length === 0)
    throw usageError('--vkey is required: the archive is checked against the key you hold', '--vkey');
  const keys = await Promise.all(vkeys.map((v) => parseVkeyArg(v)));
  const trusted = (await readTrustedCheckpoints(ctx)).map((f) => f.note);
  const from = timeFlag(ctx, 'from');
  const to = timeFlag(ctx, 'to');
  const target = await openArchiveTarget(url, { readOnly: true });
  const bar = progress(ctx, 'entries checked');
  let report: ArchiveVerifyReport;
  try {
    let seen = 0;
    report = await verifyArchive(target, {
      verifiers: keys.map((k) => k.verifier),
      trusted,
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      onProgress: () => bar.update(++seen, 0),
    });
  } finally {
    await target.close();
  }
  bar.end();
  if (ctx.json) printJson(ctx, report);
  else print(ctx, describe(report));
  for (const w of report.warnings) note(ctx, w);
  return report.ok ? EXIT_OK : EXIT_TAMPERED;
}

function describe(r: ArchiveVerifyReport): string {
  const lines = [
    r.ok
      ? `OK: archive ${r.target} is intact.`
      : `ARCHIVE DAMAGED: ${r.target}: ${r.faults.length} fault(s).`,
  ];
  for (const l of r.logs) {
    lines.push(
      `  log ${l.log}: ${l.segments} segment(s), entries ${l.first ?? '-'}..${l.last ?? '-'} (${l.entries}); ${l.checkpoints_checked} of ${l.checkpoints} checkpoint(s) checked; verified tree size ${l.verified_size}${l.root ? ` root ${l.root}` : ''}`,
    );
  }
  for (const f of r.faults) lines.push(`  - ${f.kind}: ${f.object}: ${f.message}`);
  return lines.join('\n');
}
