/**
 * Alerts in real `evident serve` processes: a hostile config exits 2 naming the field; a bad
 * config on SIGHUP is logged and the old one stays; an alert queued for a webhook that is down
 * survives kill -9 and is delivered once after the restart; and three processes on one
 * PostgreSQL raise a rule once (one evident.alert event, one webhook request).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/open.ts';
import type { AlertStore } from '../../src/store/types.ts';
import { ensureBuilt, removeTempDirs, run, tempDir } from '../cli/helpers.ts';
import {
  initLogs,
  killAll,
  type Served,
  startServe,
  stopServe,
  verifyLog,
  withSchema,
} from '../server/cluster.ts';
import { event } from '../server/helpers.ts';
import { dropSchema, PG_URL, probePostgres, randomName } from '../store/pg-support.ts';
import { type Receiver, startReceiver, until } from './receivers.ts';

const SECRET = 'whsec-serve';

function config(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    alerts: {
      pollMs: 100,
      rules: { failed_logins: { threshold: 3, windowSeconds: 3600 } },
      sinks: { webhooks: [{ name: 'ops', url, secret: SECRET, timeoutMs: 1000 }] },
      ...extra,
    },
  };
}

async function failLogins(s: Served, key: string, actor: string, n: number): Promise<void> {
  const events = Array.from({ length: n }, () =>
    event({ actor_id: actor, action: 'login', result: 'failure' }),
  );
  const r = await fetch(`${s.url}/v1/logs/default/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  assert.equal(r.status, 201, await r.text());
}

async function alertEvents(db: string): Promise<number> {
  const store = await openStore(db, { readonly: true });
  try {
    const log = (await store.getLog('default'))!;
    return (await store.query(log.id, { action: 'evident.alert' })).length;
  } finally {
    await store.close();
  }
}

describe('alerts in evident serve', () => {
  let dir: string;
  const receivers: Receiver[] = [];
  before(() => {
    ensureBuilt();
    dir = tempDir();
  });
  after(async () => {
    killAll();
    for (const r of receivers) await r.close();
    removeTempDirs();
  });

  it('refuses a hostile alerts config at startup (exit 2, the field named)', async () => {
    const cases: [unknown, string, string][] = [
      [{ alerts: { rules: { nope: {} } } }, 'alerts.rules.nope', 'unknown'],
      [
        { alerts: { rules: { failed_logins: { threshold: 'five' } } } },
        'alerts.rules.failed_logins.threshold',
        'range',
      ],
      [
        { alerts: { rules: { off_hours: { timeZone: 'Mars/Olympus' } } } },
        'alerts.rules.off_hours.timeZone',
        'format',
      ],
      [
        { alerts: { sinks: { webhooks: [{ url: 'ftp://x/y', secret: 's' }] } } },
        'alerts.sinks.webhooks[0].url',
        'url',
      ],
      [
        { alerts: { sinks: { webhooks: [{ url: 'https://x/y' }] } } },
        'alerts.sinks.webhooks[0].secret',
        'required',
      ],
      [{ alerts: { sinks: { syslog: { host: 'h', port: 99999 } } } }, 'alerts.sinks.syslog.port', 'range'],
      [{ alerts: { pollMs: true } }, 'alerts.pollMs', 'range'],
    ];
    for (const [i, [cfg, field, rule]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, JSON.stringify(cfg));
      const r = await run(['serve', '--config', file, '--db', join(dir, 'none.db'), '--json'], { cwd: dir });
      assert.equal(r.code, 2, `${field}: ${r.stdout}${r.stderr}`);
      const err = JSON.parse(r.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
      assert.equal(err['code'], 'USAGE');
      assert.equal(err['field'], field);
      assert.equal(err['rule'], rule);
    }
  });

  it('delivers an alert queued before kill -9 once after the restart; a bad SIGHUP config keeps the old one', async () => {
    const db = join(dir, 'audit.db');
    const { keyFile, ingestKey } = await initLogs(dir, db, ['default'], 'alerts.test');
    const hook = await startReceiver(SECRET);
    receivers.push(hook);
    const port = hook.port;
    await hook.close(); // down
    const file = join(dir, 'serve.json');
    writeFileSync(file, JSON.stringify(config(`http://127.0.0.1:${port}/hook`)));
    let s = await startServe({ name: 'serve-a', cwd: dir, db, key: keyFile, args: ['--config', file] });
    await failLogins(s, ingestKey, 'mallory', 3);
    await until(async () => (await alertEvents(db)) === 1);
    // The process log sink: one pino JSON line with the alert.
    await until(() => /"msg":"alert: failed_logins mallory"/.test(s.tail()));
    const line = s
      .tail()
      .split('\n')
      .find((l) => l.includes('"msg":"alert: failed_logins mallory"'))!;
    const logged = JSON.parse(line) as {
      level: number;
      alert: { rule: string; subject: string; count: number };
    };
    assert.equal(logged.level, 40);
    assert.deepEqual(
      [logged.alert.rule, logged.alert.subject, logged.alert.count],
      ['failed_logins', 'mallory', 3],
    );
    // A bad config on SIGHUP: logged, the old one stays.
    writeFileSync(file, JSON.stringify({ alerts: { rules: { failed_logins: { threshold: -1 } } } }));
    s.child.kill('SIGHUP');
    await until(() => /alerts not reloaded/.test(s.tail()));
    assert.match(s.tail(), /alerts\.rules\.failed_logins\.threshold/);
    s.child.kill('SIGKILL');
    await s.exit;
    const store = (await openStore(db, { readonly: true })) as Awaited<ReturnType<typeof openStore>> &
      AlertStore;
    assert.equal(await store.alertQueueDepth(), 1, 'queued, not lost');
    await store.close();
    const up = await startReceiver(SECRET, port);
    receivers.push(up);
    writeFileSync(file, JSON.stringify(config(`http://127.0.0.1:${port}/hook`)));
    s = await startServe({ name: 'serve-b', cwd: dir, db, key: keyFile, args: ['--config', file] });
    await until(() => up.alerts.size === 1);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(up.requests.length, 1, 'sent once, not again');
    assert.ok(up.requests[0]!.verified);
    // The restart replayed the window: the alert is not raised a second time.
    assert.equal(await alertEvents(db), 1);
    // SIGHUP with a good config is taken.
    s.child.kill('SIGHUP');
    await until(() => /alerts reloaded/.test(s.tail()));
    assert.equal((await stopServe(s)).code, 0);
    // The log with its evident.alert event still verifies end to end.
    const v = await verifyLog(dir, db, keyFile, 'default');
    assert.equal(v.code, 0, v.out);
    assert.equal(v.report?.ok, true);
  });

  it('three processes on one PostgreSQL raise a rule once', async (t) => {
    const unreachable = await probePostgres();
    if (unreachable !== undefined) {
      if (process.env['CI'] === 'true') assert.fail(`PostgreSQL unreachable: ${unreachable}`);
      t.skip(`PostgreSQL unreachable: ${unreachable}`);
      return;
    }
    const schema = randomName('evident_alerts_');
    t.after(() => dropSchema(schema));
    const db = withSchema(PG_URL, schema);
    const pgDir = tempDir();
    const { keyFile, ingestKey } = await initLogs(pgDir, db, ['default'], 'alerts.test');
    const hook = await startReceiver(SECRET);
    receivers.push(hook);
    const file = join(pgDir, 'serve.json');
    writeFileSync(file, JSON.stringify(config(hook.url)));
    const servers = await Promise.all(
      [0, 1, 2].map((i) =>
        startServe({ name: `pg-${i}`, cwd: pgDir, db, key: keyFile, args: ['--config', file] }),
      ),
    );
    // The failures spread over the three processes: each sees all of them in the database.
    for (const [i, s] of servers.entries()) await failLogins(s, ingestKey, 'mallory', i === 0 ? 2 : 1);
    await until(() => hook.alerts.size === 1);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(hook.requests.length, 1, 'one webhook request');
    assert.equal(await alertEvents(db), 1, 'one evident.alert event');
    for (const s of servers) assert.equal((await stopServe(s)).code, 0);
    const v = await verifyLog(pgDir, db, keyFile, 'default');
    assert.equal(v.code, 0, v.out);
  });
});
