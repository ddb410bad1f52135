/**
 * Route patterns: the defaults that name the resource, the loose pattern matcher, Express 4's
 * compiled mounts written back, and real Express apps with sub-apps, array and guard mounts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { ErrorCode } from '../../src/core/errors.ts';
import { matchPattern } from '../../src/integrations/audit/pattern.ts';
import { defaultResource, evidentExpress, resultFromStatus } from '../../src/integrations/express/index.ts';
import { audit } from '../../src/integrations/express/middleware.ts';
import { fromExpress4Regexp } from '../../src/integrations/express/route.ts';
import { type ExpressModule, express4, express5 } from './express-app.ts';
import { close, entries, ledgerFixture, listen, settled } from './support.ts';

test('result from status: 2xx and 3xx success, 401 and 403 denied, the rest failure', () => {
  const cases: [number, string][] = [
    [200, 'success'],
    [204, 'success'],
    [302, 'success'],
    [304, 'success'],
    [400, 'failure'],
    [401, 'denied'],
    [403, 'denied'],
    [404, 'failure'],
    [500, 'failure'],
    [503, 'failure'],
    [101, 'failure'],
  ];
  for (const [status, result] of cases) assert.equal(resultFromStatus(status), result, String(status));
});

test('default resource: the last parameter, typed by the literal segment before it', () => {
  const r = (pattern: string | undefined, params: Record<string, string> = {}) =>
    defaultResource({ method: 'GET', pattern, params });
  assert.deepEqual(r('/patients/:id', { id: '42' }), { type: 'patients', id: '42' });
  assert.deepEqual(r('/orgs/:org/patients/:pid', { org: 'o', pid: 'p' }), { type: 'patients', id: 'p' });
  assert.deepEqual(r('/patients/:id/notes', { id: '42' }), { type: 'notes', id: '42' });
  assert.deepEqual(r('/patients'), { type: 'patients', id: '*' });
  assert.deepEqual(r('/'), { type: 'root', id: '*' });
  assert.deepEqual(r('/files/:name(\\d+)', { name: '7' }), { type: 'files', id: '7' });
  assert.deepEqual(r('/files/*', { '*': 'a/b.txt' }), { type: 'files', id: 'a/b.txt' });
  assert.deepEqual(r('/files/*', { 0: 'a/b.txt' }), { type: 'files', id: 'a/b.txt' });
  assert.deepEqual(r(undefined), { type: 'route', id: '(unmatched)' });
});

test('the loose matcher reads parameters of Express 4, Express 5 and Fastify patterns', () => {
  assert.deepEqual(matchPattern('/orgs/:orgId/patients/:pid', '/orgs/o%201/patients/p9'), {
    orgId: 'o 1',
    pid: 'p9',
  });
  assert.deepEqual(matchPattern('/a/:b?', '/a'), {});
  assert.deepEqual(matchPattern('/a/:b?', '/a/x'), { b: 'x' });
  assert.deepEqual(matchPattern('/files/*path', '/files/x/y.txt'), { path: 'x/y.txt' });
  assert.deepEqual(matchPattern('/n/:id(\\d+)', '/n/12'), { id: '12' });
  assert.deepEqual(matchPattern('/v{/:version}/x', '/v/2/x'), { version: '2' });
  assert.equal(matchPattern('/patients/:id', '/patients/1/extra'), undefined);
});

test('Express 4 mount regexps are written back as patterns', () => {
  const app = express4();
  const r = express4.Router();
  app.use('/orgs/:orgId', r);
  app.use('/a/:x?/b', r);
  app.use('/plain', r);
  app.use(/^\/re\/(\d+)/, r);
  app.use(['/m1', '/m2/:q'], r);
  const stack = (
    app as unknown as { _router: { stack: { regexp: RegExp; keys: { name: string | number }[] }[] } }
  )._router.stack;
  const mounts = stack.slice(-5).map((l) => fromExpress4Regexp(l.regexp, l.keys));
  assert.deepEqual(mounts.slice(0, 3), [['/orgs/:orgId'], ['/a/:x?/b'], ['/plain']]);
  assert.match(mounts[3]![0]!, /^\/\^/, 'a RegExp mount is shown as its own text');
  assert.deepEqual(mounts[4], ['/m1', '/m2/:q'], 'an array mount gives one pattern per path');
});

for (const [name, e] of [
  ['Express 5', express5],
  ['Express 4', express4],
] as [string, ExpressModule][]) {
  describe(`${name}: route patterns of real apps`, () => {
    test('sub-apps, array mounts, app-level guards and a route reached through two mounts', async () => {
      const fx = await ledgerFixture();
      const mw = evidentExpress({ sink: fx.sink });
      const app = e();
      app.use(mw);
      app.use('/locked', (_req, res) => {
        res.status(401).end();
      });
      app.get('/locked/files/:fid', (_req, res) => {
        res.end();
      });
      const sub = e();
      sub.get('/items/:itemId', (_req, res) => {
        res.end();
      });
      app.use('/v2', sub);
      const shared = e.Router();
      shared.get('/:nid', (_req, res) => {
        res.end();
      });
      app.use('/notes', shared);
      app.use('/memos', shared);
      app.use(['/x1', '/x2'], shared);
      const server = createServer(app);
      const base = await listen(server);
      try {
        const paths = ['/locked/files/9', '/v2/items/3', '/notes/4', '/memos/5', '/x2/6'];
        for (const p of paths) await (await fetch(base + p)).arrayBuffer();
        await settled(mw.counters, paths.length);
        const got = (await entries(fx.ledger)).map((ev) => [ev.action, ev.resource_id, ev.result]);
        assert.deepEqual(got, [
          ['get /locked/files/:fid', '9', 'denied'],
          ['get /v2/items/:itemId', '3', 'success'],
          ['get /notes/:nid', '4', 'success'],
          ['get /memos/:nid', '5', 'success'],
          ['get /x2/:nid', '6', 'success'],
        ]);
      } finally {
        await close(server);
        await fx.cleanup();
      }
    });

    test('an IPv4 client seen through a dual-stack socket is recorded as IPv4', async () => {
      const fx = await ledgerFixture();
      const mw = evidentExpress({ sink: fx.sink });
      const app = e();
      app.use(mw);
      app.get('/p/:id', (_req, res) => {
        res.end();
      });
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '::', resolve));
      const port = (server.address() as { port: number }).port;
      try {
        await (await fetch(`http://127.0.0.1:${port}/p/1`)).arrayBuffer();
        await settled(mw.counters, 1);
        const [ev] = await entries(fx.ledger);
        assert.equal(ev?.ip_address, '127.0.0.1');
      } finally {
        await close(server);
        await fx.cleanup();
      }
    });

    test('a client that leaves before the answer: recorded as aborted, failure', async () => {
      const fx = await ledgerFixture();
      const mw = evidentExpress({ sink: fx.sink });
      const app = e();
      app.use(mw);
      app.get('/slow/:id', (_req, res) => {
        setTimeout(() => res.end('late'), 300);
      });
      const server = createServer(app);
      const base = await listen(server);
      try {
        await assert.rejects(fetch(`${base}/slow/1`, { signal: AbortSignal.timeout(50) }));
        await settled(mw.counters, 1);
        const [ev] = await entries(fx.ledger);
        assert.equal(ev?.result, 'failure');
        assert.equal(ev?.metadata?.['aborted'], true);
        assert.equal(ev?.action, 'get /slow/:id');
      } finally {
        await close(server);
        await fx.cleanup();
      }
    });

    test('audit({ failClosed }) without evidentExpress installed refuses the request', async () => {
      const app = e();
      let ran = false;
      app.get('/phi', audit({ failClosed: true }), (_req, res) => {
        ran = true;
        res.end();
      });
      let code: string | undefined;
      app.use(
        (
          err: { code?: string },
          _req: unknown,
          res: { status(n: number): { end(): void } },
          _next: unknown,
        ) => {
          code = err.code;
          res.status(500).end();
        },
      );
      const server = createServer(app);
      const base = await listen(server);
      try {
        assert.equal((await fetch(`${base}/phi`)).status, 500);
        assert.equal(ran, false);
        assert.equal(code, ErrorCode.USAGE);
      } finally {
        await close(server);
      }
    });
  });
}
