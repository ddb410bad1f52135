import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../../src/core/event/entry.ts';
import { createKeyFile, createLog, type Ledger, openLedger } from '../../src/ledger/index.ts';
import { exportRecords } from '../../src/ledger/record-export.ts';
import { cefHeaderEscape, toCef } from '../../src/ledger/siem/cef.ts';
import { CSV_COLUMNS, csvCell, csvFormat } from '../../src/ledger/siem/csv.ts';
import { ERASED } from '../../src/ledger/siem/fields.ts';
import { apiActivity, loginActivity, toOcsf } from '../../src/ledger/siem/ocsf.ts';
import { octetCounted, SD_ID, toSyslog } from '../../src/ledger/siem/syslog.ts';
import { openStore } from '../../src/store/open.ts';
import { validate } from './ocsf-validator.ts';
import { ERASURE_KEY } from './support.ts';

const schema = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/ocsf/${name}.schema.json`, import.meta.url), 'utf8'));
const SCHEMAS: Record<number, Record<string, unknown>> = {
  6003: schema('api_activity'),
  3002: schema('authentication'),
};

// ---- strict parsers, written for the test from the specifications ----

/** CEF: 7 header fields split on unescaped `|` (escapes `\|`, `\\` only), then key=value pairs. */
function parseCef(line: string): { header: string[]; ext: Record<string, string> } {
  assert.ok(!/[\r\n]/.test(line), 'a CEF record is one line');
  const header: string[] = [];
  let i = 0;
  let cur = '';
  while (header.length < 7) {
    const c = line[i];
    if (c === undefined) throw new Error('CEF header ends early');
    if (c === '\\') {
      const n = line[i + 1];
      if (n !== '|' && n !== '\\') throw new Error(`bad header escape \\${n}`);
      cur += n;
      i += 2;
    } else if (c === '|') {
      header.push(cur);
      cur = '';
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  const rest = line.slice(i);
  // positions of unescaped '='
  const eqs: number[] = [];
  for (let j = 0; j < rest.length; j++) {
    if (rest[j] === '\\') {
      if (!'\\=nr'.includes(rest[j + 1] ?? '')) throw new Error(`bad extension escape \\${rest[j + 1]}`);
      j++;
    } else if (rest[j] === '=') eqs.push(j);
  }
  const ext: Record<string, string> = {};
  const keyStart = (eq: number) => {
    const k = /[A-Za-z0-9]+$/.exec(rest.slice(0, eq));
    if (!k) throw new Error('an extension key is missing');
    return eq - k[0].length;
  };
  for (let n = 0; n < eqs.length; n++) {
    const eq = eqs[n]!;
    const ks = keyStart(eq);
    if (ks !== 0 && rest[ks - 1] !== ' ') throw new Error('keys are separated by a space');
    const end = n + 1 < eqs.length ? keyStart(eqs[n + 1]!) - 1 : rest.length;
    const raw = rest.slice(eq + 1, end);
    ext[rest.slice(ks, eq)] = raw.replace(/\\([\\=nr])/g, (_, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c,
    );
  }
  return { header, ext };
}

/** RFC 5424: header, one SD-ELEMENT (values escape `"`, `\`, `]` only), then BOM and MSG. */
function parseSyslog(line: string) {
  const m = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[/.exec(line);
  if (!m) throw new Error('not an RFC 5424 header');
  assert.match(m[2]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
  for (const f of [m[3]!, m[4]!, m[5]!, m[6]!]) assert.match(f, /^[\x21-\x7e]+$/);
  assert.ok(m[6]!.length <= 32);
  let i = m[0].length;
  const idEnd = line.indexOf(' ', i);
  const sdId = line.slice(i, idEnd);
  i = idEnd;
  const params: Record<string, string> = {};
  while (line[i] === ' ') {
    const eq = line.indexOf('="', i);
    const name = line.slice(i + 1, eq);
    assert.match(name, /^[^= \]"]{1,32}$/);
    i = eq + 2;
    let v = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error('unterminated PARAM-VALUE');
      if (c === '\\') {
        const n = line[i + 1]!;
        if (!'"\\]'.includes(n)) throw new Error(`bad SD escape \\${n}`);
        v += n;
        i += 2;
      } else if (c === '"') {
        i++;
        break;
      } else if (c === ']') throw new Error('unescaped ] in PARAM-VALUE');
      else {
        v += c;
        i++;
      }
    }
    params[name] = v;
  }
  assert.equal(line[i], ']');
  assert.equal(line.slice(i + 1, i + 3), ' \ufeff');
  return {
    pri: Number(m[1]),
    host: m[3]!,
    app: m[4]!,
    msgid: m[6]!,
    sdId,
    params,
    msg: JSON.parse(line.slice(i + 3)) as Record<string, unknown>,
  };
}

/** RFC 4180: CRLF records, fields plain or quoted ("" inside), nothing else. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) throw new Error('unterminated quoted field');
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          field += c;
          i++;
        }
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r') {
        if (text[i] === '"' || text[i] === '\n') throw new Error(`bad character in a plain field at ${i}`);
        field += text[i];
        i++;
      }
    }
    row.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text.slice(i, i + 2) !== '\r\n') throw new Error(`a record must end in CRLF at ${i}`);
    i += 2;
    rows.push(row);
    row = [];
    if (i === text.length) return rows;
  }
}

const toCsvRowText = (e: Entry) => csvFormat.record(e, { origin: 'o', productVersion: 'v' });

// ---- a real log with edge and hostile events ----

const dir = mkdtempSync(join(tmpdir(), 'evident-siem-'));
const ORIGIN = 'siem.test/default';
const ctx = { origin: ORIGIN, productVersion: '9.9.9' };
const HOSTILE = 'a|b\\c=d]e"f\u00e9\u4e2d\ud83d\ude00';
let ledger: Ledger;
let entries: Entry[];

describe('SIEM record formats', () => {
  before(async () => {
    const db = join(dir, 's.db');
    const signer = await createKeyFile(join(dir, 's.key'), ORIGIN);
    const store = await openStore(db);
    await createLog(store, { name: 'default', origin: ORIGIN, signer });
    await store.close();
    ledger = await openLedger({ db, key: join(dir, 's.key') });
    const base = { actor_type: 'user', resource_type: 'invoice', ip_address: '192.0.2.1' } as const;
    await ledger.appendMany([
      {
        ...base,
        actor_id: 'alice',
        action: 'invoice.update',
        resource_id: 'inv-1',
        result: 'success',
        old_values: { a: 1 },
        new_values: { a: 2 },
        changed_fields: ['a'],
        user_agent: 'curl/8',
        session_id: 's-1',
      },
      {
        actor_type: 'system',
        actor_id: 'cron',
        action: 'report.export',
        resource_type: 'report',
        resource_id: 'r-1',
        result: 'success',
      },
      {
        ...base,
        actor_id: 'bob',
        action: 'user.login',
        resource_type: 'session',
        resource_id: 'web',
        result: 'failure',
        reason: 'bad password',
      },
      {
        ...base,
        actor_id: 'bob',
        action: 'auth.logout',
        resource_type: 'session',
        resource_id: 'web',
        result: 'success',
      },
      {
        ...base,
        actor_id: 'mallory',
        action: 'invoice.delete',
        resource_id: 'inv-2',
        result: 'denied',
        ip_address: '2001:db8::1',
      },
      {
        ...base,
        actor_id: HOSTILE,
        action: 'x|y=z\\w',
        resource_id: `=cmd|' /C calc'!A0`,
        result: 'success',
        reason: `line1\nline2\r\n]"\\|=`,
        metadata: { note: HOSTILE, formula: '+1+1', at: '@SUM(A1)' },
        user_agent: '-2+3',
      },
      {
        ...base,
        actor_id: 'carol',
        action: 'record.read',
        resource_id: 'inv-3',
        result: 'success',
        old_values: { ssn: 'secret-ssn-7f3a' },
      },
    ]);
    await ledger.erase({ erasureKey: ERASURE_KEY, actor_id: 'carol', reason: 'GDPR request 7' });
    entries = [];
    for (let i = 0; i < (await ledger.size()); i++) entries.push((await ledger.entryAt(i))!);
  });
  after(async () => ledger.close());

  it('the login rule: login, logon, signin, logout, auth.* and session.* are Authentication', () => {
    assert.equal(loginActivity('user.login'), 1);
    assert.equal(loginActivity('user.sign_in'), 1);
    assert.equal(loginActivity('UserLogin'), 1);
    assert.equal(loginActivity('auth.token.issue'), 1);
    assert.equal(loginActivity('auth.logout'), 2);
    assert.equal(loginActivity('session.expired'), 2);
    assert.equal(loginActivity('session.start'), 1);
    assert.equal(loginActivity('invoice.read'), undefined);
    assert.equal(loginActivity('author.update'), undefined);
    assert.equal(loginActivity('evident.api_key.created'), undefined);
    assert.equal(apiActivity('invoice.create'), 1);
    assert.equal(apiActivity('invoice.read'), 2);
    assert.equal(apiActivity('invoice.update'), 3);
    assert.equal(apiActivity('invoice.delete'), 4);
    assert.equal(apiActivity('invoice.frobnicate'), 99);
  });

  it('every OCSF record validates against the schema of its class, and carries origin, index and leaf hash', () => {
    const seen = new Set<number>();
    for (const e of entries) {
      const o = toOcsf(e, ctx);
      const cls = o['class_uid'] as number;
      seen.add(cls);
      assert.deepEqual(validate(SCHEMAS[cls]!, o), [], `entry ${e.index}: ${e.action}`);
      assert.equal(o['type_uid'], cls * 100 + (o['activity_id'] as number));
      const u = o['unmapped'] as Record<string, unknown>;
      assert.equal(u['evident_origin'], ORIGIN);
      assert.equal(u['evident_index'], e.index);
      assert.equal(u['evident_leaf_hash'], e.hash);
      assert.equal(o['time'], Date.parse(e.timestamp));
    }
    assert.deepEqual([...seen].sort(), [3002, 6003]);
    const login = toOcsf(entries[2]!, ctx);
    assert.equal(login['class_uid'], 3002);
    assert.equal(login['status_id'], 2);
    assert.equal(login['status_detail'], 'bad password');
    const denied = toOcsf(entries[4]!, ctx);
    assert.equal(denied['status_id'], 2);
    assert.equal(denied['severity_id'], 3);
    assert.equal(denied['activity_id'], 4);
    const noIp = toOcsf(entries[1]!, ctx);
    assert.deepEqual(noIp['src_endpoint'], { name: 'unknown' });
    // a schema that fails: the validator is not a yes-machine
    assert.notDeepEqual(validate(SCHEMAS[6003]!, { ...noIp, class_uid: 3002 }), []);
    assert.notDeepEqual(validate(SCHEMAS[6003]!, { ...noIp, invented: 1 }), []);
  });

  it('erased values are never exported: the marker stands in every format', () => {
    const erased = entries.find((e) => e.erased?.includes('old_values'))!;
    assert.ok(erased, 'the erasure left an entry with erased old_values');
    const needle = 'secret-ssn-7f3a';
    const o = toOcsf(erased, ctx);
    assert.equal((o['unmapped'] as Record<string, unknown>)['old_values'], ERASED);
    assert.ok(!JSON.stringify(o).includes(needle));
    assert.ok(!toCef(erased, ctx).includes(needle));
    assert.ok(!toCsvRowText(erased).includes(needle));
    assert.ok(!toSyslog(erased, ctx).includes(needle));
    assert.equal(parseSyslog(toSyslog(erased, ctx)).msg['old_values'], ERASED);
    assert.ok(!JSON.stringify(o).includes('salt'));
  });

  it('CEF parses back with a strict parser; hostile values round-trip', () => {
    for (const e of entries) {
      const { header, ext } = parseCef(toCef(e, ctx));
      assert.equal(header[0], 'CEF:0');
      assert.deepEqual(header.slice(1, 4), ['evident', 'evident', '9.9.9']);
      assert.equal(header[4], e.action);
      assert.equal(ext['suser'], e.actor_id);
      assert.equal(ext['cs1'], ORIGIN);
      assert.equal(ext['cn1'], String(e.index));
      assert.equal(ext['cs2'], e.hash);
      assert.equal(ext['cs4'], e.resource_id);
      if (e.reason) assert.equal(ext['reason'], e.reason);
    }
    assert.equal(cefHeaderEscape('a|b\\c'), 'a\\|b\\\\c');
    const hostile = parseCef(toCef(entries[5]!, ctx));
    assert.equal(hostile.ext['suser'], HOSTILE);
    assert.equal(hostile.ext['reason'], 'line1\nline2\r\n]"\\|=');
    assert.equal(hostile.header[4], 'x|y=z\\w');
    assert.equal(JSON.parse(hostile.ext['cs6']!).metadata.note, HOSTILE);
    assert.equal(parseCef(toCef(entries[4]!, ctx)).ext['c6a2'], '2001:db8::1');
  });

  it('syslog is RFC 5424 and parses back strictly; octet counting frames it', () => {
    for (const e of entries) {
      const line = toSyslog(e, ctx);
      const p = parseSyslog(line);
      assert.equal(p.app, 'evident');
      assert.equal(p.host, 'siem.test');
      assert.equal(p.sdId, SD_ID);
      assert.equal(p.params['origin'], ORIGIN);
      assert.equal(p.params['index'], String(e.index));
      assert.equal(p.params['leaf_hash'], e.hash);
      assert.equal(p.params['actor'], e.actor_id);
      assert.equal(p.msg['leaf_hash'], e.hash);
      assert.equal(p.pri >> 3, 13);
      assert.equal(p.pri & 7, { success: 6, failure: 5, denied: 4 }[e.result]);
      const framed = octetCounted(line);
      const sp = framed.indexOf(' ');
      assert.equal(Number(framed.slice(0, sp)), Buffer.byteLength(line));
    }
    const h = parseSyslog(toSyslog(entries[5]!, ctx));
    assert.equal(h.params['actor'], HOSTILE);
    assert.equal(h.params['action'], 'x|y=z\\w');
    assert.equal(h.msg['reason'], 'line1\nline2\r\n]"\\|=');
    assert.equal(h.msgid, 'x|y=z\\w');
  });

  it('CSV parses back with a strict RFC 4180 parser; formula cells are neutralised', async () => {
    let text = '';
    for await (const chunk of exportRecords(ledger, { format: 'csv', bom: true })) text += chunk;
    assert.ok(text.startsWith('\ufeff'));
    const rows = parseCsv(text.slice(1));
    assert.deepEqual(rows[0], [...CSV_COLUMNS]);
    assert.equal(rows.length, entries.length + 1);
    const col = (name: string) => CSV_COLUMNS.indexOf(name as never);
    for (const [k, e] of entries.entries()) {
      const r = rows[k + 1]!;
      assert.equal(r.length, CSV_COLUMNS.length);
      assert.equal(r[col('origin')], ORIGIN);
      assert.equal(r[col('index')], String(e.index));
      assert.equal(r[col('leaf_hash')], e.hash);
      for (const cell of r)
        assert.ok(!/^[=+\-@\t\r]/.test(cell), `cell ${JSON.stringify(cell)} could run as a formula`);
    }
    const h = rows[6]!;
    assert.equal(h[col('actor_id')], HOSTILE);
    assert.equal(h[col('resource_id')], `'=cmd|' /C calc'!A0`);
    assert.equal(h[col('user_agent')], "'-2+3");
    assert.equal(h[col('reason')], 'line1\nline2\r\n]"\\|=');
    assert.equal(csvCell('@x'), "'@x");
    assert.equal(csvCell('\tx'), "'\tx");
    assert.equal(csvCell('\rx'), '"\'\rx"');
    assert.equal(csvCell('a"b'), '"a""b"');
  });

  it('exportRecords writes one line per entry in every format, and refuses an unknown format', async () => {
    for (const format of ['ocsf', 'cef', 'syslog']) {
      const lines: string[] = [];
      for await (const l of exportRecords(ledger, { format, pageSize: 2 })) lines.push(l);
      assert.equal(lines.length, entries.length, format);
      for (const l of lines) assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'));
    }
    await assert.rejects(
      (async () => {
        for await (const _ of exportRecords(ledger, { format: 'leef' })) void _;
      })(),
      (e: { code?: string; details?: { field?: string } }) =>
        e.code === 'USAGE' && e.details?.field === 'format',
    );
  });
});
