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

/**
 * An entry's text fields, in the order every tabular view lists them (the store's columns, the
 * CSV export, the viewer): the event's own, with `received_at` where the log adds it.
 */
export const ENTRY_TEXT_FIELDS = [
  'id',
  'timestamp',
  'received_at',
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'result',
  'ip_address',
  'user_agent',
  'session_id',
  'reason',
] as const;

/** The event's structured fields (JSON values), after the text ones. */
export const ENTRY_JSON_FIELDS = ['changed_fields', 'old_values', 'new_values', 'metadata'] as const;
