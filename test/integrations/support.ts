/**
 * Shared set-up for the middleware tests: a real ledger on a SQLite file as the sink, a server
 * listening on loopback, and the scenario every framework must record identically.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EvidentError } from '../../src/core/errors.ts';
import type { Entry } from '../../src/core/event/entry.ts';
import type { AuditCounters, AuditFailure } from '../../src/integrations/express/index.ts';
import { type AuditSink, ledgerSink } from '../../src/integrations/sink.ts';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { type Fixture, makeFixture } from '../ledger/support.ts';

export interface LedgerSinkFixture {
  fixture: Fixture;
  ledger: Ledger;
  sink: AuditSink;
  /** Every failure reported through onError, in order. */
  failures: { error: EvidentError; failure: AuditFailure }[];
  onError: (error: EvidentError, failure: AuditFailure) => void;
  cleanup(): Promise<void>;
}

export interface LedgerFixtureOptions {
  maxPending?: number;
  /** Group-commit delay: makes a commit visibly later than the append that asked for it. */
  maxDelayMs?: number;
  closed?: boolean;
}

export async function ledgerFixture(options: LedgerFixtureOptions = {}): Promise<LedgerSinkFixture> {
  const fixture = await makeFixture('evident-mw-');
  const ledger = await fixture.open({
    ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
    ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
  });
  if (options.closed) await ledger.close();
  const failures: LedgerSinkFixture['failures'] = [];
  return {
    fixture,
    ledger,
    sink: ledgerSink(ledger),
    failures,
    onError: (error, failure) => failures.push({ error, failure }),
    cleanup: async () => {
      await ledger.close();
      fixture.cleanup();
    },
  };
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Waits until the middleware has settled `n` events (recorded or failed): fail-open records after the response. */
export async function settled(counters: AuditCounters, n: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (counters.recorded + counters.failed < n) {
    if (Date.now() > until) {
      assert.fail(
        `expected ${n} settled events, have ${counters.recorded} recorded + ${counters.failed} failed`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function entries(ledger: Ledger): Promise<Entry[]> {
  await ledger.flush();
  return ledger.query({});
}

export const SECRET_HEADERS = {
  authorization: 'Bearer secret-token-xyz',
  cookie: 'sid=secret-cookie-abc',
};

interface Step {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  status: number;
  /** Fields the recorded event must have; undefined: no event at all. */
  event?: Record<string, unknown>;
}

/**
 * The scenario every test app implements (see express.test.ts and fastify.test.ts): one request
 * of every result kind, nested routes, overrides, handler additions, a skipped health check.
 */
export const SCENARIO: Step[] = [
  { method: 'GET', path: '/health', status: 200 },
  {
    method: 'GET',
    path: '/patients/42',
    headers: {
      'x-user': 'u1',
      ...SECRET_HEADERS,
      'x-forwarded-for': '203.0.113.9',
      'user-agent': 'ward-app/2.1',
    },
    status: 200,
    event: {
      actor_id: 'u1',
      actor_type: 'user',
      action: 'get /patients/:id',
      resource_type: 'patients',
      resource_id: '42',
      result: 'success',
      user_agent: 'ward-app/2.1',
    },
  },
  {
    method: 'GET',
    path: '/old/7',
    status: 302,
    event: {
      actor_id: 'anonymous',
      actor_type: 'anonymous',
      action: 'get /old/:id',
      resource_id: '7',
      result: 'success',
    },
  },
  {
    method: 'GET',
    path: '/admin/reports/r1',
    status: 401,
    event: {
      action: 'get /admin/reports/:rid',
      resource_type: 'reports',
      resource_id: 'r1',
      result: 'denied',
    },
  },
  {
    method: 'GET',
    path: '/admin/reports/r1',
    headers: { 'x-user': 'u2' },
    status: 403,
    event: { actor_id: 'u2', action: 'get /admin/reports/:rid', result: 'denied' },
  },
  {
    method: 'GET',
    path: '/boom',
    status: 500,
    event: { action: 'get /boom', resource_type: 'boom', resource_id: '*', result: 'failure' },
  },
  {
    method: 'POST',
    path: '/patients',
    body: { ssn: '123-45-6789' },
    headers: { 'x-user': 'u1' },
    status: 400,
    event: { action: 'post /patients', resource_type: 'patients', resource_id: '*', result: 'failure' },
  },
  {
    method: 'POST',
    path: '/patients',
    body: { name: 'Ada', ssn: '123-45-6789' },
    headers: { 'x-user': 'u1' },
    status: 201,
    event: { action: 'post /patients', result: 'success', new_values: { name: 'Ada' } },
  },
  {
    method: 'GET',
    path: '/nope/123',
    status: 404,
    event: {
      action: 'get (unmatched)',
      resource_type: 'route',
      resource_id: '(unmatched)',
      result: 'failure',
    },
  },
  {
    method: 'GET',
    path: '/orgs/o1/patients/p9',
    headers: { 'x-user': 'u1' },
    status: 200,
    event: {
      action: 'get /orgs/:orgId/patients/:pid',
      resource_type: 'patients',
      resource_id: 'p9',
      result: 'success',
    },
  },
  {
    method: 'GET',
    path: '/records/r5',
    headers: { 'x-user': 'u1' },
    status: 200,
    event: { action: 'record.read', resource_type: 'medical_record', resource_id: 'r5', reason: 'treatment' },
  },
  {
    method: 'PUT',
    path: '/patients/42',
    body: { name: 'Ada L.' },
    headers: { 'x-user': 'u1' },
    status: 200,
    event: {
      action: 'put /patients/:id',
      changed_fields: ['name'],
      old_values: { name: 'Ada' },
      new_values: { name: 'Ada L.' },
      reason: 'corrected spelling',
    },
  },
];

/** Runs the scenario, checks statuses and returns the events the log holds afterwards. */
export async function runScenario(
  base: string,
  ledger: Ledger,
  counters: AuditCounters,
): Promise<{ events: Entry[]; expected: Record<string, unknown>[] }> {
  const before = (await entries(ledger)).length;
  const expected: Record<string, unknown>[] = [];
  for (const step of SCENARIO) {
    const init: RequestInit = { method: step.method, headers: { ...step.headers }, redirect: 'manual' };
    if (step.body !== undefined) {
      init.body = JSON.stringify(step.body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(base + step.path, init);
    await res.arrayBuffer();
    assert.equal(res.status, step.status, `${step.method} ${step.path}`);
    if (step.event) expected.push({ ...step.event, status: step.status });
  }
  await settled(counters, before + expected.length);
  const events = (await entries(ledger)).slice(before);
  return { events, expected };
}

/** Each event has the expected fields, the status in metadata, and nothing secret. */
export function assertScenarioEvents(events: Entry[], expected: Record<string, unknown>[], ip: string): void {
  assert.equal(events.length, expected.length, 'one event per audited request, none for /health');
  events.forEach((e, i) => {
    const { status, ...fields } = expected[i]!;
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(e[k as keyof Entry], v, `event ${i} ${k}`);
    assert.equal(e.metadata?.['status'], status, `event ${i} status`);
    assert.equal(e.ip_address, ip, `event ${i} ip`);
    assert.equal(typeof e.metadata?.['duration_ms'], 'number');
    assert.ok(typeof e.metadata?.['request_id'] === 'string' || e.metadata?.['request_id'] === undefined);
    const text = JSON.stringify(e);
    for (const secret of ['secret-token', 'secret-cookie', '123-45-6789', 'ssn']) {
      assert.ok(!text.includes(secret), `event ${i} must not contain ${secret}`);
    }
  });
  for (const e of events)
    assert.doesNotMatch(e.action, /\/(42|7|r1|o1|p9|123)(\/|$)/, 'a route pattern, never the raw path');
  const put = events.find((e) => e.action === 'put /patients/:id');
  assert.equal(put?.metadata?.['ticket'], 'T-17', 'handler metadata is kept');
}
