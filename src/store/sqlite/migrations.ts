import type BetterSqlite3 from 'better-sqlite3';
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import { ERASURE_ACTION } from '../../core/event/erasure.ts';
import { PRUNE_ACTION } from '../../core/event/prune.ts';

/**
 * Versioned schema. Each migration runs once, in order, in its own transaction; the applied
 * version is kept in `meta`. Append-only is enforced by the database itself: triggers refuse
 * UPDATE and DELETE on every table of record, outside the one erasure path.
 */

const appendOnly = (table: string) => `
CREATE TRIGGER ${table}_no_update BEFORE UPDATE ON ${table}
  BEGIN SELECT RAISE(ABORT, 'evident: ${table} is append-only'); END;
CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
  BEGIN SELECT RAISE(ABORT, 'evident: ${table} is append-only'); END;`;

export const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE logs (
  log_id     INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  origin     TEXT NOT NULL,
  vkey       TEXT NOT NULL,
  erasable   TEXT NOT NULL,
  created_at TEXT NOT NULL,
  size       INTEGER NOT NULL DEFAULT 0,
  last_hash  TEXT NOT NULL DEFAULT 'GENESIS',
  frontier   BLOB NOT NULL DEFAULT x''
);
CREATE TRIGGER logs_no_rewrite BEFORE UPDATE ON logs
  WHEN NEW.size < OLD.size OR NEW.name IS NOT OLD.name OR NEW.origin IS NOT OLD.origin
    OR NEW.vkey IS NOT OLD.vkey OR NEW.erasable IS NOT OLD.erasable OR NEW.log_id IS NOT OLD.log_id
  BEGIN SELECT RAISE(ABORT, 'evident: a log head only grows'); END;
CREATE TRIGGER logs_no_delete BEFORE DELETE ON logs
  BEGIN SELECT RAISE(ABORT, 'evident: logs cannot be deleted'); END;

CREATE TABLE entries (
  log_id         INTEGER NOT NULL,
  idx            INTEGER NOT NULL,
  id             TEXT NOT NULL,
  timestamp      TEXT NOT NULL,
  received_at    TEXT NOT NULL,
  actor_id       TEXT NOT NULL,
  actor_type     TEXT NOT NULL,
  action         TEXT NOT NULL,
  resource_type  TEXT NOT NULL,
  resource_id    TEXT NOT NULL,
  result         TEXT NOT NULL,
  ip_address     TEXT,
  user_agent     TEXT,
  session_id     TEXT,
  reason         TEXT,
  changed_fields TEXT,
  old_values     TEXT,
  new_values     TEXT,
  metadata       TEXT,
  commitments    TEXT,
  prev_hash      TEXT NOT NULL,
  hash           TEXT NOT NULL
);
CREATE UNIQUE INDEX entries_position ON entries (log_id, idx);
CREATE UNIQUE INDEX entries_id ON entries (log_id, id);
-- the three compliance queries: one actor's actions over time; all access to one resource;
-- failures and denials per actor in a recent window. Time is indexed as an expression of the
-- hashed timestamp itself (RFC 3339 text does not sort by time when fraction digits vary), so
-- no derived column exists that could be edited apart from what verification checks.
CREATE INDEX entries_actor ON entries (log_id, actor_id, unixepoch(timestamp, 'subsec'));
CREATE INDEX entries_resource ON entries (log_id, resource_type, resource_id, unixepoch(timestamp, 'subsec'));
CREATE INDEX entries_failures ON entries (log_id, unixepoch(timestamp, 'subsec'), actor_id)
  WHERE result <> 'success';
${appendOnly('entries')}

-- values and salts of erasable fields: deleted only once an erasure record names them
CREATE TABLE entry_secrets (
  log_id INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  field  TEXT NOT NULL,
  value  TEXT NOT NULL,
  salt   TEXT NOT NULL,
  PRIMARY KEY (log_id, idx, field)
) WITHOUT ROWID;
CREATE TRIGGER entry_secrets_no_update BEFORE UPDATE ON entry_secrets
  BEGIN SELECT RAISE(ABORT, 'evident: entry_secrets is append-only'); END;
CREATE TRIGGER entry_secrets_erase_only BEFORE DELETE ON entry_secrets
  WHEN NOT EXISTS (SELECT 1 FROM erasures e
                   WHERE e.log_id = OLD.log_id AND e.idx = OLD.idx AND e.field = OLD.field)
  BEGIN SELECT RAISE(ABORT, 'evident: a value is deleted only by a recorded erasure'); END;

CREATE TABLE erasures (
  log_id      INTEGER NOT NULL,
  idx         INTEGER NOT NULL,
  field       TEXT NOT NULL,
  erasure_idx INTEGER NOT NULL,
  PRIMARY KEY (log_id, idx, field)
) WITHOUT ROWID;
CREATE TRIGGER erasures_need_event BEFORE INSERT ON erasures
  WHEN NOT EXISTS (SELECT 1 FROM entries
                   WHERE log_id = NEW.log_id AND idx = NEW.erasure_idx AND action = 'evident.erasure')
  BEGIN SELECT RAISE(ABORT, 'evident: an erasure must name its audit event'); END;
${appendOnly('erasures')}

-- perfect subtree hashes above the leaves (level >= 1): proofs read O(log n) of them
CREATE TABLE tree_nodes (
  log_id INTEGER NOT NULL,
  level  INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  hash   BLOB NOT NULL,
  PRIMARY KEY (log_id, level, idx)
) WITHOUT ROWID;
${appendOnly('tree_nodes')}

CREATE TABLE checkpoints (
  log_id     INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  root       BLOB NOT NULL,
  note       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (log_id, size)
) WITHOUT ROWID;
${appendOnly('checkpoints')}
`,
  `
-- API keys of the audit service: the secret is never stored, only its SHA-256
CREATE TABLE api_keys (
  key_id      TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  logs        TEXT NOT NULL,
  scopes      TEXT NOT NULL,
  description TEXT,
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);
CREATE TRIGGER api_keys_revoke_only BEFORE UPDATE ON api_keys
  WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
    OR NEW.key_id IS NOT OLD.key_id OR NEW.secret_hash IS NOT OLD.secret_hash OR NEW.logs IS NOT OLD.logs
    OR NEW.scopes IS NOT OLD.scopes OR NEW.description IS NOT OLD.description OR NEW.created_at IS NOT OLD.created_at
  BEGIN SELECT RAISE(ABORT, 'evident: an API key can only be revoked, once'); END;
CREATE TRIGGER api_keys_no_delete BEFORE DELETE ON api_keys
  BEGIN SELECT RAISE(ABORT, 'evident: API keys are revoked, never deleted'); END;
`,
  `
-- An erasure record (and so the deletion of a value) must be named, by index and field, in the
-- targets of a later erasure event (docs/formats.md, "Erasable fields and erasures"), not merely point at one.
DROP TRIGGER erasures_need_event;
CREATE TRIGGER erasures_named_by_event BEFORE INSERT ON erasures
  WHEN NEW.idx >= NEW.erasure_idx OR NOT EXISTS (
    SELECT 1 FROM entries e, json_each(e.metadata, '$.erasure.targets."' || NEW.field || '"') t
    WHERE e.log_id = NEW.log_id AND e.idx = NEW.erasure_idx AND e.action = '${ERASURE_ACTION}'
      AND t.type = 'integer' AND t.value = NEW.idx)
  BEGIN SELECT RAISE(ABORT, 'evident: an erasure must be named by its erasure event'); END;
`,
  `
-- write-ahead intents of fail-closed requests: provisional events durable before a handler
-- runs; not part of the log (each row is deleted in the transaction that appends its event)
CREATE TABLE intents (
  log_id     INTEGER NOT NULL,
  id         TEXT NOT NULL,
  event      TEXT NOT NULL,
  owner      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (log_id, id)
) WITHOUT ROWID;
`,
  `
-- witness cosignatures a log gathered for its checkpoints (C2SP tlog-cosignature), one per
-- checkpoint size and witness key; the largest size per witness is where its next proof starts
CREATE TABLE checkpoint_cosignatures (
  log_id     INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  name       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  line       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (log_id, size, name, key_id)
) WITHOUT ROWID;
CREATE INDEX checkpoint_cosignatures_witness ON checkpoint_cosignatures (log_id, name, key_id, size);
${appendOnly('checkpoint_cosignatures')}

-- evident witness: the logs it checks (one row per origin and verifier key, added once) and the
-- checkpoints it cosigned; its state for an origin is the largest size cosigned
CREATE TABLE witness_logs (
  origin   TEXT NOT NULL,
  vkey     TEXT NOT NULL,
  added_at TEXT NOT NULL,
  PRIMARY KEY (origin, vkey)
) WITHOUT ROWID;
${appendOnly('witness_logs')}
CREATE TABLE witness_checkpoints (
  origin      TEXT NOT NULL,
  size        INTEGER NOT NULL,
  root        BLOB NOT NULL,
  note        TEXT NOT NULL,
  cosigned_at TEXT NOT NULL,
  PRIMARY KEY (origin, size)
) WITHOUT ROWID;
${appendOnly('witness_checkpoints')}
`,
  `
-- Pruning past online retention (docs/retention.md): a range of entries leaves the store only
-- once an evident.prune event names it (metadata.segment.first/last) and each pruned entry's
-- leaf hash is kept in pruned_leaves, so that the tree, every checkpoint and every later proof
-- still verify. Any other DELETE of an entry or a value is refused, as before.
CREATE TABLE pruned_ranges (
  log_id    INTEGER NOT NULL,
  first_idx INTEGER NOT NULL,
  last_idx  INTEGER NOT NULL,
  prune_idx INTEGER NOT NULL,
  PRIMARY KEY (log_id, first_idx)
) WITHOUT ROWID;
CREATE TRIGGER pruned_ranges_named_by_event BEFORE INSERT ON pruned_ranges
  WHEN NEW.first_idx < 0 OR NEW.last_idx < NEW.first_idx OR NEW.last_idx >= NEW.prune_idx OR NOT EXISTS (
    SELECT 1 FROM entries e
    WHERE e.log_id = NEW.log_id AND e.idx = NEW.prune_idx AND e.action = '${PRUNE_ACTION}'
      AND json_extract(e.metadata, '$.segment.first') = NEW.first_idx
      AND json_extract(e.metadata, '$.segment.last') = NEW.last_idx)
  BEGIN SELECT RAISE(ABORT, 'evident: a pruned range must be named by its prune event'); END;
${appendOnly('pruned_ranges')}

CREATE TABLE pruned_leaves (
  log_id INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  hash   TEXT NOT NULL,
  PRIMARY KEY (log_id, idx)
) WITHOUT ROWID;
CREATE TRIGGER pruned_leaves_in_range BEFORE INSERT ON pruned_leaves
  WHEN NOT EXISTS (SELECT 1 FROM pruned_ranges p
                   WHERE p.log_id = NEW.log_id AND NEW.idx BETWEEN p.first_idx AND p.last_idx)
  BEGIN SELECT RAISE(ABORT, 'evident: a pruned leaf lies inside a recorded pruned range'); END;
${appendOnly('pruned_leaves')}

DROP TRIGGER entries_no_delete;
CREATE TRIGGER entries_prune_only BEFORE DELETE ON entries
  WHEN NOT EXISTS (SELECT 1 FROM pruned_ranges p
                   WHERE p.log_id = OLD.log_id AND OLD.idx BETWEEN p.first_idx AND p.last_idx)
    OR NOT EXISTS (SELECT 1 FROM pruned_leaves l
                   WHERE l.log_id = OLD.log_id AND l.idx = OLD.idx AND l.hash = OLD.hash)
  BEGIN SELECT RAISE(ABORT, 'evident: an entry is deleted only inside a recorded pruned range, its leaf hash kept'); END;

DROP TRIGGER entry_secrets_erase_only;
CREATE TRIGGER entry_secrets_erase_only BEFORE DELETE ON entry_secrets
  WHEN NOT EXISTS (SELECT 1 FROM erasures e
                   WHERE e.log_id = OLD.log_id AND e.idx = OLD.idx AND e.field = OLD.field)
   AND NOT EXISTS (SELECT 1 FROM pruned_ranges p
                   WHERE p.log_id = OLD.log_id AND OLD.idx BETWEEN p.first_idx AND p.last_idx)
  BEGIN SELECT RAISE(ABORT, 'evident: a value is deleted only by a recorded erasure or prune'); END;
`,
  // 7: alerts (docs/alerts.md): the once-only record of raised alerts and their durable
  // delivery queue. Not tables of record: the alert itself is an evident.alert event.
  `
CREATE TABLE alerts (
  alert_key  TEXT PRIMARY KEY,
  rule       TEXT NOT NULL,
  log        TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE alert_deliveries (
  alert_key    TEXT NOT NULL REFERENCES alerts (alert_key),
  sink         TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      TEXT NOT NULL,
  delivered_at TEXT,
  last_error   TEXT,
  PRIMARY KEY (alert_key, sink)
) WITHOUT ROWID;
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_at) WHERE delivered_at IS NULL;
`,
  // 8: tree nodes kept together by the C2SP tile they belong to (docs/design.md, "Store"):
  // tile level L holds tree levels 8L to 8L + 7, and a node of level l and index i lies in tile
  // i >> (8 - (l & 7)) of tile level l >> 3. An inclusion proof needs, at each level, the sibling
  // of the leaf's ancestor: those of levels 8L to 8L + 7 all lie in one tile, so a proof reads a
  // few neighbouring pages per tile level instead of one place per tree level. The tile columns
  // are part of the key and must agree with level and idx (CHECK). Rows copied in key order;
  // DROP TABLE fires no trigger, and the append-only triggers are made again on the new table.
  `
CREATE TABLE tree_nodes_by_tile (
  log_id     INTEGER NOT NULL,
  tile_level INTEGER NOT NULL,
  tile_index INTEGER NOT NULL,
  level      INTEGER NOT NULL,
  idx        INTEGER NOT NULL,
  hash       BLOB NOT NULL,
  PRIMARY KEY (log_id, tile_level, tile_index, level, idx),
  CHECK (level >= 1 AND tile_level = level >> 3 AND tile_index = idx >> (8 - (level & 7)))
) WITHOUT ROWID;
INSERT INTO tree_nodes_by_tile (log_id, tile_level, tile_index, level, idx, hash)
  SELECT log_id, level >> 3, idx >> (8 - (level & 7)), level, idx, hash FROM tree_nodes
  ORDER BY log_id, level >> 3, idx >> (8 - (level & 7)), level, idx;
DROP TABLE tree_nodes;
ALTER TABLE tree_nodes_by_tile RENAME TO tree_nodes;
${appendOnly('tree_nodes')}
`,
];

const schemaVersion = (db: BetterSqlite3.Database): number => {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
    | { value: string }
    | undefined;
  return row ? Number(row.value) : 0;
};

/**
 * For a store opened read-only, which cannot migrate: throws unless its schema is this
 * evident's. An older file would answer with its old tables' shapes (a proof or a verification
 * could fail on them, or report the missing objects as drift), so it is refused with the way on.
 */
export function checkVersion(db: BetterSqlite3.Database, path: string): void {
  const version = schemaVersion(db);
  if (version === MIGRATIONS.length) return;
  throw new EvidentError(
    ErrorCode.STORE_FAILED,
    version > MIGRATIONS.length
      ? `database ${path} is at schema ${version}, newer than this evident (${MIGRATIONS.length})`
      : `database ${path} is at schema ${version}; this evident needs ${MIGRATIONS.length}: open it once for writing to migrate it (evident checkpoint or evident serve do), or migrate a copy of the file`,
    { path, version, needed: MIGRATIONS.length },
  );
}

/** Applies the migrations not yet applied, in one immediate transaction. */
export function migrate(db: BetterSqlite3.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const run = db.transaction(() => {
    const version = schemaVersion(db);
    if (version > MIGRATIONS.length) {
      throw new EvidentError(ErrorCode.STORE_FAILED, `database schema ${version} is newer than this evident`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(
      String(MIGRATIONS.length),
    );
  });
  run.immediate();
}
