/**
 * The erasure statement and its check (src/core/event/erasure.ts): exact bytes, and hostile
 * metadata of an erasure event, which never authorises and never names what it does not say.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '../../src/core/bytes.ts';
import {
  checkErasure,
  type ErasureClaim,
  erasureStatement,
  erasureTargets,
  isReservedAction,
  readTargets,
  signErasure,
} from '../../src/core/event/erasure.ts';
import type { AuditEvent } from '../../src/core/event/schema.ts';
import { generateSigner, verifierFromPublicKey } from '../../src/core/note-keys.ts';

const ORIGIN = 'example.com/audit';
const { signer } = generateSigner('erasure.example.com');
const trusted = [verifierFromPublicKey(signer.name, signer.publicKey)];

const claim: ErasureClaim = {
  origin: ORIGIN,
  targets: { new_values: [3, 8], old_values: [3] },
  subject: { actor_id: 'alice' },
  reason: 'GDPR art. 17',
  by: { id: 'dpo@example.com', type: 'admin' },
};

function eventOf(c: ErasureClaim, erasure: unknown): AuditEvent {
  return {
    id: '01900000-0000-7000-8000-000000000000',
    timestamp: '2026-01-01T00:00:00Z',
    actor_id: c.by.id,
    actor_type: c.by.type as AuditEvent['actor_type'],
    ip_address: '127.0.0.1',
    action: 'evident.erasure',
    resource_type: 'data_subject',
    resource_id: 'alice',
    result: 'success',
    reason: c.reason,
    metadata: { subject: c.subject, erasure },
  } as AuditEvent;
}

describe('the erasure statement', () => {
  it('is the canonical JSON of its members, in RFC 8785 key order', () => {
    assert.deepEqual(
      erasureStatement(claim),
      utf8(
        '{"by":{"id":"dpo@example.com","type":"admin"},"origin":"example.com/audit","reason":"GDPR art. 17",' +
          '"statement":"evident-erasure/v1","subject":{"actor_id":"alice"},' +
          '"targets":{"new_values":[3,8],"old_values":[3]}}',
      ),
    );
  });

  it('a signed event is authorised by its key; any change of what it binds is not', () => {
    const a = signErasure(signer, claim);
    assert.equal(checkErasure(eventOf(claim, a), ORIGIN, trusted), 'authorised');
    assert.equal(checkErasure(eventOf(claim, a), ORIGIN, undefined), 'unauthenticated');
    assert.equal(checkErasure(eventOf(claim, a), 'example.com/other', trusted), 'unauthorised');
    assert.equal(checkErasure(eventOf({ ...claim, reason: 'other' }, a), ORIGIN, trusted), 'unauthorised');
    assert.equal(
      checkErasure(eventOf({ ...claim, by: { id: 'mallory', type: 'admin' } }, a), ORIGIN, trusted),
      'unauthorised',
    );
    assert.equal(
      checkErasure(eventOf({ ...claim, subject: { actor_id: 'bob' } }, a), ORIGIN, trusted),
      'unauthorised',
    );
    assert.equal(
      checkErasure(eventOf(claim, { ...a, targets: { new_values: [3, 8, 9] } }), ORIGIN, trusted),
      'unauthorised',
    );
  });

  it('hostile metadata is unauthorised, never a crash', () => {
    const a = signErasure(signer, claim);
    for (const erasure of [
      undefined,
      null,
      'x',
      [],
      { ...a, key: 7 },
      { ...a, key: 'other+00000000' },
      { ...a, signature: 'not base64!' },
      { ...a, signature: a.signature.slice(4) },
      { ...a, targets: { x: '\ud800' } },
    ]) {
      assert.equal(
        checkErasure(eventOf(claim, erasure), ORIGIN, trusted),
        'unauthorised',
        JSON.stringify(erasure),
      );
    }
  });
});

describe('the targets an erasure event names', () => {
  it('field → strictly ascending indexes before the event', () => {
    assert.deepEqual(
      [...(readTargets({ old_values: [1, 4], new_values: [4] }, 5) ?? new Map())].map(([i, f]) => [
        i,
        [...f],
      ]),
      [
        [1, ['old_values']],
        [4, ['old_values', 'new_values']],
      ],
    );
    for (const bad of [
      null,
      [],
      { old_values: 3 },
      { old_values: [4, 1] },
      { old_values: [1, 1] },
      { old_values: [5] },
      { old_values: [-1] },
      { old_values: [1.5] },
      { old_values: ['1'] },
    ]) {
      assert.equal(readTargets(bad, 5), undefined, JSON.stringify(bad));
    }
    assert.equal(erasureTargets(eventOf(claim, { targets: { old_values: [9] } }), 5).size, 0);
  });
});

describe('reserved actions', () => {
  it('evident. in any case, and only as a prefix', () => {
    assert.ok(isReservedAction('evident.erasure'));
    assert.ok(isReservedAction('EVIDENT.x'));
    assert.ok(isReservedAction('Evident.'));
    assert.ok(!isReservedAction('evident'));
    assert.ok(!isReservedAction('my.evident.erasure'));
    assert.ok(!isReservedAction('evidentx'));
  });
});
