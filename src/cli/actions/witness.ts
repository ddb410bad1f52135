/**
 * evident witness: loads the cosigner key and the logs to witness (a C2SP tlog-policy file),
 * records each log in the witness's state, and serves add-checkpoint until SIGTERM or SIGINT
 * (then it finishes the requests in flight, within a grace period, and closes the store).
 * evident witness init: creates the cosigner key file and prints its verifier key.
 */
import { formatCosignerKey } from '../../core/cosignature.ts';
import { assertKeyName } from '../../core/note-keys.ts';
import { parseWitnessPolicy } from '../../core/witness-policy.ts';
import { createKeyFile, loadWitnessKey } from '../../ledger/keyfile.ts';
import { DEFAULTS } from '../../server/options.ts';
import { trustedLogs, Witness } from '../../server/witness/add-checkpoint.ts';
import { startWitnessServer } from '../../server/witness/http.ts';
import type { Context } from '../command.ts';
import { WITNESS_DEFAULT_DB, WITNESS_DEFAULT_KEY, WITNESS_DEFAULT_PORT } from '../defaults.ts';
import { EXIT_OK, usageError } from '../errors.ts';
import { readUserFile } from '../files.ts';
import { str } from '../globals.ts';
import { openStoreAt } from '../open-log.ts';
import { print, printJson } from '../output.ts';

export async function init(ctx: Context): Promise<number> {
  const name = str(ctx, 'name');
  if (name === undefined) throw usageError('--name is required: the witness name (its key name)', '--name');
  try {
    assertKeyName(name);
  } catch {
    throw usageError('--name must be non-empty, without spaces, "+" or control characters', '--name');
  }
  const path = str(ctx, 'key') ?? WITNESS_DEFAULT_KEY;
  const signer = await createKeyFile(path, name);
  const vkey = formatCosignerKey(name, signer.publicKey);
  if (ctx.json) printJson(ctx, { vkey, key: path });
  else print(ctx, vkey);
  return EXIT_OK;
}

function port(ctx: Context): number {
  const text = str(ctx, 'port') ?? String(WITNESS_DEFAULT_PORT);
  const n = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 65535))
    throw usageError(`--port must be a whole number from 0 to 65535, not "${text}"`, '--port');
  return n;
}

export async function run(ctx: Context): Promise<number> {
  const configPath = str(ctx, 'config');
  if (configPath === undefined) throw usageError('--config is required: the logs to witness', '--config');
  const policy = parseWitnessPolicy(await readUserFile(configPath, '--config'), { requireQuorum: false });
  if (policy.logs.length === 0) throw usageError(`--config: ${configPath} lists no log`, '--config');
  const key = await loadWitnessKey(str(ctx, 'key') ?? WITNESS_DEFAULT_KEY);
  const host = str(ctx, 'host') ?? DEFAULTS.host;
  const listenPort = port(ctx);
  const store = await openStoreAt(str(ctx, 'db') ?? WITNESS_DEFAULT_DB, { readonly: false, create: true });
  const out = ctx.io.stdout as { write(s: string): void };
  const log = (line: Record<string, unknown>) =>
    out.write(`${JSON.stringify({ time: Date.now(), ...line })}\n`);
  try {
    for (const l of policy.logs) {
      if (
        await store.recordWitnessedLog({ origin: l.origin, vkey: l.vkey, addedAt: ctx.now().toISOString() })
      ) {
        log({ msg: 'log added to the witnessed logs', origin: l.origin, vkey: l.vkey });
      }
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  const witness = new Witness(store, trustedLogs(policy), { name: key.name, seed: key.seed });
  let server: Awaited<ReturnType<typeof startWitnessServer>>;
  try {
    server = await startWitnessServer({ witness, log }, { host, port: listenPort });
  } catch (e) {
    await store.close();
    throw usageError(`cannot listen on ${host}:${listenPort}: ${(e as Error).message}`, '--port');
  }
  log({
    msg: `witness listening at ${server.url}`,
    vkey: formatCosignerKey(key.name, witness.publicKey),
    logs: policy.logs.map((l) => l.origin),
  });
  return new Promise<number>((resolve) => {
    // Idle connections close at once, requests in flight are finished, and those still open after
    // the grace period are cut (../../server/witness/http.ts). A second signal exits at once.
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.once('SIGTERM', () => process.exit(130));
      process.once('SIGINT', () => process.exit(130));
      server
        .close()
        .then(() => store.close())
        .then(
          () => resolve(EXIT_OK),
          () => resolve(EXIT_OK),
        );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
