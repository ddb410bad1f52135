/**
 * The event schema's enumerations, for help text only: importing the schema would load TypeBox
 * (a quarter of a second) just to print --help. test/cli/vocabulary.test.ts keeps these equal
 * to ../core/event/schema.ts; flag values are checked against the schema's own lists.
 */
export const ACTOR_TYPES = ['user', 'service', 'admin', 'system', 'anonymous'] as const;
export const RESULTS = ['success', 'failure', 'denied'] as const;
export const ERASABLE_CANDIDATES = [
  'ip_address',
  'user_agent',
  'session_id',
  'reason',
  'changed_fields',
  'old_values',
  'new_values',
  'metadata',
] as const;
