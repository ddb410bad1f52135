/** evident forward: parses the flags, opens the log read-only, and runs the loop of ../forward/forwarder.ts. */
import { resolve } from 'node:path';
import type { Context } from '../command.ts';
import {
  FORWARD_DEFAULT_BATCH,
  FORWARD_DEFAULT_POLL_MS,
  FORWARD_DEFAULT_STATE,
  FORWARD_RETRY_BASE_MS,
  FORWARD_RETRY_MAX_MS,
  FORWARD_TIMEOUT_MS,
} from '../defaults.ts';
import { EXIT_OK, usageError } from '../errors.ts';
import { forward } from '../forward/forwarder.ts';
import { readState } from '../forward/state.ts';
import { openSender, parseTarget } from '../forward/target.ts';
import { flag, str } from '../globals.ts';
import { version } from '../main.ts';
import { openReadOnly } from '../open-log.ts';

const SYSLOG_FORMATS = ['syslog', 'cef', 'ocsf'];
const WEBHOOK_FORMATS = ['json', 'ocsf'];

function positive(ctx: Context, name: string, fallback: number): number {
  const v = str(ctx, name);
  if (v === undefined) return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(v))
    throw usageError(`--${name} must be a positive integer`, `--${name}`, { rule: 'integer' });
  return Number(v);
}

export async function run(ctx: Context): Promise<number> {
  const to = str(ctx, 'to');
  if (to === undefined) throw usageError('--to is required: where to deliver', '--to', { rule: 'required' });
  const target = parseTarget(to);
  const allowed = target.kind === 'syslog' ? SYSLOG_FORMATS : WEBHOOK_FORMATS;
  const format = str(ctx, 'format') ?? allowed[0]!;
  if (!allowed.includes(format))
    throw usageError(
      `--format to ${target.kind === 'syslog' ? 'a syslog receiver' : 'a webhook'} must be one of ${allowed.join(', ')}`,
      '--format',
      { rule: 'enum' },
    );
  const ca = str(ctx, 'ca');
  if (ca !== undefined && !(target.kind === 'syslog' ? target.tls : target.url.protocol === 'https:'))
    throw usageError('--ca goes with syslog+tls:// or https://', '--ca', { rule: 'requires' });
  const statePath = resolve(str(ctx, 'state') ?? FORWARD_DEFAULT_STATE);
  const batch = positive(ctx, 'batch', FORWARD_DEFAULT_BATCH);
  const pollMs = positive(ctx, 'poll-ms', FORWARD_DEFAULT_POLL_MS);
  const maxAttempts = str(ctx, 'max-attempts') === undefined ? 0 : positive(ctx, 'max-attempts', 0);
  const state = await readState(statePath);
  const ledger = await openReadOnly(ctx);
  if (state && (state.origin !== ledger.log.origin || state.to !== target.display)) {
    await ledger.close();
    throw usageError(
      `the forward state ${statePath} belongs to ${state.origin} → ${state.to}, not ${ledger.log.origin} → ${target.display}: give another --state`,
      '--state',
      { rule: 'mismatch' },
    );
  }
  const sender = openSender(target, { ...(ca !== undefined ? { ca } : {}), timeoutMs: FORWARD_TIMEOUT_MS });
  const line = (level: number, msg: string, fields: Record<string, unknown> = {}) =>
    ctx.io.stdout.write(`${JSON.stringify({ level, time: Date.now(), msg, ...fields })}\n`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    line(30, 'shutting down: finishing the batch in flight', { signal });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  line(30, 'forward started', {
    to: target.display,
    format,
    from: state?.next_index ?? 0,
    once: flag(ctx, 'once'),
  });
  try {
    const delivered = await forward({
      ledger,
      sender,
      format,
      to: target.display,
      statePath,
      state,
      productVersion: version(),
      batch,
      pollMs,
      retryBaseMs: FORWARD_RETRY_BASE_MS,
      retryMaxMs: FORWARD_RETRY_MAX_MS,
      maxAttempts,
      once: flag(ctx, 'once'),
      stopped: () => stopping,
      report: (msg, fields) => line(msg === 'retry' ? 40 : 30, msg, fields),
    });
    line(30, 'exiting', { delivered });
    return EXIT_OK;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    sender.close();
    await ledger.close().catch(() => {});
  }
}
