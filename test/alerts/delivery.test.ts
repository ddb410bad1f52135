/**
 * Alerts end to end in one server on a real SQLite file: an alert is an evident.alert event,
 * reaches a real webhook receiver (HMAC checked) exactly once after the receiver was down,
 * answering 500 or too slow, reaches a real TCP syslog collector, and is never resent once
 * acknowledged.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src/alerts/config.ts';
import { signatureHeader, verifySignature } from '../../src/alerts/signature.ts';
import type { AlertStore } from '../../src/store/types.ts';
import { event, type Fixture, setup } from '../server/helpers.ts';
import { type Collector, type Receiver, startCollector, startReceiver, until } from './receivers.ts';

const SECRET = 'whsec-test-1';
const URL = '/v1/logs/default/events';

async function failLogins(f: Fixture, actor: string, n: number): Promise<void> {
  const events = Array.from({ length: n }, () =>
    event({ actor_id: actor, action: 'login', result: 'failure' }),
  );
  const r = await f.app.inject({ method: 'POST', url: URL, headers: f.auth(f.keys.ingest), payload: events });
  assert.equal(r.statusCode, 201, r.body);
}

describe('alert delivery', () => {
  let f: Fixture;
  let hook: Receiver;
  let syslog: Collector;
  after(async () => {
    await f?.close();
    await hook?.close();
    await syslog?.close();
  });

  it('signs webhooks so a receiver can check them, and a wrong secret fails the check', () => {
    const body = '{"id":"x"}';
    const t = Math.floor(Date.now() / 1000);
    const h = signatureHeader(SECRET, body, t);
    assert.match(h, /^t=[0-9]+,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignature(SECRET, body, h, t), true);
    assert.equal(verifySignature('wrong', body, h, t), false);
    assert.equal(verifySignature(SECRET, `${body} `, h, t), false);
    assert.equal(verifySignature(SECRET, body, h, t + 3600), false, 'too old: a replay');
  });

  it('records, logs and delivers an alert once, after the receiver was down, failing and slow', async () => {
    hook = await startReceiver(SECRET);
    syslog = await startCollector();
    const port = hook.port;
    await hook.close(); // down: connection refused
    const config = parseAlertsConfig({
      pollMs: 50,
      rules: { failed_logins: { threshold: 3, windowSeconds: 3600 } },
      sinks: {
        webhooks: [{ name: 'ops', url: `http://127.0.0.1:${port}/hook`, secret: SECRET, timeoutMs: 300 }],
        syslog: { host: '127.0.0.1', port: syslog.port },
      },
    });
    f = await setup({ alerts: config, alertRetryMs: 50 });
    const store = f.store as typeof f.store & AlertStore;
    await failLogins(f, 'mallory', 3);
    await failLogins(f, 'mallory', 5); // same window: grouped, no second alert
    await until(async () => (await f.entries()).some((e) => e.action === 'evident.alert'));
    const alerts = (await f.entries()).filter((e) => e.action === 'evident.alert');
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.metadata?.['rule'], 'failed_logins');
    assert.equal(alerts[0]!.metadata?.['subject'], 'mallory');
    // Delivered to syslog; the webhook is down, so its delivery waits in the queue.
    await until(() => syslog.messages.length === 1);
    assert.match(
      syslog.messages[0]!,
      /^<108>1 \S+ \S+ evident [0-9]+ failed_logins \[alert@32473 id="[0-9a-f]{32}" /,
    );
    assert.equal(await store.alertQueueDepth(), 1);
    await until(async () => /webhook:ops/.test((await f.app.inject({ url: '/readyz' })).body));
    // Up, but answering 500, then too slow: still queued, retried.
    const up = await startReceiver(SECRET, port);
    hook = up;
    up.mode = 'error';
    await until(() => up.requests.length >= 1);
    up.mode = 'slow';
    await until(() => up.requests.length >= 2);
    assert.equal(up.alerts.size, 0);
    up.mode = 'ok';
    await until(() => up.alerts.size === 1);
    const [key, body] = [...up.alerts][0]!;
    assert.equal(body['id'], key, 'the idempotency key is the alert id');
    assert.equal(body['rule'], 'failed_logins');
    assert.ok(up.requests.every((r) => r.verified));
    await until(async () => (await store.alertQueueDepth()) === 0);
    // Acknowledged: not resent, however many passes run.
    const seen = up.requests.length;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(up.requests.length, seen);
    const metrics = (await f.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /evident_alerts_raised_total\{rule="failed_logins"\} 1/);
    assert.match(metrics, /evident_alert_deliveries_total\{sink="webhook:ops",outcome="delivered"\} 1/);
    assert.match(metrics, /evident_alert_deliveries_total\{sink="webhook:ops",outcome="failed"\} [0-9]+/);
    assert.match(metrics, /evident_alert_queue_depth 0/);
  });

  it('a receiver with the wrong secret refuses every delivery (the signature check fails)', async () => {
    const wrong = await startReceiver('not-the-secret');
    try {
      const config = parseAlertsConfig({
        pollMs: 50,
        rules: { failed_logins: { threshold: 2 } },
        sinks: { webhooks: [{ name: 'x', url: wrong.url, secret: SECRET }], log: false },
      });
      f.app.alerts?.reload(config);
      await failLogins(f, 'eve', 2);
      await until(() => wrong.requests.length >= 1);
      assert.equal(wrong.requests[0]!.verified, false);
      assert.equal(wrong.alerts.size, 0);
    } finally {
      await wrong.close();
    }
  });
});
