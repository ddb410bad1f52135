/**
 * Hostile input: each case gets its status and code, nothing of it is written, and the service
 * keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Entry } from '../../src/core/event/entry.ts';
import { event, type Fixture, setup } from './helpers.ts';
import { eventually, resetMidBody } from './raw-connection.ts';

describe('hostile input', () => {
  let f: Fixture;
  let baseline: Entry[];
  /** Every line the server logged, parsed. */
  const logged: { level: number; msg: string; status?: number }[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logged.push(JSON.parse(line));
      done();
    },
  });
  before(async () => {
    f = await setup({
      maxBodyBytes: 256 * 1024,
      bodyTimeoutMs: 400,
      logger: { level: 'info', stream: logStream },
    });
    await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: [event({ actor_id: 'alice' }), event({ actor_id: 'bob' })],
    });
    baseline = await f.entries();
  });
  after(async () => f.close());

  /** Entries added since the baseline that are not the service's own access events. */
  const foreign = async () =>
    (await f.entries()).slice(baseline.length).filter((e) => !e.action.startsWith('audit_log.'));

  const stillServing = async () => {
    const r = await f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: f.auth(f.keys.ingest),
      payload: event({ actor_id: 'canary' }),
    });
    assert.equal(r.statusCode, 201);
    baseline = await f.entries();
  };

  let listening: Promise<string> | undefined;
  /** The server on a loopback port, for the cases a raw socket tells. */
  const address = () => {
    listening ??= f.app.listen({ host: '127.0.0.1', port: 0 });
    return listening;
  };

  const postRaw = (body: string | Buffer, contentType = 'application/json') =>
    f.app.inject({
      method: 'POST',
      url: '/v1/logs/default/events',
      headers: { ...f.auth(f.keys.ingest), 'content-type': contentType },
      payload: body,
    });

  it('treats SQL in every filter as data', async () => {
    const attacks = [
      "' OR '1'='1",
      "alice'; DROP TABLE entries; --",
      '1 UNION SELECT * FROM api_keys',
      '%',
      '*',
    ];
    const free = ['actor_id', 'action', 'resource_type', 'resource_id', 'session_id'];
    for (const field of free) {
      for (const a of attacks) {
        const r = await f.app.inject({
          method: 'GET',
          url: `/v1/logs/default/events?${field}=${encodeURIComponent(a)}`,
          headers: f.auth(f.keys.read),
        });
        assert.equal(r.statusCode, 200, `${field}=${a}`);
        assert.deepEqual(r.json().entries, [], `${field}=${a}`);
      }
    }
    for (const field of ['actor_type', 'result', 'ip_address', 'since', 'until', 'cursor', 'limit']) {
      const r = await f.app.inject({
        method: 'GET',
        url: `/v1/logs/default/events?${field}=${encodeURIComponent(attacks[0]!)}`,
        headers: f.auth(f.keys.read),
      });
      assert.equal(r.statusCode, 400, field);
      assert.equal(r.json().code, 'VALIDATION_FAILED');
      assert.equal(r.json().issues[0].field, field);
    }
    const refs = await f.app.inject({
      method: 'GET',
      url: `/v1/logs/default/events/${encodeURIComponent('0 OR 1=1')}`,
      headers: f.auth(f.keys.read),
    });
    assert.equal(refs.statusCode, 400);
    assert.equal((await f.store.listApiKeys()).length, 7, 'the keys table is intact');
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });

  it('refuses unknown and repeated query parameters instead of ignoring them', async () => {
    for (const q of [
      'actor=alice',
      'actor_id=a&actor_id=b',
      '__proto__=x',
      'limit=1e3',
      'limit=0x10',
      'limit=5000',
    ]) {
      const r = await f.app.inject({
        method: 'GET',
        url: `/v1/logs/default/events?${q}`,
        headers: f.auth(f.keys.read),
      });
      assert.equal(r.statusCode, 400, q);
      assert.equal(r.json().code, 'VALIDATION_FAILED', q);
    }
  });

  it('refuses path traversal in log names, touching nothing', async () => {
    for (const log of [
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      '..',
      'Default',
      '.hidden',
      'a%00b',
      'x'.repeat(65),
      'x'.repeat(300),
      '%2Fetc',
      '%E0%A4%A',
    ]) {
      const r = await f.app.inject({
        method: 'GET',
        url: `/v1/logs/${log}/events`,
        headers: f.auth(f.keys.admin),
      });
      assert.ok([400, 404].includes(r.statusCode), `${log}: ${r.statusCode}`);
      const w = await f.app.inject({
        method: 'POST',
        url: `/v1/logs/${log}/events`,
        headers: f.auth(f.keys.admin),
        payload: event(),
      });
      assert.ok([400, 404].includes(w.statusCode), `${log}: ${w.statusCode}`);
    }
    assert.deepEqual(
      (await f.store.listLogs()).map((l) => l.name).sort(),
      ['default', 'tenant-b'],
      'no log was created',
    );
    await stillServing();
  });

  it('refuses malformed JSON of every kind, with its rule', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const cases: [string | Buffer, number, string, string?][] = [
      ['{"actor_id":"a","actor_id":"b"}', 400, 'JSON_INVALID', 'duplicate_key'],
      ['{"actor_id":"\\ud800"}', 400, 'JSON_INVALID', 'lone_surrogate'],
      [deep, 400, 'JSON_INVALID', 'max_depth'],
      [
        Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
        400,
        'ENCODING_INVALID',
        'utf8',
      ],
      [Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 400, 'JSON_INVALID', 'bom'],
      ['{"a":1', 400, 'JSON_INVALID', 'syntax'],
      ['{"n":12345678901234567890}', 400, 'JSON_INVALID', 'unsafe_integer'],
      ['', 400, 'JSON_INVALID', 'syntax'],
    ];
    for (const [body, status, code, rule] of cases) {
      const r = await postRaw(body);
      assert.equal(r.statusCode, status, String(body).slice(0, 40));
      assert.equal(r.json().code, code, String(body).slice(0, 40));
      if (rule) assert.equal(r.json().rule, rule, String(body).slice(0, 40));
    }
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });

  it('refuses __proto__, constructor and prototype keys anywhere in an event', async () => {
    const bodies = [
      `{"__proto__":{"admin":true},${JSON.stringify(event()).slice(1)}`,
      JSON.stringify({ ...event(), metadata: { constructor: { prototype: 1 } } }),
      `[${JSON.stringify(event())},${JSON.stringify({ ...event(), new_values: { a: { __proto__x: 1 } } }).replace('__proto__x', '__proto__')}]`,
    ];
    for (const b of bodies) {
      const r = await postRaw(b);
      assert.equal(r.statusCode, 400, b.slice(0, 60));
      assert.equal(r.json().code, 'VALIDATION_FAILED');
      assert.ok(
        r.json().issues.some((i: { rule: string }) => i.rule === 'forbidden_key'),
        b.slice(0, 60),
      );
    }
    assert.equal(({} as Record<string, unknown>)['admin'], undefined, 'Object.prototype untouched');
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });

  it('refuses bodies over the limit, huge arrays and wrong content types', async () => {
    const big = await postRaw(JSON.stringify([{ ...event(), reason: 'x'.repeat(300 * 1024) }]));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, 'PAYLOAD_TOO_LARGE');
    const huge = await postRaw(`[${'0,'.repeat(50_000)}0]`);
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().rule, 'max_items');
    for (const ct of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await postRaw(JSON.stringify(event()), ct);
      assert.equal(r.statusCode, 415, ct);
      assert.equal(r.json().code, 'UNSUPPORTED_MEDIA_TYPE');
    }
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });

  it('answers a client whose body trickles with 408, and keeps serving', async () => {
    const { port } = new URL(await address());
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      let got = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(
          'POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            `Authorization: Bearer ${f.keys.ingest}\r\nContent-Length: 1000\r\n\r\n{`,
        );
        timer = setInterval(() => socket.write(' '), 100);
      });
      socket.on('data', (d) => {
        got += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve(got);
      });
      setTimeout(() => {
        clearInterval(timer);
        socket.destroy();
        reject(new Error(`no answer in 5 s: ${got}`));
      }, 5000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /REQUEST_TIMEOUT/);
    assert.ok(Date.now() - started < 3000);
    const health = await fetch(`${await address()}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });

  it('takes a client that goes away halfway through its body for a bad request, not a server fault', async () => {
    const before = logged.length;
    await resetMidBody(
      await address(),
      'POST /v1/logs/default/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${f.keys.ingest}\r\nContent-Length: 1000\r\n\r\n[{"actor_id":`,
    );
    const line = () => logged.slice(before).find((l) => l.msg === 'request aborted by the client');
    await eventually(() => line() !== undefined);
    assert.equal(line()?.level, 30, JSON.stringify(logged.slice(before)));
    assert.deepEqual(
      logged.slice(before).filter((l) => l.level >= 50),
      [],
    );
    assert.deepEqual(await foreign(), []);
    await stillServing();
  });
});
