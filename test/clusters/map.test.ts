/**
 * The cluster map refused at start: `evident serve` with a bad `clusters` or `placement` exits 2
 * before opening anything, the error naming the field and the rule. Also the parser itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isEvidentError } from '../../src/core/errors.ts';
import { clusterOf, parseClusterMap, placementObject } from '../../src/store/clusters/map.ts';
import { run } from '../cli/helpers.ts';

const HOME = 'postgres://audit@db-a:5432/audit?schema=evident';
const B = 'postgres://audit@db-b:5432/audit?schema=evident';

function refused(fn: () => unknown): { field: unknown; rule: unknown } {
  try {
    fn();
  } catch (e) {
    assert.ok(isEvidentError(e, 'USAGE'), String(e));
    return { field: e.details['field'], rule: e.details['rule'] };
  }
  assert.fail('not refused');
}

describe('cluster map: parsing', () => {
  test('a good map: home is db, placement by cluster, unplaced logs on home', () => {
    const m = parseClusterMap(
      HOME,
      { b: B, c: 'postgres://db-c/audit' },
      { b: ['payments', 'orders'], home: ['x'] },
    );
    assert.ok(m);
    assert.deepEqual([...m.clusters.keys()], ['home', 'b', 'c']);
    assert.equal(clusterOf(m, 'payments'), 'b');
    assert.equal(clusterOf(m, 'x'), 'home');
    assert.equal(clusterOf(m, 'other'), 'home');
    assert.deepEqual(placementObject(m), { b: ['orders', 'payments'] });
    assert.equal(parseClusterMap(HOME, undefined, undefined), undefined);
  });

  test('each fault names its field and rule', () => {
    const cases: [unknown, unknown, string, string, string?][] = [
      [{ b: B }, { z: ['a'] }, 'placement.z', 'unknown_cluster'],
      [{ b: B }, { b: ['a', 'b'], home: ['c', 'a'] }, 'placement.home[1]', 'placed_twice'],
      [{ b: B }, { b: ['a', 'a'] }, 'placement.b[1]', 'placed_twice'],
      [{ b: 'mysql://x/y' }, undefined, 'clusters.b', 'url'],
      [{ b: 'not a url' }, undefined, 'clusters.b', 'url'],
      [{ b: 42 }, undefined, 'clusters.b', 'url'],
      [{ home: B }, undefined, 'clusters.home', 'reserved'],
      [{ 'B!': B }, undefined, 'clusters.B!', 'name'],
      [{ b: HOME }, undefined, 'clusters.b', 'duplicate'],
      [{ b: B, c: B.replace('audit@', 'other@') }, undefined, 'clusters.c', 'duplicate'],
      [[B], undefined, 'clusters', 'type'],
      [undefined, { b: ['a'] }, 'clusters', 'required'],
      [{ b: B }, { b: 'a' }, 'placement.b', 'type'],
      [{ b: B }, { b: ['Bad Name'] }, 'placement.b[0]', 'log_name'],
      [{ b: B }, ['a'], 'placement', 'type'],
      [{ b: B }, undefined, 'db', 'postgres', 'audit.db'],
    ];
    for (const [clusters, placement, field, rule, db] of cases) {
      assert.deepEqual(
        refused(() => parseClusterMap(db ?? HOME, clusters, placement)),
        { field, rule },
        JSON.stringify({ clusters, placement }),
      );
    }
  });
});

describe('cluster map: evident serve refuses a bad one at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-clustermap-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const serveWith = async (config: Record<string, unknown>) => {
    const path = join(dir, 'serve.json');
    writeFileSync(path, JSON.stringify(config));
    const r = await run(['serve', '--config', path, '--port', '0', '--json'], { cwd: dir });
    let err: Record<string, unknown> = {};
    try {
      err = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '');
    } catch {
      assert.fail(`not a JSON error: ${r.stderr}`);
    }
    return { code: r.code, err };
  };

  test('unknown cluster, a log placed twice, a bad URL: exit 2, USAGE naming the field', async () => {
    for (const [config, field, rule] of [
      [{ db: HOME, clusters: { b: B }, placement: { c: ['payments'] } }, 'placement.c', 'unknown_cluster'],
      [
        { db: HOME, clusters: { b: B }, placement: { b: ['payments'], home: ['payments'] } },
        'placement.home[0]',
        'placed_twice',
      ],
      [{ db: HOME, clusters: { b: 'http://db-b/audit' } }, 'clusters.b', 'url'],
      [{ db: join(dir, 'audit.db'), clusters: { b: B } }, 'db', 'postgres'],
    ] as const) {
      const { code, err } = await serveWith(config);
      assert.equal(code, 2, JSON.stringify(err));
      assert.equal(err['code'], 'USAGE');
      assert.equal(err['field'], field);
      assert.equal(err['rule'], rule);
    }
  });
});
