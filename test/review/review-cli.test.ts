/**
 * The periodic review as the built CLI runs it on real SQLite files: evident report (JSON counts
 * equal to what was appended, CSV read back with a strict RFC 4180 parser, a tampered log shown
 * failing, period errors), review sign/list (the sign-off event, the reviewer's cosignature
 * checked with the witness code) and evident doctor (a fresh log, a configured one, a dropped
 * trigger).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { appendLedgerEvent } from '../../src/archive/ledger-events.ts';
import { checkWitnessQuorum } from '../../src/core/witness-policy.ts';
import { reviewStatus, type SignOff } from '../../src/review/signoff.ts';
import { openStore } from '../../src/store/open.ts';
import { copyLog, ensureBuilt, errorOf, lines, removeTempDirs, run, tempDir } from '../cli/helpers.ts';

const ev = (o: Record<string, unknown>) => ({
  actor_id: 'alice',
  actor_type: 'user',
  action: 'read',
  resource_type: 'patient_record',
  resource_id: 'p-1',
  result: 'success',
  ip_address: '10.0.0.7',
  ...o,
});

/** 2026-11-02 is a Monday, 2026-11-07 a Saturday. */
const EVENTS = [
  ev({ timestamp: '2026-11-02T10:00:00Z' }),
  ev({ timestamp: '2026-11-02T11:00:00Z', actor_id: 'bob' }),
  ev({ timestamp: '2026-11-02T23:30:00Z', actor_id: 'bob', action: 'login', result: 'failure' }),
  ev({ timestamp: '2026-11-07T12:00:00Z', actor_id: 'carol', result: 'denied' }),
  ev({
    timestamp: '2026-11-03T09:00:00Z',
    actor_id: 'key-1',
    actor_type: 'service',
    action: 'audit_log.query',
    resource_type: 'audit_log',
    resource_id: 'default',
  }),
  // Outside the period: counted nowhere.
  ev({ timestamp: '2026-10-31T10:00:00Z', actor_id: 'dave' }),
  ev({ timestamp: '2026-12-01T10:00:00Z', actor_id: 'dave', result: 'failure' }),
  // A value that a spreadsheet would run as a formula.
  ev({ timestamp: '2026-11-04T10:00:00Z', actor_id: '=HYPERLINK("x")', resource_id: 'a,"b"' }),
];

let dir: string;
before(async () => {
  ensureBuilt();
  dir = tempDir();
  assert.equal((await run(['init', '--origin', 'test.example/default'], { cwd: dir })).code, 0);
  assert.equal((await run(['append'], { cwd: dir, input: lines(EVENTS) })).code, 0);
  // An alert as the ledger writes it (the action is reserved for the ledger).
  const store = await openStore(join(dir, 'evident.db'));
  try {
    const log = (await store.getLog('default'))!;
    await appendLedgerEvent(
      store,
      log,
      {
        action: 'evident.alert',
        resource_type: 'alert',
        resource_id: 'failed-logins',
        metadata: { rule: 'x' },
      },
      () => new Date('2026-11-05T10:00:00Z'),
    );
  } finally {
    await store.close();
  }
  assert.equal((await run(['checkpoint'], { cwd: dir })).code, 0);
});
after(removeTempDirs);

/** RFC 4180, strictly: quoted fields double their quotes, no bare quote in an unquoted field, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const row: string[] = [];
    for (;;) {
      let cell = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field');
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else cell += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`bare quote at ${i}`);
          cell += text[i++];
        }
      }
      row.push(cell);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text.slice(i, i + 2) !== '\r\n') throw new Error(`row not ended by CRLF at ${i}`);
      i += 2;
      break;
    }
    rows.push(row);
  }
  return rows;
}

describe('evident report', () => {
  it('counts what was appended in the period (JSON)', async () => {
    const r = await run(['report', '--period', '2026-11', '--format', 'json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.verification.ok, true);
    assert.equal(rep.checkpoint.size, 9);
    assert.deepEqual(rep.checkpoint.signed_by, ['test.example/default']);
    const f = rep.figures;
    assert.equal(f.entries, 7);
    assert.deepEqual(f.by_result, { success: 5, failure: 1, denied: 1 });
    assert.equal(f.by_action.read, 4);
    assert.equal(f.by_action.login, 1);
    assert.equal(f.by_action['audit_log.query'], 1);
    assert.equal(f.by_action['evident.alert'], 1);
    assert.deepEqual(f.by_actor_type, { user: 5, service: 1, system: 1 });
    assert.deepEqual(f.top_actors[0], { actor_id: 'bob', actor_type: 'user', count: 2 });
    assert.equal(f.failures.count, 1);
    assert.equal(f.failures.latest[0].actor_id, 'bob');
    assert.equal(f.denials.count, 1);
    assert.equal(f.denials.latest[0].actor_id, 'carol');
    // 23:30 on a Monday and noon on a Saturday are after hours (08:00-18:00, mon-fri, UTC).
    assert.deepEqual(f.after_hours.latest.map((e: { index: number }) => e.index).sort(), [2, 3]);
    assert.equal(f.alerts.count, 1);
    assert.equal(f.audit_log_access.count, 1);
    assert.deepEqual(
      f.per_day.map((d: { day: string; total: number }) => [d.day, d.total]),
      [
        ['2026-11-02', 3],
        ['2026-11-03', 1],
        ['2026-11-04', 1],
        ['2026-11-05', 1],
        ['2026-11-07', 1],
      ],
    );
  });

  it('takes the working hours and time zone from flags', async () => {
    const r = await run(
      [
        'report',
        '--period',
        '2026-11',
        '--format',
        'json',
        '--work-hours',
        '00:00-24:00',
        '--work-days',
        'mon-sun',
      ],
      { cwd: dir },
    );
    assert.equal(JSON.parse(r.stdout).figures.after_hours.count, 0);
    // 10:00Z in Asia/Tokyo is 19:00: after hours.
    const t = await run(
      ['report', '--period', '2026-11-02', '--format', 'json', '--time-zone', 'Asia/Tokyo'],
      {
        cwd: dir,
      },
    );
    assert.equal(JSON.parse(t.stdout).figures.after_hours.count, 2);
    const bad = await run(['report', '--period', '2026-11', '--time-zone', 'Mars/Base', '--json'], {
      cwd: dir,
    });
    assert.equal(bad.code, 2);
    assert.equal(errorOf(bad).code, 'USAGE');
  });

  it('refuses periods that do not exist, naming --period', async () => {
    for (const p of ['2026-13', '2026-02-30', '2026-00', 'november', '2026-11-31']) {
      const r = await run(['report', '--period', p, '--json'], { cwd: dir });
      assert.equal(r.code, 2, p);
      const e = errorOf(r);
      assert.equal(e.code, 'USAGE');
      assert.equal(e.field, '--period', p);
    }
    const r = await run(['report', '--from', '2026-11-05', '--to', '2026-11-01', '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).field, '--to');
    const range = await run(['report', '--from', '2026-11-02', '--to', '2026-11-02', '--format', 'json'], {
      cwd: dir,
    });
    assert.equal(JSON.parse(range.stdout).figures.entries, 3);
  });

  it('writes CSV that a strict RFC 4180 parser reads back, formulas neutralised', async () => {
    const r = await run(['report', '--period', '2026-11', '--format', 'csv'], { cwd: dir });
    assert.equal(r.code, 0);
    const rows = parseCsv(r.stdout);
    assert.deepEqual(rows[0], ['section', 'key', 'value', 'detail']);
    for (const row of rows) assert.equal(row.length, 4);
    assert.deepEqual(
      rows.find((x) => x[0] === 'by_result' && x[1] === 'failure'),
      ['by_result', 'failure', '1', ''],
    );
    const actor = rows.find((x) => x[0] === 'top_actors' && x[1]?.includes('HYPERLINK'));
    assert.equal(actor?.[1], `'=HYPERLINK("x")`);
    assert.ok(!rows.some((x) => x.some((c) => /^[=+@]/.test(c))));
  });

  it('writes a self-contained HTML file with --out, and refuses to overwrite it', async () => {
    const out = join(dir, 'r.html');
    const r = await run(['report', '--period', '2026-11', '--out', out], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<svg id="chart-volume"/);
    assert.match(html, /@media print/);
    assert.doesNotMatch(html, /<script|<link|src=|https?:\/\//);
    const again = await run(['report', '--period', '2026-11', '--out', out, '--json'], { cwd: dir });
    assert.equal(again.code, 2);
  });

  it('shows a tampered log failing verification', async () => {
    const copy = copyLog(dir);
    const db = new Database(join(copy, 'evident.db'));
    const triggers = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
      .pluck()
      .all() as string[];
    db.exec('DROP TRIGGER IF EXISTS entries_no_update; DROP TRIGGER IF EXISTS entries_prune_only');
    const cols = db.prepare('PRAGMA table_info(entries)').all() as { name: string }[];
    const col = cols.some((c) => c.name === 'actor_id') ? 'actor_id' : undefined;
    if (col) db.exec(`UPDATE entries SET actor_id = 'mallory' WHERE idx = 0`);
    else db.exec(`UPDATE entries SET json = replace(json, 'alice', 'mallor') WHERE idx = 0`);
    const left = new Set(db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'").pluck().all());
    for (const sql of triggers) if (!left.has(sql)) db.exec(sql);
    db.close();
    const r = await run(['report', '--period', '2026-11', '--format', 'json'], { cwd: copy });
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.verification.ok, false);
    assert.equal(rep.verification.first_bad_index, 0);
    const html = await run(['report', '--period', '2026-11'], { cwd: copy });
    assert.match(html.stdout, /VERIFICATION FAILED/);
  });
});

describe('evident review sign and list', () => {
  it('records the sign-off with the report hash and checkpoint, cosigned by the reviewer', async () => {
    const copy = copyLog(dir);
    const report = join(copy, 'r.json');
    writeFileSync(report, '{"a":1}\n');
    const init = await run(['witness', 'init', '--name', 'reviewer.example/alice', '--key', 'rev.key'], {
      cwd: copy,
    });
    assert.equal(init.code, 0, init.stderr);
    const vkey = init.stdout.trim();
    const r = await run(
      [
        'review',
        'sign',
        '--period',
        '2026-11',
        '--reviewer',
        'alice',
        '--note',
        'no findings',
        '--report',
        report,
        '--reviewer-key',
        'rev.key',
        '--json',
      ],
      { cwd: copy },
    );
    assert.equal(r.code, 0, r.stderr);
    const off = JSON.parse(r.stdout) as SignOff;
    assert.equal(off.report_sha256, createHash('sha256').update('{"a":1}\n').digest('hex'));
    assert.equal(off.checkpoint.size, 9);
    assert.equal(off.cosignature!.vkey, vkey);
    const q = checkWitnessQuorum(`${off.checkpoint.note}${off.cosignature!.line}\n`, [vkey], 1);
    assert.equal(q.met, true);
    // A line for another checkpoint does not verify.
    const other = off.checkpoint.note.replace(/\n9\n/, '\n8\n');
    assert.throws(() => checkWitnessQuorum(`${other}${off.cosignature!.line}\n`, [vkey], 1));
    // The event is in the log, written by the ledger, and the log still verifies.
    const q2 = await run(['query', '--action', 'evident.review.signed', '--json'], { cwd: copy });
    const ev0 = JSON.parse(q2.stdout.trim().split('\n')[0]!);
    assert.equal(ev0.metadata.report_sha256, off.report_sha256);
    assert.equal(ev0.metadata.checkpoint.size, 9);
    assert.equal((await run(['verify'], { cwd: copy })).code, 0);
    const list = await run(['review', 'list', '--json'], { cwd: copy });
    assert.equal(list.code, 0);
    assert.equal(JSON.parse(list.stdout).up_to_date, true);
  });

  it('refuses a sign-off without a reviewer or with a period that does not exist', async () => {
    const r = await run(['review', 'sign', '--period', '2026-11', '--note', 'x', '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(errorOf(r).field, '--reviewer');
    const p = await run(
      ['review', 'sign', '--period', '2026-13', '--reviewer', 'a', '--note', 'x', '--json'],
      {
        cwd: dir,
      },
    );
    assert.equal(errorOf(p).field, '--period');
    const c = await run(['review', 'list', '--cadence', 'weekly', '--json'], { cwd: dir });
    assert.equal(errorOf(c).field, '--cadence');
  });

  it('lists overdue periods under each cadence', () => {
    const off = (period: string, index: number) => ({ period, index }) as SignOff;
    const now = new Date('2026-12-02T09:00:00Z');
    const monthly = reviewStatus('2026-09-15T00:00:00Z', [off('2026-10', 5)], 'soc2', now);
    assert.deepEqual(
      monthly.periods.map((p) => [p.period, p.reviewed]),
      [
        ['2026-11', false],
        ['2026-10', true],
        ['2026-09', false],
      ],
    );
    assert.deepEqual(monthly.overdue, ['2026-11', '2026-09']);
    assert.equal(monthly.up_to_date, false);
    const daily = reviewStatus(
      '2026-11-29T12:00:00Z',
      [off('2026-11-30', 7), off('2026-12-01', 8)],
      'pci-dss',
      now,
    );
    assert.deepEqual(daily.overdue, ['2026-11-29']);
    assert.equal(reviewStatus('2026-12-01T00:00:00Z', [], 'hipaa', now).up_to_date, true);
  });
});

interface Doctor {
  checks: { id: string; status: string; reason: string; fix: string }[];
}
const statusOf = (d: Doctor) => Object.fromEntries(d.checks.map((c) => [c.id, c.status]));

describe('evident doctor', () => {
  it('fails a fresh log on retention, alerts and archive; passes once they are configured', async () => {
    const d = tempDir();
    await run(['init'], { cwd: d });
    const fresh = await run(['doctor', '--json'], { cwd: d });
    assert.equal(fresh.code, 2);
    const doc = JSON.parse(fresh.stdout) as Doctor;
    for (const c of doc.checks) {
      assert.deepEqual(Object.keys(c), ['id', 'status', 'reason', 'fix']);
      assert.ok(['pass', 'warn', 'fail'].includes(c.status));
    }
    const s = statusOf(doc);
    assert.equal(s['retention'], 'fail');
    assert.equal(s['alerts'], 'fail');
    assert.equal(s['archive'], 'fail');
    assert.equal(s['worm-archive'], 'warn');
    assert.equal(s['append-only'], 'pass');
    assert.equal(s['reviews'], 'pass');
    assert.equal(s['required-fields'], 'warn');

    await run(['append'], {
      cwd: d,
      input: lines([ev({}), ev({ action: 'audit_log.query', resource_type: 'audit_log' })]),
    });
    assert.equal((await run(['retention', 'set', 'pci-dss'], { cwd: d })).code, 0);
    const t = await run(['archive', 'target', 'add', `file://${join(d, 'archive')}`], { cwd: d });
    assert.equal(t.code, 0, t.stderr);
    await run(['checkpoint'], { cwd: d });
    writeFileSync(
      join(d, 'evident.json'),
      JSON.stringify({ alerts: { webhooks: ['https://hooks.example/a'] } }),
    );
    const ok = await run(['doctor', '--json', '--config', 'evident.json', '--regulation', 'pci-dss'], {
      cwd: d,
    });
    const s2 = statusOf(JSON.parse(ok.stdout));
    assert.equal(ok.code, 0, ok.stdout);
    for (const id of [
      'required-fields',
      'tamper-evidence',
      'append-only',
      'centralised',
      'retention',
      'alerts',
      'reviews',
      'log-access-audited',
      'archive',
    ])
      assert.equal(s2[id], 'pass', id);
    // soc2's one-year archive does not meet hipaa's six years.
    const hipaa = await run(['doctor', '--json', '--config', 'evident.json', '--regulation', 'hipaa'], {
      cwd: d,
    });
    assert.equal(statusOf(JSON.parse(hipaa.stdout))['retention'], 'fail');
    assert.equal(hipaa.code, 2);
    const bad = await run(['doctor', '--regulation', 'sox', '--json'], { cwd: d });
    assert.equal(errorOf(bad).field, '--regulation');
  });

  it('fails append-only when a trigger was dropped', async () => {
    const copy = copyLog(dir);
    const db = new Database(join(copy, 'evident.db'));
    const name = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' LIMIT 1")
      .pluck()
      .get() as string;
    db.exec(`DROP TRIGGER ${name}`);
    db.close();
    const r = await run(['doctor', '--json'], { cwd: copy });
    assert.equal(r.code, 2);
    const c = (JSON.parse(r.stdout) as Doctor).checks.find((x) => x.id === 'append-only')!;
    assert.equal(c.status, 'fail');
    assert.match(c.reason, new RegExp(name));
  });
});
