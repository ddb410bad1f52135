/**
 * evident relay: moves audit events that applications wrote to an outbox table in their own
 * PostgreSQL transactions (evident/outbox) into the log, exactly once and in order. One JSON line
 * per happening on stdout; SIGTERM or SIGINT finishes the pass in flight, signs a last checkpoint
 * per log, and exits 0 (a second signal exits at once, 130).
 */
import { redactUrls } from '../../core/redact.ts';
import { type Command, type Context, lazy } from '../command.ts';

export const relay: Command = {
  name: 'relay',
  summary: 'move events from an application database outbox into the log (evident/outbox)',
  description:
    'Creates the outbox tables when missing, then LISTENs for new rows (and polls). Each pass moves\n' +
    'a batch in one transaction of the outbox: append to the log, then delete. Events the log refuses\n' +
    'for good go to evident_outbox_rejected, with the reason. Run several for failover: one is active,\n' +
    'the others wait. Logs one JSON line per batch, rejection, retry and role change.',
  globals: ['db', 'key', 'signer-state'],
  options: {
    outbox: {
      type: 'string',
      value: 'URL',
      description: 'postgres:// URL of the application database ($EVIDENT_OUTBOX; ?schema= names its schema)',
    },
    schema: {
      type: 'string',
      value: 'NAME',
      description: 'schema of the outbox tables',
      default: "the URL's ?schema=, else public",
    },
    'batch-size': { type: 'string', value: 'N', description: 'most events per pass', default: '500' },
    'poll-ms': {
      type: 'string',
      value: 'MS',
      description: 'look for rows this often without a notification',
      default: '1000',
    },
  },
  examples: [
    'evident relay --outbox postgres://app@db/app --db audit.db --key audit.key',
    'EVIDENT_OUTBOX=postgres://app@db/app?schema=audit evident relay --db postgres://evident@db/audit',
  ],
  run: lazy(async () => runRelay),
};

async function runRelay(ctx: Context): Promise<number> {
  const [{ startOutboxRelay }, { Ledger }, { loadSigningKey }, open, globals, errors] = await Promise.all([
    import('../../outbox/relay.ts'),
    import('../../ledger/ledger.ts'),
    import('../signing-key.ts'),
    import('../open-log.ts'),
    import('../globals.ts'),
    import('../errors.ts'),
  ]);
  const outbox = globals.str(ctx, 'outbox') ?? ctx.io.env['EVIDENT_OUTBOX'];
  if (!outbox || !/^postgres(ql)?:\/\//.test(outbox)) {
    throw errors.usageError('--outbox must be a postgres:// URL of the application database', '--outbox');
  }
  const number = (flag: string, fallback: number) => {
    const v = globals.str(ctx, flag);
    if (v === undefined) return fallback;
    if (!/^[1-9][0-9]{0,8}$/.test(v))
      throw errors.usageError(`--${flag} must be a positive integer`, `--${flag}`);
    return Number(v);
  };
  const batchSize = number('batch-size', 500);
  const pollIntervalMs = number('poll-ms', 1000);
  const keyRing = await loadSigningKey(ctx, globals.keyPath(ctx).path);
  const store = await open.openExistingStore(ctx, { readonly: false });
  const ledgers = new Map<string, ReturnType<typeof Ledger.open>>();
  const line = (level: number, msg: string, fields: Record<string, unknown> = {}) =>
    ctx.io.stdout.write(redactUrls(`${JSON.stringify({ level, time: Date.now(), msg, ...fields })}\n`));
  let relay: Awaited<ReturnType<typeof startOutboxRelay>>;
  try {
    relay = await startOutboxRelay({
      connectionString: outbox,
      ...(globals.str(ctx, 'schema') ? { schema: globals.str(ctx, 'schema')! } : {}),
      batchSize,
      pollIntervalMs,
      ledgerFor: (log) => {
        let l = ledgers.get(log);
        if (!l) {
          const signerState = globals.signerStateDir(ctx);
          l = Ledger.open({
            store,
            log,
            signer: keyRing,
            ownsStore: false,
            ...(signerState !== undefined ? { signerState } : {}),
          });
          ledgers.set(log, l);
          l.catch(() => ledgers.delete(log));
        }
        return l;
      },
      onReport: (r) => {
        const { type, ...fields } = r;
        const level = type === 'retry' || type === 'rejected' ? 40 : 30;
        line(level, type, fields);
      },
    });
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.once('SIGTERM', () => process.exit(130));
      process.once('SIGINT', () => process.exit(130));
      line(30, 'shutting down: finishing the pass in flight', { signal });
      (async () => {
        await relay.stop();
        for (const l of ledgers.values()) await (await l.catch(() => undefined))?.close();
        await store.close();
      })().then(
        () => {
          line(30, 'exiting', { ...relay.stats });
          resolve(errors.EXIT_OK);
        },
        (e: unknown) => {
          line(50, 'shutdown failed', { error: String((e as Error)?.message ?? e) });
          resolve(errors.EXIT_INTERNAL);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Only now: whoever waits for this line may signal at once, and must find the handlers in place.
    line(30, 'relay started', { batch_size: batchSize, poll_ms: pollIntervalMs });
  });
}
