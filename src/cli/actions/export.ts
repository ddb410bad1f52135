/**
 * evident export: a bundle (header line, then entries as JSON Lines) that anyone verifies
 * offline with evident verify-bundle and the published verifier key. With the signing key at
 * hand, a fresh checkpoint is signed first so that the bundle covers every entry.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { BundleHeader } from '../../core/bundle.ts';
import { parseJson } from '../../core/json.ts';
import { type ExportOptions, exportBundle } from '../../ledger/export.ts';
import { exportRecords, type RecordExportOptions } from '../../ledger/record-export.ts';
import { EXPORT_FORMATS, RECORD_FORMATS } from '../../ledger/siem/index.ts';
import { exportTiles } from '../../ledger/tiles-export.ts';
import type { Context } from '../command.ts';
import { usageError } from '../errors.ts';
import { createNewFile } from '../files.ts';
import { flag, keyPath, str, strs } from '../globals.ts';
import type { OutStream } from '../io.ts';
import { version } from '../main.ts';
import { openForWriting, openReadOnly, withLedger } from '../open-log.ts';
import { note, printJson } from '../output.ts';
import { signingKeyFromEnv } from '../signing-key.ts';
import { parseCount, parseTime } from '../values.ts';

export async function run(ctx: Context): Promise<number> {
  const tiles = str(ctx, 'tiles');
  const format = str(ctx, 'format') ?? 'bundle';
  if (tiles !== undefined) {
    if (format !== 'bundle')
      throw usageError('--tiles writes tiles, not --format records', '--format', { rule: 'conflicts' });
    return runTiles(ctx, tiles);
  }
  if (format !== 'bundle') return runRecords(ctx, format);
  if (flag(ctx, 'bom')) throw usageError('--bom goes with --format csv', '--bom', { rule: 'requires' });
  const o: ExportOptions = {};
  const since = str(ctx, 'since');
  const until = str(ctx, 'until');
  if (since !== undefined) o.since = parseTime('since', since);
  if (until !== undefined) o.until = parseTime('until', until);
  const from = strs(ctx, 'consistency-from');
  if (from.length > 0) o.consistencyFrom = from.map((v) => parseCount('consistency-from', v));
  const out = str(ctx, 'out');
  const { path, explicit } = keyPath(ctx);
  const canSign = signingKeyFromEnv(ctx) !== undefined || explicit || existsSync(path);
  const ledger = canSign ? await openForWriting(ctx) : await openReadOnly(ctx);
  const file = out === undefined ? undefined : await createNewFile(out, '--out');
  let header: BundleHeader | undefined;
  let bytes = 0;
  try {
    await withLedger(ledger, async (l) => {
      for await (const chunk of exportBundle(l, o)) {
        header ??= parseJson(chunk) as BundleHeader;
        bytes += Buffer.byteLength(chunk);
        if (file) await file.write(chunk);
        else await write(ctx.io.stdout, chunk);
      }
    });
    await file?.finish();
  } catch (e) {
    await file?.abort();
    throw e;
  }
  if (out !== undefined && header) {
    const { from, to } = header.range;
    if (ctx.json) {
      printJson(ctx, { out, tree_size: header.tree_size, range: header.range, entries: to - from, bytes });
    } else {
      note(
        ctx,
        `exported entries ${from} to ${to - 1} (${to - from}) of tree size ${header.tree_size} to ${out}`,
      );
    }
  }
  return 0;
}

/** --format ocsf|cef|syslog|csv: records for a SIEM, streamed; read-only, no checkpoint signed. */
async function runRecords(ctx: Context, format: string): Promise<number> {
  if (!(format in RECORD_FORMATS)) {
    throw usageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}; not "${format}"`, '--format', {
      rule: 'enum',
    });
  }
  if (strs(ctx, 'consistency-from').length > 0)
    throw usageError('--consistency-from goes with the bundle format only', '--consistency-from', {
      rule: 'requires',
    });
  if (flag(ctx, 'bom') && format !== 'csv')
    throw usageError('--bom goes with --format csv', '--bom', { rule: 'requires' });
  const o: RecordExportOptions = { format, productVersion: version(), bom: flag(ctx, 'bom') };
  const since = str(ctx, 'since');
  const until = str(ctx, 'until');
  if (since !== undefined) o.since = parseTime('since', since);
  if (until !== undefined) o.until = parseTime('until', until);
  const out = str(ctx, 'out');
  const ledger = await openReadOnly(ctx);
  const file = out === undefined ? undefined : await createNewFile(out, '--out');
  // CSV's header row is a line that is not a record
  let records = RECORD_FORMATS[format]!.header({ bom: false }) === '' ? 0 : -1;
  let bytes = 0;
  try {
    await withLedger(ledger, async (l) => {
      for await (const chunk of exportRecords(l, o)) {
        records++;
        bytes += Buffer.byteLength(chunk);
        if (file) await file.write(chunk);
        else await write(ctx.io.stdout, chunk);
      }
    });
    await file?.finish();
  } catch (e) {
    await file?.abort();
    throw e;
  }
  if (out !== undefined) {
    if (ctx.json) printJson(ctx, { out, format, records: Math.max(0, records), bytes });
    else note(ctx, `exported ${Math.max(0, records)} records as ${format} to ${out}`);
  }
  return 0;
}

/** Writes a line to stdout and waits while the pipe is full: the export never outruns its reader. */
async function write(out: OutStream, chunk: string): Promise<void> {
  const stream = out as OutStream & Partial<NodeJS.EventEmitter>;
  if (out.write(chunk) === false && typeof stream.once === 'function') {
    await once(stream as NodeJS.EventEmitter, 'drain');
  }
}

/** export --tiles DIR: the log as C2SP tlog-tiles files (../../ledger/tiles-export.ts). */
async function runTiles(ctx: Context, dir: string): Promise<number> {
  for (const other of ['out', 'since', 'until']) {
    if (str(ctx, other) !== undefined)
      throw usageError(`--tiles exports the whole log: --${other} does not apply`, `--${other}`);
  }
  if (strs(ctx, 'consistency-from').length > 0) {
    throw usageError(
      '--tiles exports the whole log: --consistency-from does not apply',
      '--consistency-from',
    );
  }
  const { path, explicit } = keyPath(ctx);
  const canSign = signingKeyFromEnv(ctx) !== undefined || explicit || existsSync(path);
  const ledger = canSign ? await openForWriting(ctx) : await openReadOnly(ctx);
  const r = await withLedger(ledger, async (l) => {
    // As for a bundle: with the key at hand, a fresh checkpoint first, so the tiles cover every entry.
    if (l.canSign) await l.checkpoint();
    return exportTiles(l, dir);
  });
  if (ctx.json) printJson(ctx, { dir, tree_size: r.size, written: r.written, kept: r.kept, bytes: r.bytes });
  else
    note(ctx, `tiles of tree size ${r.size} in ${dir}: ${r.written} files written, ${r.kept} already there`);
  return 0;
}
