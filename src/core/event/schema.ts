/**
 * The audit event as a client writes it: one TypeBox schema gives the static type, the
 * runtime check and (for the HTTP layer) the JSON Schema of the OpenAPI document.
 *
 * TypeBox over zod: its schemas are plain JSON Schema, which Fastify validates natively and
 * OpenAPI publishes as is, so the HTTP routes and the library share one definition; its
 * compiled checks are among the fastest in JS, which matters on the ingest path.
 */
import { type Static, Type } from '@sinclair/typebox';
import { UUID_PATTERN } from './uuid.ts';
import { ACTOR_TYPES, RESULTS } from './vocabulary.ts';

export const LIMITS = {
  idLength: 36,
  shortText: 256,
  name: 128,
  userAgent: 1024,
  reason: 4096,
  changedFields: 256,
  jsonBytes: 65536,
  jsonDepth: 16,
  eventBytes: 262144,
} as const;

/** Text on one line: no C0 control characters, no DEL. */
const SINGLE_LINE = '^[^\\u0000-\\u001f\\u007f]*$';
/** Free text: tab, LF and CR allowed, other controls not. */
const FREE_TEXT = '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$';

const line = (max: number, description: string) =>
  Type.String({ minLength: 1, maxLength: max, pattern: SINGLE_LINE, description });

const jsonObject = (description: string) => Type.Record(Type.String(), Type.Unknown(), { description });

export const EventSchema = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        pattern: UUID_PATTERN,
        description: 'UUID, lowercase; v7 preferred. A retry with the same id and content is idempotent.',
      }),
    ),
    timestamp: Type.Optional(
      Type.String({
        maxLength: 30,
        description: 'RFC 3339 UTC with Z, when the event happened; defaults to the time it was received.',
      }),
    ),
    actor_id: line(LIMITS.shortText, 'Who: the user, service or system that acted.'),
    actor_type: Type.Union(
      ACTOR_TYPES.map((t) => Type.Literal(t)),
      { description: 'Kind of actor.' },
    ),
    action: line(LIMITS.name, 'What happened, e.g. read, update, login, export.'),
    resource_type: line(LIMITS.name, 'Kind of resource acted on, e.g. patient_record.'),
    resource_id: line(LIMITS.shortText, 'Which resource.'),
    result: Type.Union(
      RESULTS.map((t) => Type.Literal(t)),
      { description: 'Outcome.' },
    ),
    ip_address: Type.Optional(
      Type.String({
        maxLength: 45,
        description: 'Where from: IPv4 or IPv6; required unless actor_type is system.',
      }),
    ),
    user_agent: Type.Optional(line(LIMITS.userAgent, 'Client identification.')),
    session_id: Type.Optional(line(LIMITS.shortText, 'Session identifier.')),
    reason: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: LIMITS.reason,
        pattern: FREE_TEXT,
        description: 'Why: clinical justification, ticket, business reason.',
      }),
    ),
    changed_fields: Type.Optional(
      Type.Array(line(LIMITS.shortText, 'Field name.'), {
        maxItems: LIMITS.changedFields,
        description: 'For writes: which fields changed.',
      }),
    ),
    old_values: Type.Optional(jsonObject('Values before the change (erasable by default).')),
    new_values: Type.Optional(jsonObject('Values after the change (erasable by default).')),
    metadata: Type.Optional(jsonObject('Anything else, as a JSON object.')),
  },
  { additionalProperties: false },
);

export type EventInput = Static<typeof EventSchema>;

/** An event after validation: id and timestamp are always present. */
export type AuditEvent = EventInput & { id: string; timestamp: string };

export const EVENT_FIELDS = Object.keys(EventSchema.properties) as (keyof AuditEvent)[];
export const REQUIRED_FIELDS = [
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'result',
] as const;

/** Fields whose value is an arbitrary JSON object. */
export const JSON_FIELDS = ['old_values', 'new_values', 'metadata'] as const;

export {
  ACTOR_TYPES,
  DEFAULT_ERASABLE,
  ERASABLE_CANDIDATES,
  type ErasableField,
  RESULTS,
} from './vocabulary.ts';
