/**
 * The routes' schemas, in TypeBox: each gives the route its validation (./validation.ts), its
 * handler types (./type-provider.ts) and its part of the OpenAPI document. Response schemas are
 * documentation only: responses are written with JSON.stringify, so no field is ever dropped.
 */

import { type TSchema, Type } from '@sinclair/typebox';
import { EventSchema, LIMITS } from '../core/event/schema.ts';
import { UUID_PATTERN } from '../core/event/uuid.ts';
import { ACTOR_TYPES, RESULTS } from '../core/event/vocabulary.ts';
import { LOG_NAME_PATTERN, LOG_NAME_RULE } from '../core/log-name.ts';
import { EXPORT_FORMATS } from '../ledger/siem/index.ts';
import { LEDGER_VALIDATES } from './validation.ts';

const SINGLE_LINE = '^[^\\u0000-\\u001f\\u007f]*$';
const line = (max: number, description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength: max, pattern: SINGLE_LINE, description }));
const count = (description: string, o: { minimum?: number; maximum?: number } = {}) =>
  Type.Integer({ minimum: o.minimum ?? 0, maximum: o.maximum ?? Number.MAX_SAFE_INTEGER, description });
const time = (description: string) =>
  Type.Optional(
    Type.String({ minLength: 10, maxLength: 40, description: `${description} (RFC 3339 date-time or date)` }),
  );

const LogName = Type.String({
  pattern: LOG_NAME_PATTERN,
  description: `Log name: ${LOG_NAME_RULE}.`,
});

export const LogParams = Type.Object({ log: LogName }, { additionalProperties: false });

const INDEX = '0|[1-9][0-9]{0,15}';
export const EntryParams = Type.Object(
  {
    log: LogName,
    ref: Type.String({
      pattern: `^(?:${UUID_PATTERN.slice(1, -1)}|${INDEX})$`,
      description: 'The event id (UUID) or its leaf index (decimal).',
    }),
  },
  { additionalProperties: false },
);

export const EventsQuery = Type.Object(
  {
    actor_id: line(LIMITS.shortText, 'Only this actor.'),
    actor_type: Type.Optional(
      Type.Union(
        ACTOR_TYPES.map((t) => Type.Literal(t)),
        { description: 'Only this actor type.' },
      ),
    ),
    action: line(LIMITS.name, 'Only this action.'),
    resource_type: line(LIMITS.name, 'Only this resource type.'),
    resource_id: line(LIMITS.shortText, 'Only this resource.'),
    result: Type.Optional(
      Type.String({
        pattern: `^(?:${RESULTS.join('|')})(?:,(?:${RESULTS.join('|')}))*$`,
        maxLength: 64,
        description: `Only these results, comma-separated (${RESULTS.join(', ')}).`,
      }),
    ),
    ip_address: Type.Optional(
      Type.String({ minLength: 1, maxLength: 45, description: 'Only this IPv4 or IPv6 address.' }),
    ),
    session_id: line(LIMITS.shortText, 'Only this session.'),
    since: time('Events at or after this time'),
    until: time('Events before this time'),
    cursor: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,32}$',
        description: 'Opaque: the next_cursor of the previous page.',
      }),
    ),
    limit: Type.Optional(count('Most entries on the page.', { minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const FailuresQuery = Type.Object(
  {
    hours: Type.Optional(
      count('The window, in hours back from now (default 24).', { minimum: 1, maximum: 2_400_000 }),
    ),
    min: Type.Optional(count('List actors with more than this many failures or denials (default 5).')),
    limit: Type.Optional(count('Most actors on the page (default 100).', { minimum: 1, maximum: 1000 })),
    cursor: Type.Optional(
      Type.String({ maxLength: 512, description: 'next_cursor of the previous page, as given.' }),
    ),
  },
  { additionalProperties: false },
);

export const CheckpointQuery = Type.Object(
  { size: Type.Optional(count('The checkpoint of this tree size (default: the latest).')) },
  { additionalProperties: false },
);

export const InclusionQuery = Type.Object(
  {
    index: count('Leaf index of the entry.'),
    size: Type.Optional(count('Tree size to prove against (default: the latest checkpoint).')),
  },
  { additionalProperties: false },
);

export const ConsistencyQuery = Type.Object(
  { from: count('The older tree size.'), to: count('The newer tree size.') },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    since: time('Entries received at or after this time'),
    until: time('Entries received before this time'),
    format: Type.Optional(
      Type.String({
        pattern: `^(?:${EXPORT_FORMATS.join('|')})$`,
        description:
          'bundle (default): the verifiable bundle; ocsf (OCSF 1.3.0 JSON Lines), cef, syslog (RFC 5424) or csv (RFC 4180): records for a SIEM, each naming origin, index and leaf hash.',
      }),
    ),
    bom: Type.Optional(
      Type.String({
        pattern: '^(?:true|false)$',
        description: 'With format=csv, true: start with a UTF-8 byte order mark.',
      }),
    ),
  },
  { additionalProperties: false },
);

export function ingestBody(maxBatch: number): TSchema {
  return Type.Union([EventSchema, Type.Array(EventSchema, { minItems: 1, maxItems: maxBatch })], {
    [LEDGER_VALIDATES]: 'ledger',
    description:
      'One event, or an array of events appended all together or not at all. Validated by the ledger: ' +
      'a 400 lists every fault with the item position, field and rule.',
  });
}

const Issue = Type.Object({
  item: Type.Optional(Type.Integer({ description: 'Position of the event in the array sent.' })),
  field: Type.String(),
  rule: Type.String(),
  message: Type.String(),
});

export const ErrorBody = Type.Object(
  {
    code: Type.String({ description: 'Stable error code (docs/http-api.md).' }),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    rule: Type.Optional(Type.String()),
    issues: Type.Optional(Type.Array(Issue)),
  },
  { additionalProperties: true },
);

const Receipt = Type.Object({
  id: Type.String(),
  index: Type.Integer(),
  hash: Type.String({ description: 'RFC 6962 leaf hash, hex.' }),
  duplicate: Type.Optional(
    Type.Boolean({ description: 'A retry of an event already stored: its original receipt.' }),
  ),
});

export const IngestResponse = Type.Object({ receipts: Type.Array(Receipt) });

export const Entry = Type.Object(
  {
    index: Type.Integer(),
    hash: Type.String({ description: 'Leaf hash, hex.' }),
    prev_hash: Type.String({ description: 'Hash of the previous entry, or GENESIS.' }),
    received_at: Type.String(),
  },
  { additionalProperties: true, description: 'A stored entry: every event field and the server fields.' },
);

export const EntriesPage = Type.Object({
  entries: Type.Array(Entry),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null at the end.',
  }),
});

export const FailuresResponse = Type.Object({
  since: Type.String(),
  actors: Type.Array(
    Type.Object({ actor_id: Type.String(), failures: Type.Integer(), last_timestamp: Type.String() }),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null at the end.',
  }),
});

export const InclusionProof = Type.Object({
  index: Type.Integer(),
  size: Type.Integer(),
  leaf_hash: Type.String({ description: 'RFC 6962 leaf hash, base64.' }),
  leaf: Type.Optional(
    Type.String({
      description: 'The leaf bytes (RFC 8785 JSON of the entry), base64: only for keys with read scope.',
    }),
  ),
  hashes: Type.Array(Type.String(), { description: 'Audit path, leaf to root (RFC 9162 §2.1.3), base64.' }),
});

export const ConsistencyProof = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  hashes: Type.Array(Type.String(), { description: 'RFC 9162 §2.1.4 consistency proof, base64.' }),
});

export const EntryWithProof = Type.Object({
  entry: Entry,
  proof: InclusionProof,
  checkpoint: Type.String({ description: 'The signed checkpoint the proof leads to.' }),
});

/** A tile route's parameters: the log, and the rest of the path after the route's prefix. */
export const TileParams = Type.Object(
  { log: LogName, '*': Type.String({ maxLength: 200, description: 'The tile path after the prefix.' }) },
  { additionalProperties: false },
);

export const Binary = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } },
});

export const Text = (description: string) => ({
  description,
  content: { 'text/plain': { schema: Type.String() } },
});

/** The error answers a route may give, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
}
