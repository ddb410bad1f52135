/**
 * The directory target keeps the contract of src/archive/target.ts: written once (an identical
 * re-put succeeds, other bytes are ARCHIVE_CONFLICT and the object is unchanged), read-only,
 * read back, retainUntil in a side record that listings leave out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { openDirectoryTarget } from '../../src/archive/directory.ts';
import { openArchiveTarget } from '../../src/archive/targets.ts';
import { ErrorCode, isEvidentError } from '../../src/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'evident-dir-target-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const meta = (bytes: Uint8Array) => ({
  sha256: createHash('sha256').update(bytes).digest('hex'),
  size: bytes.length,
  retainUntil: new Date('2030-01-01T00:00:00.000Z'),
});

describe('directory target', () => {
  it('puts once: an identical re-put succeeds, other bytes are ARCHIVE_CONFLICT', async () => {
    const t = await openDirectoryTarget(pathToFileURL(join(dir, 'a')).href);
    const a = new TextEncoder().encode('first\n');
    const b = new TextEncoder().encode('second\n');
    const put = await t.put('log/checkpoints/0000000000000001.note', { bytes: a }, meta(a));
    assert.equal(put.size, a.length);
    const path = join(dir, 'a', 'log', 'checkpoints', '0000000000000001.note');
    assert.equal(statSync(path).mode & 0o777, 0o444);
    await t.put('log/checkpoints/0000000000000001.note', { bytes: a }, meta(a));
    await assert.rejects(t.put('log/checkpoints/0000000000000001.note', { bytes: b }, meta(b)), (e) =>
      isEvidentError(e, ErrorCode.ARCHIVE_CONFLICT),
    );
    assert.equal(readFileSync(path, 'utf8'), 'first\n');
    const st = await t.stat('log/checkpoints/0000000000000001.note');
    assert.equal(st?.sha256, meta(a).sha256);
    assert.equal(st?.retainUntil?.toISOString(), '2030-01-01T00:00:00.000Z');
    const names: string[] = [];
    for await (const o of t.list('')) names.push(o.name);
    assert.deepEqual(names, ['log/checkpoints/0000000000000001.note']);
  });

  it('puts a file body, reads it back, and refuses a body that is not what the caller hashed', async () => {
    const t = await openDirectoryTarget(pathToFileURL(join(dir, 'b')).href);
    const src = join(dir, 'body');
    writeFileSync(src, 'bundle bytes\n');
    const bytes = readFileSync(src);
    await t.put('log/segments/x.bundle', { path: src }, meta(bytes));
    const body = await t.read('log/segments/x.bundle');
    const chunks: Buffer[] = [];
    for await (const c of body!) chunks.push(Buffer.from(c));
    assert.equal(Buffer.concat(chunks).toString(), 'bundle bytes\n');
    assert.equal(await t.read('log/segments/none.bundle'), undefined);
    // the caller's hash is of other bytes: the read-back catches it
    await assert.rejects(
      t.put('log/segments/y.bundle', { path: src }, { ...meta(bytes), sha256: '0'.repeat(64) }),
      (e) => isEvidentError(e, ErrorCode.ARCHIVE_CONFLICT),
    );
  });

  it('refuses names outside the layout, unknown URL kinds, and an s3:// URL without a bucket', async () => {
    const t = await openDirectoryTarget(pathToFileURL(join(dir, 'c')).href);
    const x = new Uint8Array([1]);
    for (const name of ['../escape', 'a/../../b', '.hidden/x', '/abs']) {
      await assert.rejects(
        t.put(name, { bytes: x }, meta(x)),
        (e) => isEvidentError(e, ErrorCode.USAGE),
        name,
      );
    }
    await assert.rejects(openArchiveTarget('s3:///prefix'), (e) => isEvidentError(e, ErrorCode.USAGE));
    await assert.rejects(openArchiveTarget('ftp://host/x'), (e) => isEvidentError(e, ErrorCode.USAGE));
  });
});
