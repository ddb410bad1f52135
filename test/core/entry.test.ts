import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../src/core/bytes.ts';
import { canonicalize } from '../../src/core/canonical.ts';
import {
  checkCommitment,
  commitment,
  type Entry,
  entryLeafHash,
  GENESIS,
  leafBytes,
  leafObject,
  leafText,
  sealEvent,
} from '../../src/core/event/entry.ts';
import { validateEvent } from '../../src/core/event/validate.ts';
import { leafHash, sha256 } from '../../src/core/hash.ts';

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });

const arbEntry = fc.record(
  {
    id: fc.uuid(),
    timestamp: fc.constant('2026-01-02T03:04:05.678Z'),
    actor_id: text,
    actor_type: fc.constantFrom('user', 'service', 'admin', 'system', 'anonymous'),
    action: text,
    resource_type: text,
    resource_id: text,
    result: fc.constantFrom('success', 'failure', 'denied'),
    ip_address: fc.constantFrom('10.0.0.1', '2001:db8::1'),
    user_agent: text,
    session_id: text,
    reason: fc.string({ unit: 'binary', maxLength: 20 }),
    changed_fields: fc.array(text, { maxLength: 3 }),
    old_values: jsonObject,
    new_values: jsonObject,
    metadata: jsonObject,
    index: fc.nat(),
    received_at: fc.constant('2026-01-02T03:04:06.000Z'),
    prev_hash: fc.constantFrom(GENESIS, 'ab'.repeat(32)),
  },
  {
    requiredKeys: [
      'id',
      'timestamp',
      'actor_id',
      'actor_type',
      'action',
      'resource_type',
      'resource_id',
      'result',
      'index',
      'received_at',
      'prev_hash',
    ],
  },
);

describe('leaf bytes', () => {
  it('the field-by-field writer equals RFC 8785 canonical JSON of the leaf object', () => {
    fc.assert(
      fc.property(arbEntry, fc.boolean(), (raw, commit) => {
        const e = raw as unknown as Entry;
        if (commit && e.old_values !== undefined) {
          e.commitments = { old_values: 'cd'.repeat(32) };
          e.salts = { old_values: 'ef'.repeat(32) };
        }
        assert.equal(leafText(e), canonicalize(leafObject(e)));
        assert.deepEqual(entryLeafHash(e), leafHash(utf8(canonicalize(leafObject(e)))));
      }),
      { numRuns: 500 },
    );
  });

  it('an entry with an unexpected key still hashes as its canonical JSON (the general path)', () => {
    const e = { index: 0, prev_hash: GENESIS, extra: { b: 1, a: 2 } } as unknown as Entry;
    assert.equal(leafText(e), '{"extra":{"a":2,"b":1},"index":0,"prev_hash":"GENESIS"}');
  });

  it('leaves out hash, salts, erased and committed values; keeps commitments', () => {
    const ev = validateEvent({
      actor_id: 'u',
      actor_type: 'user',
      action: 'update',
      resource_type: 'r',
      resource_id: '1',
      result: 'success',
      ip_address: '10.0.0.1',
      old_values: { name: 'Alice' },
    });
    const { entry, leafHash: lh } = sealEvent(ev, {
      index: 3,
      received_at: '2026-01-01T00:00:00.000Z',
      prev_hash: GENESIS,
      erasable: ['old_values'],
      random: (n) => new Uint8Array(n).fill(9),
    });
    const leaf = JSON.parse(new TextDecoder().decode(leafBytes(entry)));
    assert.equal(leaf.old_values, undefined);
    assert.equal(leaf.salts, undefined);
    assert.equal(leaf.hash, undefined);
    assert.equal(leaf.commitments.old_values, entry.commitments!.old_values);
    assert.equal(entry.hash, toHex(lh));
    // commitment = SHA-256(salt || JCS(value))
    const salt = new Uint8Array(32).fill(9);
    const expected = sha256(new Uint8Array([...salt, ...utf8('{"name":"Alice"}')]));
    assert.equal(entry.commitments!.old_values, toHex(expected));
    assert.deepEqual(commitment(salt, { name: 'Alice' }), expected);
    assert.equal(
      checkCommitment(entry.commitments!.old_values!, entry.salts!.old_values!, { name: 'Alice' }),
      true,
    );
    assert.equal(
      checkCommitment(entry.commitments!.old_values!, entry.salts!.old_values!, { name: 'Bob' }),
      false,
    );
    // erasing the value and salt leaves the leaf, and so the hash, unchanged
    const erased = {
      ...entry,
      old_values: undefined,
      salts: undefined,
      erased: ['old_values'],
    } as unknown as Entry;
    assert.deepEqual(entryLeafHash(erased), fromHex(entry.hash));
  });
});
