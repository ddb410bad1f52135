/**
 * The event's enumerations, in a module of their own without TypeBox, so that a command
 * printing its --help can name them without loading the schema compiler.
 */
export const ACTOR_TYPES = ['user', 'service', 'admin', 'system', 'anonymous'] as const;
export const RESULTS = ['success', 'failure', 'denied'] as const;

/** Fields that may be configured as erasable: optional, and not needed to order or find an event. */
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
export type ErasableField = (typeof ERASABLE_CANDIDATES)[number];
export const DEFAULT_ERASABLE: readonly ErasableField[] = ['old_values', 'new_values'];
