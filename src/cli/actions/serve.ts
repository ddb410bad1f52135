/**
 * evident serve: resolves the settings, opens the store and the key, starts the HTTP API, and
 * on SIGTERM or SIGINT (or when the npm process that started it exits: ../parent-watch.ts)
 * shuts down gracefully: stop accepting, finish the requests in flight,
 * commit pending events and sign a last checkpoint per log, close the store, exit 0. A second
 * signal during shutdown exits at once (130).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { redactUrls } from '../../core/redact.ts';
import { parseWitnessPolicy, type WitnessPolicy } from '../../core/witness-policy.ts';
import { DEFAULTS } from '../../server/options.ts';
import type { Context } from '../command.ts';
import { EXIT_INTERNAL, EXIT_OK, usageError } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { dbFile, openStoreAt } from '../open-log.ts';
import { watchNpmParent } from '../parent-watch.ts';
import { loadSigningKey } from '../signing-key.ts';
import { openClusters } from './clusters.ts';
import { reloadAlerts, reloadClusterMap, resolveServeConfig } from './serve-config.ts';

type ServerModule = typeof import('../../server/index.ts');

async function loadServer(): Promise<ServerModule> {
  try {
    return await import('../../server/index.ts');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && /fastify/.test((e as Error).message)) {
      throw new EvidentError(
        ErrorCode.USAGE,
        'evident serve needs the optional packages fastify@5, @fastify/swagger and @fastify/rate-limit: ' +
          'npm i fastify@5 @fastify/swagger @fastify/rate-limit',
      );
    }
    throw e;
  }
}

/**
 * Why the server could not listen, as the user's to fix (exit 2), naming the address: the
 * port is taken, the address belongs to no interface here, the name does not resolve, or the
 * port needs privileges. Anything else stays an unexpected failure.
 */
const LISTEN_ERRORS: Readonly<Record<string, [field: '--host' | '--port', why: string]>> = {
  EADDRINUSE: ['--port', 'is already in use'],
  EADDRNOTAVAIL: ['--host', 'is not an address of this machine'],
  ENOTFOUND: ['--host', 'does not resolve to an address'],
  EAI_AGAIN: ['--host', 'could not be resolved (name service unavailable)'],
  EAI_NONAME: ['--host', 'does not resolve to an address'],
  EACCES: ['--port', 'needs privileges this process does not have'],
  EINVAL: ['--host', 'cannot be listened on'],
};

function listenError(e: unknown, host: string, port: number): unknown {
  const errno = (e as NodeJS.ErrnoException).code;
  const known = errno === undefined ? undefined : LISTEN_ERRORS[errno];
  if (!known) return e;
  const [field, why] = known;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return usageError(`cannot listen on ${address}: it ${why} (${errno}); choose another ${field}`, field, {
    host,
    port,
    errno,
  });
}

/** The server's log lines, each with URL passwords hidden (a driver's error may quote the URL). */
function redactingStream(out: { write(s: string): void }): { write(s: string): void } {
  return { write: (s) => out.write(redactUrls(s)) };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw usageError(`${flag}: cannot read ${path}: ${(e as Error).message}`, flag);
  }
}

/** --witness-policy: witness lines need a URL here (the log must reach them), and a quorum. */
async function loadWitnessPolicy(
  path: string,
  intervalMs: number,
): Promise<{ policy: WitnessPolicy; intervalMs: number }> {
  const policy = parseWitnessPolicy(await readUserFile(path, '--witness-policy'));
  if (policy.witnesses.length === 0)
    throw usageError(`--witness-policy: ${path} lists no witness`, '--witness-policy');
  for (const w of policy.witnesses) {
    if (!w.url || !/^https?:\/\/[^\s]+$/.test(w.url)) {
      throw usageError(
        `--witness-policy: witness ${w.name} needs the URL of its submission prefix (http:// or https://)`,
        '--witness-policy',
        { rule: 'url' },
      );
    }
  }
  return { policy, intervalMs };
}

/** The signer state directory must be writable before the server starts (it fails closed later). */
function checkSignerState(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw usageError(
      `--signer-state ${dir} is not a writable directory: ${(e as Error).message}`,
      '--signer-state',
      {
        rule: 'writable',
      },
    );
  }
}

export async function run(ctx: Context): Promise<number> {
  const c = await resolveServeConfig(ctx);
  const { startServer } = await loadServer();
  const keyRing = await loadSigningKey(ctx, c.key);
  const https =
    c.tlsCert !== undefined && c.tlsKey !== undefined
      ? { cert: readPem(c.tlsCert, '--tls-cert'), key: readPem(c.tlsKey, '--tls-key') }
      : undefined;
  const witnesses =
    c.witnessPolicy === undefined ? undefined : await loadWitnessPolicy(c.witnessPolicy, c.witnessIntervalMs);
  if (c.signerState !== undefined) checkSignerState(c.signerState);
  const file = dbFile(c.db);
  if (file !== undefined && !existsSync(file)) {
    throw new EvidentError(
      ErrorCode.NOT_FOUND,
      `no database at ${file} (run evident init, or pass --db or set EVIDENT_DB)`,
      {
        field: 'db',
        path: file,
      },
    );
  }
  // serve never creates a store: a database where init never ran is STORE_NOT_INITIALIZED.
  const routed = c.clusterMap === undefined ? undefined : await openClusters(c.clusterMap);
  const store = routed ?? (await openStoreAt(c.db, { readonly: false, create: false }));
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      store,
      keyRing,
      originHost: c.originHost,
      host: c.host,
      port: c.port,
      trustProxy: c.trustProxy,
      publicVerify: c.publicVerify,
      corsOrigin: c.corsOrigin,
      maxBatch: c.maxBatch,
      maxBodyBytes: c.maxBodyBytes,
      bodyTimeoutMs: c.bodyTimeoutMs,
      maxPageBytes: c.maxPageBytes,
      rateLimit:
        c.rateLimit > 0
          ? {
              max: c.rateLimit,
              timeWindowMs: DEFAULTS.rateLimit.timeWindowMs,
              // Never more than a key may send.
              anonymousMax: Math.min(c.anonymousRateLimit, c.rateLimit),
            }
          : false,
      ledger: { maxPending: c.maxPending },
      checkpointIntervalMs: c.checkpointIntervalMs,
      ...(c.signerState !== undefined ? { signerState: c.signerState } : {}),
      ...(witnesses ? { witnesses } : {}),
      archiveIntervalMs: c.archiveIntervalMs,
      archiveCheckpointIntervalMs: c.archiveCheckpointIntervalMs,
      alerts: c.alerts,
      logger: { level: c.logLevel, stream: redactingStream(ctx.io.stdout as { write(s: string): void }) },
      ...(https ? { https } : {}),
    });
  } catch (e) {
    // startServer closed the store if it got that far; closing twice is harmless.
    await store.close().catch(() => {});
    throw listenError(e, c.host, c.port);
  }
  const log = server.app.log;
  log.info(
    {
      db: redactUrls(c.db),
      log_level: c.logLevel,
      signer_state: c.signerState ?? 'off',
      ...(routed ? { clusters: [...routed.clusterMap.clusters.keys()] } : {}),
    },
    'evident serve started',
  );
  // SIGHUP reads the config file's `alerts` object again (docs/alerts.md): a bad one is logged
  // and the running alerts keep their old configuration.
  const reload = () => {
    if (c.configPath === undefined) {
      log.warn('SIGHUP: no config file to reload (pass --config or set EVIDENT_CONFIG)');
      return;
    }
    reloadAlerts(c.configPath, ctx.io.env).then(
      (alerts) => {
        server.app.alerts?.reload(alerts);
        log.info({ config: c.configPath }, 'alerts reloaded');
      },
      (e: unknown) =>
        log.error(
          { err: e, code: (e as EvidentError).code, field: (e as EvidentError).details?.['field'] },
          'alerts not reloaded: the config file is invalid; the previous alerts configuration stays',
        ),
    );
    // The placement of logs on clusters (docs/clusters.md): logs whose cluster changed are
    // closed here and opened on their new cluster by the next request.
    reloadClusterMap(c.configPath, c.db)
      .then(async (map) => {
        if (!routed && !map) return;
        if (!routed || !map) {
          throw usageError(
            'clusters: a cluster map was added or removed: restart the server to take it; nothing was reloaded',
            '--config',
            { rule: 'restart' },
          );
        }
        const changed = routed.setMap(map);
        await server.app.forgetLogs(changed);
        log.info({ config: c.configPath, moved: changed }, 'cluster map reloaded');
      })
      .catch((e: unknown) =>
        log.error(
          { err: e, code: (e as EvidentError).code, field: (e as EvidentError).details?.['field'] },
          'cluster map not reloaded: the previous placement stays',
        ),
      );
  };
  process.on('SIGHUP', reload);
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals | 'parent-exit') => {
      unwatch();
      process.off('SIGHUP', reload);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.once('SIGTERM', () => process.exit(130));
      process.once('SIGINT', () => process.exit(130));
      log.info({ signal }, 'shutting down: finishing requests in flight and pending commits');
      server.close().then(
        () => {
          log.info('stopped');
          resolve(EXIT_OK);
        },
        (e: unknown) => {
          log.error({ err: e }, 'shutdown failed');
          resolve(EXIT_INTERNAL);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    const unwatch = watchNpmParent(ctx.io.env, () => {
      log.warn('the npm process that started this server exited: shutting down as on SIGTERM');
      stop('parent-exit');
    });
  });
}
