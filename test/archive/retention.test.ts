/** Retention presets, from the standards' text, and the rules that refuse a policy. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addDuration, parseDuration } from '../../src/archive/duration.ts';
import { buildPolicy, shortenings } from '../../src/archive/retention.ts';
import { ErrorCode, type EvidentError, isEvidentError } from '../../src/core/errors.ts';

const rule = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(isEvidentError(e, ErrorCode.USAGE));
    return (e as EvidentError).details['rule'];
  }
  assert.fail('not refused');
};

describe('retention presets', () => {
  it('pci-dss is 3 months online and 12 months in all (10.5.1), not 12 + 12', () => {
    const p = buildPolicy({ preset: 'pci-dss' });
    assert.deepEqual([p.online, p.archive], ['3m', '12m']);
    assert.match(p.basis, /10\.5\.1/);
  });
  it('hipaa keeps 6 years (164.316(b)(2)(i)) and says 164.312(b) sets no period', () => {
    const p = buildPolicy({ preset: 'hipaa' });
    assert.equal(p.archive, '6y');
    assert.match(p.basis, /164\.312\(b\) sets no period/);
  });
  it('soc2 is 1 year, an expectation, not a rule', () => {
    assert.equal(buildPolicy({ preset: 'soc2' }).archive, '1y');
  });
  it('gdpr needs a duration and a purpose; online defaults to the same period', () => {
    assert.equal(
      rule(() => buildPolicy({ preset: 'gdpr', purpose: 'x' })),
      'gdpr_needs_duration',
    );
    assert.equal(
      rule(() => buildPolicy({ preset: 'gdpr', archive: '2y' })),
      'gdpr_needs_purpose',
    );
    const p = buildPolicy({ preset: 'gdpr', archive: '2y', purpose: 'fraud' });
    assert.deepEqual([p.online, p.archive, p.purpose], ['2y', '2y', 'fraud']);
  });
  it('custom needs both periods; online no longer than the whole; durations and segments are checked', () => {
    assert.equal(
      rule(() => buildPolicy({ preset: 'custom', online: '90d' })),
      'custom_needs_durations',
    );
    assert.equal(
      rule(() => buildPolicy({ preset: 'custom', online: '2y', archive: '1y' })),
      'online_beyond_archive',
    );
    assert.equal(
      rule(() => buildPolicy({ preset: 'custom', online: '90 days', archive: '1y' })),
      'duration',
    );
    assert.equal(
      rule(() => buildPolicy({ preset: 'custom', online: '1d', archive: '1y', segment: 'week' })),
      'segment',
    );
    assert.equal(
      rule(() => buildPolicy({ preset: 'iso' as never })),
      'preset',
    );
    assert.deepEqual(
      buildPolicy({ preset: 'custom', online: '90d', archive: '7y', segment: '500' }).segment,
      {
        by: 'count',
        entries: 500,
      },
    );
  });
  it('shortening below the preset or the policy in force is named', () => {
    const pci = buildPolicy({ preset: 'pci-dss' });
    assert.equal(shortenings(buildPolicy({ preset: 'pci-dss', archive: '6m' }), undefined).length, 1);
    assert.deepEqual(shortenings(pci, buildPolicy({ preset: 'hipaa' })).length, 2);
    assert.deepEqual(shortenings(buildPolicy({ preset: 'hipaa' }), pci), []);
  });
  it('months and years are calendar steps in UTC', () => {
    assert.equal(
      addDuration(new Date('2026-01-31T12:00:00Z'), parseDuration('1m', 'x')).toISOString(),
      '2026-03-03T12:00:00.000Z',
    );
    assert.equal(
      addDuration(new Date('2024-02-29T00:00:00Z'), parseDuration('1y', 'x')).toISOString(),
      '2025-03-01T00:00:00.000Z',
    );
  });
});
