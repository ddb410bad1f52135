/**
 * The alert store on SQLite and PostgreSQL: an alert key is raised once, a claimed delivery is
 * leased (two concurrent claims never return the same row), a delivered one is never claimed
 * again, a retry waits for its time; and server failures (witness, archive) become alerts
 * recorded as evident.alert events, one per window.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src/alerts/config.ts';
import { AlertRunner } from '../../src/alerts/runner.ts';
import { createKeyFile } from '../../src/ledger/keyfile.ts';
import { createLog, openLedger } from '../../src/ledger/open.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { dropSchema, PG_URL, probePostgres, randomName } from '../store/pg-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-alert-store-'));
const schemas: string[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

const alert = (key: string) => ({
  key,
  rule: 'failed_logins',
  log: 'default',
  subject: 'x',
  body: `{"id":"${key}"}`,
  createdAt: '2026-01-01T00:00:00.000Z',
});
const T0 = '2026-01-01T00:00:00.000Z';
const LEASE = '2026-01-01T00:02:00.000Z';

async function stores(): Promise<[string, () => Promise<FullStore>][]> {
  const out: [string, () => Promise<FullStore>][] = [
    ['sqlite', () => openStore(join(dir, `a-${randomName('')}.db`))],
  ];
  const unreachable = await probePostgres();
  if (unreachable === undefined) {
    out.push([
      'postgres',
      async () => {
        const schema = randomName('evident_alert_store_');
        schemas.push(schema);
        return openStore(`${PG_URL}?schema=${schema}`);
      },
    ]);
  } else if (process.env['CI'] === 'true') assert.fail(`PostgreSQL unreachable: ${unreachable}`);
  return out;
}

for (const [kind, open] of await stores()) {
  describe(`alert store (${kind})`, () => {
    it('raises a key once and leases, delivers and retries its deliveries', async () => {
      const s = await open();
      try {
        assert.equal(await s.raiseAlert(alert('k1'), ['webhook:a', 'syslog']), true);
        assert.equal(
          await s.raiseAlert(alert('k1'), ['webhook:a', 'syslog']),
          false,
          'a second raise is a no-op',
        );
        assert.equal(await s.raiseAlert(alert('k2'), ['webhook:a']), true);
        assert.equal(await s.alertQueueDepth(), 3);
        const [a, b] = await Promise.all([
          s.claimAlertDeliveries(T0, LEASE, 2),
          s.claimAlertDeliveries(T0, LEASE, 2),
        ]);
        const claimed = [...a, ...b].map((d) => `${d.key} ${d.sink}`);
        assert.equal(new Set(claimed).size, claimed.length, 'no delivery claimed twice');
        assert.equal(claimed.length, 3);
        assert.deepEqual(await s.claimAlertDeliveries(T0, LEASE, 10), [], 'leased');
        await s.alertDelivered('k1', 'webhook:a', T0);
        await s.alertRetry('k1', 'syslog', 1, '2026-01-01T00:00:05.000Z', 'refused');
        assert.equal(await s.alertQueueDepth(), 2);
        const later = await s.claimAlertDeliveries(
          '2026-01-01T00:00:06.000Z',
          '2026-01-01T00:03:00.000Z',
          10,
        );
        assert.deepEqual(
          later.map((d) => [d.key, d.sink, d.attempts]),
          [['k1', 'syslog', 1]],
        );
        const afterLease = await s.claimAlertDeliveries(
          '2026-01-01T00:10:00.000Z',
          '2026-01-01T00:12:00.000Z',
          10,
        );
        assert.ok(
          !afterLease.some((d) => d.key === 'k1' && d.sink === 'webhook:a'),
          'delivered: never again',
        );
      } finally {
        await s.close();
      }
    });

    it('turns witness and archive failures into evident.alert events, once per window', async () => {
      const s = await open();
      try {
        for (const name of ['default', 'other']) {
          const signer = await createKeyFile(join(dir, `${randomName('k')}.key`), `alerts.test/${name}`);
          await createLog(s, { name, origin: `alerts.test/${name}`, signer });
        }
        let now = new Date('2026-01-01T10:00:00.000Z');
        const runner = new AlertRunner({
          store: s,
          config: parseAlertsConfig({ sinks: { log: false } }),
          now: () => now,
          log: { info() {}, warn() {}, error() {} },
          failures: () => [
            { rule: 'witness_failure', log: '*', subject: 'w1', details: { failures: 3 } },
            { rule: 'archive_failure', log: 'other', subject: 'other', details: {} },
          ],
        });
        await runner.tick();
        now = new Date('2026-01-01T10:30:00.000Z');
        await runner.tick(); // same window: nothing new
        const count = async (log: string, rule: string) => {
          const info = (await s.getLog(log))!;
          return (await s.query(info.id, { action: 'evident.alert' })).filter(
            (e) => e.metadata?.['rule'] === rule,
          ).length;
        };
        assert.equal(await count('default', 'witness_failure'), 1, 'a witness alert in every log');
        assert.equal(await count('other', 'witness_failure'), 1);
        assert.equal(await count('other', 'archive_failure'), 1);
        assert.equal(await count('default', 'archive_failure'), 0);
        now = new Date('2026-01-01T11:00:00.000Z');
        await runner.tick(); // the next window: raised again while it lasts
        assert.equal(await count('other', 'archive_failure'), 2);
        await runner.stop();
      } finally {
        await s.close();
      }
    });
  });
}

describe('alert runner after a failed raise', () => {
  it('raises the alert on a later pass (the rules start afresh from the lookback)', async () => {
    const db = join(dir, `retry-${randomName('')}.db`);
    const key = join(dir, `${randomName('k')}.key`);
    const signer = await createKeyFile(key, 'alerts.test/default');
    const setupStore = await openStore(db);
    await createLog(setupStore, { name: 'default', origin: 'alerts.test/default', signer });
    await setupStore.close();
    const ledger = await openLedger({ db, key });
    const store = await openStore(db);
    let failures = 1;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === 'raiseAlert' && failures > 0) {
          return async () => {
            failures--;
            throw new Error('database away');
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const runner = new AlertRunner({
      store: flaky,
      config: parseAlertsConfig({ rules: { failed_logins: { threshold: 2 } }, sinks: { log: false } }),
      log: { info() {}, warn() {}, error() {} },
    });
    try {
      const ev = {
        actor_id: 'm',
        actor_type: 'user',
        ip_address: '10.0.0.9',
        action: 'login',
        resource_type: 'session',
        resource_id: 's',
        result: 'failure',
      };
      await ledger.appendMany([ev, ev].map((e, i) => ({ ...e, resource_id: `s${i}` })));
      await runner.tick();
      assert.ok(runner.lastError, 'the failed pass is reported');
      await runner.tick();
      assert.equal(runner.lastError, undefined);
      const info = (await store.getLog('default'))!;
      const alerts = await store.query(info.id, { action: 'evident.alert' });
      assert.equal(alerts.length, 1);
    } finally {
      await runner.stop();
      await ledger.close();
      await store.close();
    }
  });
});
