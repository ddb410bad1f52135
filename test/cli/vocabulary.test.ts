import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as vocabulary from '../../src/cli/vocabulary.ts';
import * as schema from '../../src/core/event/schema.ts';

it("the CLI's help vocabulary is the event schema's", () => {
  assert.deepEqual(vocabulary.ACTOR_TYPES, schema.ACTOR_TYPES);
  assert.deepEqual(vocabulary.RESULTS, schema.RESULTS);
  assert.deepEqual(vocabulary.ERASABLE_CANDIDATES, schema.ERASABLE_CANDIDATES);
});
