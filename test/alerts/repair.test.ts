/**
 * An alert raised is never left without its evident.alert event, on SQLite and PostgreSQL: when
 * the append fails after the alert row was committed (as a crash between the two would leave
 * it), the runner's next pass appends the event, exactly once per log, and later passes and
 * concurrent repairs add none.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src/alerts/config.ts';
import { ALERT_ACTION, alertEventId, appendAlertEvent } from '../../src/alerts/event.ts';
import { AlertRunner } from '../../src/alerts/runner.ts';
import { createKeyFile } from '../../src/ledger/keyfile.ts';
import { createLog } from '../../src/ledger/open.ts';
import { type FullStore, openStore } from '../../src/store/open.ts';
import { dropSchema, PG_URL, probePostgres, randomName } from '../store/pg-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-alert-repair-'));
const schemas: string[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const s of schemas) await dropSchema(s);
});

const quiet = { info() {}, warn() {}, error() {} };

async function stores(): Promise<[string, () => Promise<FullStore>][]> {
  const out: [string, () => Promise<FullStore>][] = [
    ['sqlite', () => openStore(join(dir, `r-${randomName('')}.db`))],
  ];
  const unreachable = await probePostgres();
  if (unreachable === undefined) {
    out.push([
      'postgres',
      async () => {
        const schema = randomName('evident_alert_repair_');
        schemas.push(schema);
        return openStore(`${PG_URL}?schema=${schema}`);
      },
    ]);
  } else if (process.env['CI'] === 'true') assert.fail(`PostgreSQL unreachable: ${unreachable}`);
  return out;
}

/**
 * Ten minutes into the next hour. Alert windows are aligned on the epoch (an hour at most): a
 * clock started here stays in one window for the minutes a test moves it, whenever it runs (a
 * clock started at the real time plus a minute crossed the top of the hour in a run that
 * started a minute or two before it, and raised the alert anew).
 */
const inOneWindow = (): number => Math.floor(Date.now() / 3_600_000) * 3_600_000 + 3_600_000 + 600_000;

async function withLogs(s: FullStore, names: string[]): Promise<void> {
  for (const name of names) {
    const signer = await createKeyFile(join(dir, `${randomName('k')}.key`), `alerts.test/${name}`);
    await createLog(s, { name, origin: `alerts.test/${name}`, signer });
  }
}

async function alertEvents(s: FullStore, log: string) {
  const info = (await s.getLog(log))!;
  return s.query(info.id, { action: ALERT_ACTION });
}

for (const [kind, open] of await stores()) {
  describe(`alert event repair (${kind})`, () => {
    it('appends the event an append failure left missing, once per log, on the next pass', async () => {
      const s = await open();
      try {
        await withLogs(s, ['default', 'other']);
        let broken = true;
        // The ledger cannot write while broken: raiseAlert commits the row, the append throws.
        const flaky = new Proxy(s, {
          get(target, prop) {
            if (prop === 'write' && broken) {
              return async () => {
                throw new Error('disk away');
              };
            }
            const v = Reflect.get(target, prop, target);
            return typeof v === 'function' ? v.bind(target) : v;
          },
        });
        let now = new Date(inOneWindow());
        const errors: string[] = [];
        const runner = new AlertRunner({
          store: flaky,
          config: parseAlertsConfig({ sinks: { log: false } }),
          now: () => now,
          log: { ...quiet, error: (_o: object, msg: string) => errors.push(msg) },
          failures: () => [
            { rule: 'witness_failure', log: '*', subject: 'w1', details: { failures: 3 } },
            { rule: 'archive_failure', log: 'other', subject: 'other', details: {} },
          ],
        });
        await runner.tick();
        assert.equal(errors.length, 3, 'three appends failed (witness in two logs, archive in one)');
        const rows = await s.alertsSince(new Date(0).toISOString(), 100);
        assert.equal(rows.length, 2, 'both alerts were raised');
        assert.equal((await alertEvents(s, 'default')).length, 0);
        assert.equal((await alertEvents(s, 'other')).length, 0);

        broken = false;
        now = new Date(now.getTime() + 60_000); // same window: nothing raised anew
        await runner.tick();
        assert.equal(runner.lastError, undefined);
        const d = await alertEvents(s, 'default');
        const o = await alertEvents(s, 'other');
        assert.deepEqual(d.map((e) => e.metadata?.['rule']).sort(), ['witness_failure']);
        assert.deepEqual(o.map((e) => e.metadata?.['rule']).sort(), ['archive_failure', 'witness_failure']);
        // The event is a function of the row: its timestamp is the raise, its id derived.
        for (const e of [...d, ...o]) {
          const row = rows.find((r) => JSON.parse(r.body).id === e.resource_id)!;
          assert.ok(row, 'the event names its alert');
          assert.equal(e.timestamp, row.createdAt);
          assert.equal(e.id, alertEventId(e.resource_id));
          assert.equal(e.metadata?.['subject'], row.subject);
        }

        await runner.tick();
        assert.equal(await runner.repair(), 0, 'a second repair appends nothing');
        assert.equal((await alertEvents(s, 'default')).length, 1);
        assert.equal((await alertEvents(s, 'other')).length, 2);
        await runner.stop();
      } finally {
        await s.close();
      }
    });

    it('writes nothing to a fenced log: its event waits, the other logs get theirs, and is recorded once the fence is gone', async () => {
      const s = await open();
      try {
        await withLogs(s, ['default', 'other']);
        let fenced = true;
        const at = inOneWindow();
        const warnings: Record<string, unknown>[] = [];
        const runner = new AlertRunner({
          store: s,
          config: parseAlertsConfig({ sinks: { log: false } }),
          now: () => new Date(at),
          log: { ...quiet, warn: (o: object) => warnings.push(o as Record<string, unknown>) },
          failures: () => [
            { rule: 'witness_failure', log: '*', subject: 'w1', details: { failures: 3 } },
            { rule: 'archive_failure', log: 'other', subject: 'other', details: {} },
          ],
          fenced: (log) => fenced && log === 'other',
        });
        const otherSize = async () => (await s.head((await s.getLog('other'))!.id)).size;
        const before = await otherSize();
        await runner.tick();
        assert.equal(
          (await s.alertsSince(new Date(0).toISOString(), 100)).length,
          2,
          'both alerts were raised',
        );
        assert.equal((await alertEvents(s, 'default')).length, 1, 'the unfenced log got its event');
        assert.equal(await otherSize(), before, 'nothing was appended to the fenced log');
        assert.equal(
          warnings.filter((w) => w['log'] === 'other').length,
          2,
          'each waiting event is logged, naming the log',
        );
        assert.equal(await runner.repair(), 0, 'the repair pass skips the fenced log too');
        assert.equal(await otherSize(), before);
        fenced = false; // the log put back (a new process): the waiting events are recorded, once
        assert.equal(await runner.repair(), 2);
        assert.deepEqual((await alertEvents(s, 'other')).map((e) => e.metadata?.['rule']).sort(), [
          'archive_failure',
          'witness_failure',
        ]);
        assert.equal(await runner.repair(), 0);
        await runner.stop();
      } finally {
        await s.close();
      }
    });

    it('repairs an alert row left by a crashed process once, even with two repairs at once', async () => {
      const s = await open();
      try {
        await withLogs(s, ['default']);
        const now = new Date();
        const createdAt = new Date(now.getTime() - 60_000).toISOString();
        const key = 'failed_logins|default|mallory|2026-01-01T00:00:00.000Z';
        const body = {
          id: 'a'.repeat(32),
          rule: 'failed_logins',
          log: 'default',
          subject: 'mallory',
          window: 'w',
          count: 5,
          details: {},
          raised_at: createdAt,
        };
        assert.equal(
          await s.raiseAlert(
            {
              key,
              rule: 'failed_logins',
              log: 'default',
              subject: 'mallory',
              body: JSON.stringify(body),
              createdAt,
            },
            [],
          ),
          true,
        );
        // An alert older than the lookback is not looked at: the window bounds each pass.
        const old = new Date(now.getTime() - 30 * 86_400_000).toISOString();
        await s.raiseAlert(
          { key: 'old', rule: 'failed_logins', log: 'default', subject: 'x', body: '{}', createdAt: old },
          [],
        );
        const mk = () =>
          new AlertRunner({
            store: s,
            config: parseAlertsConfig({ sinks: { log: false } }),
            now: () => now,
            log: quiet,
          });
        const [a, b] = [mk(), mk()];
        const added = await Promise.all([a.repair(), b.repair()]);
        assert.equal(added[0] + added[1], 1, 'one of the two repairs wrote it');
        const events = await alertEvents(s, 'default');
        assert.equal(events.length, 1);
        assert.equal(events[0]!.timestamp, createdAt);
        assert.equal(events[0]!.metadata?.['subject'], 'mallory');
        assert.equal(await a.repair(), 0);
        assert.equal((await alertEvents(s, 'default')).length, 1);
      } finally {
        await s.close();
      }
    });

    it('answers a re-sent alert event with its receipt, and a different content with ID_CONFLICT', async () => {
      const s = await open();
      try {
        await withLogs(s, ['default']);
        const info = (await s.getLog('default'))!;
        const at = new Date().toISOString();
        const meta = { rule: 'failed_logins', subject: 'm' };
        const first = await appendAlertEvent(s, info, 'b'.repeat(32), at, meta, () => new Date());
        const again = await appendAlertEvent(s, info, 'b'.repeat(32), at, meta, () => new Date());
        assert.equal(first.duplicate, undefined);
        assert.equal(again.duplicate, true);
        assert.equal(again.index, first.index);
        await assert.rejects(
          appendAlertEvent(s, info, 'b'.repeat(32), at, { ...meta, subject: 'n' }, () => new Date()),
          (e: { code?: string }) => e.code === 'ID_CONFLICT',
        );
        assert.equal((await alertEvents(s, 'default')).length, 1);
      } finally {
        await s.close();
      }
    });
  });
}
