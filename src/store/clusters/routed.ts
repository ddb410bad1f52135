/**
 * One Store over several PostgreSQL clusters (docs/clusters.md): each log's reads and writes go
 * to the cluster the map places it on; API keys, alerts and witness state stay on the home
 * cluster. A log is served only where the map places it: found marked moved there, it is
 * LOG_MOVED; found on another cluster instead, LOG_MISPLACED; and it is created on first use
 * only once every other cluster answered that it does not hold it. Log ids differ per database,
 * so the ids this store hands out are its own, each standing for (cluster, id).
 *
 * A cluster that does not answer fails only the logs placed on it (and the lookup of a log
 * found on none of the others): the rest go on.
 */

import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { Entry } from '../../core/event/entry.ts';
import type { NodeId } from '../../core/merkle/index.ts';
import type { FullStore } from '../open.ts';
import { logMoved, RETRY_AFTER_MS } from '../postgres/errors.ts';
import { isPgHandle, movedLogs, moveState } from '../postgres/moves.ts';
import type { SchemaCheck } from '../schema-drift.ts';
import type {
  AlertDelivery,
  ApiKeyRecord,
  EntryFilter,
  Erasure,
  FailureCount,
  LogHead,
  LogInfo,
  NodeHash,
  PreparedAppend,
  PrunedRange,
  StoredAlert,
  StoredCheckpoint,
  StoredCosignature,
  StoredIntent,
  WitnessedLog,
  WitnessTx,
  WriteOptions,
  WriteTx,
} from '../types.ts';
import { type ClusterMap, clusterOf, HOME_CLUSTER } from './map.ts';

export interface ClusterHealth {
  name: string;
  up: boolean;
  /** Why not, when down: the error code (STORE_BUSY while unreachable) and its message. */
  code?: string;
  message?: string;
}

interface Handle {
  cluster: string;
  store: FullStore;
  id: number;
  name: string;
}

/** How long a health probe of one cluster may take before it counts as down. */
const PROBE_TIMEOUT_MS = 3000;

export class RoutedStore implements FullStore {
  readonly kind = 'postgres' as const;
  private map: ClusterMap;
  private readonly handles = new Map<number, Handle>();
  private readonly ids = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly stores: ReadonlyMap<string, FullStore>,
    map: ClusterMap,
  ) {
    for (const name of map.clusters.keys()) {
      if (!stores.has(name)) throw new Error(`no store for cluster ${name}`);
    }
    this.map = map;
  }

  /** The map in force. */
  get clusterMap(): ClusterMap {
    return this.map;
  }

  /**
   * Takes a new placement (SIGHUP). The clusters themselves (names and URLs) must be the same:
   * a new cluster needs a restart. Returns the logs whose cluster changed.
   */
  setMap(next: ClusterMap): string[] {
    const same =
      next.clusters.size === this.map.clusters.size &&
      [...next.clusters].every(([name, url]) => this.map.clusters.get(name) === url);
    if (!same) {
      throw new EvidentError(
        ErrorCode.USAGE,
        'clusters: the clusters changed (a name or URL): restart the server to take them; the placement was not reloaded',
        { field: 'clusters', rule: 'restart' },
      );
    }
    const logs = new Set([...this.map.placement.keys(), ...next.placement.keys()]);
    const changed = [...logs].filter((l) => clusterOf(this.map, l) !== clusterOf(next, l));
    this.map = next;
    return changed;
  }

  /** The cluster each log id of this store stands for. */
  clusterOfId(logId: number): string | undefined {
    return this.handles.get(logId)?.cluster;
  }

  private storeOf(cluster: string): FullStore {
    const s = this.stores.get(cluster);
    if (!s) throw new EvidentError(ErrorCode.INTERNAL, `no cluster "${cluster}"`);
    return s;
  }

  private get home(): FullStore {
    return this.storeOf(HOME_CLUSTER);
  }

  private wrap(cluster: string, info: LogInfo): LogInfo {
    const key = `${cluster}\u0000${info.id}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(key, id);
      this.handles.set(id, { cluster, store: this.storeOf(cluster), id: info.id, name: info.name });
    }
    return { ...info, id };
  }

  private h(logId: number): Handle {
    const h = this.handles.get(logId);
    if (!h) throw new EvidentError(ErrorCode.NOT_FOUND, `no log with id ${logId} in this store`);
    return h;
  }

  /** Health of every cluster: one small query each, in parallel, each bounded in time. */
  async clusterHealth(): Promise<ClusterHealth[]> {
    return Promise.all(
      [...this.map.clusters.keys()].map(async (name) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            this.storeOf(name).getLog(''),
            new Promise((_, reject) => {
              timer = setTimeout(
                () =>
                  reject(
                    new EvidentError(ErrorCode.STORE_BUSY, `no answer within ${PROBE_TIMEOUT_MS} ms`, {
                      retry_after_ms: RETRY_AFTER_MS,
                    }),
                  ),
                PROBE_TIMEOUT_MS,
              );
            }),
          ]);
          return { name, up: true };
        } catch (e) {
          const code = e instanceof EvidentError ? e.code : ErrorCode.STORE_FAILED;
          return { name, up: false, code, message: (e as Error).message };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  // ------------------------------------------------------------------ logs: placed, checked

  async createLog(spec: Omit<LogInfo, 'id' | 'createdAt'>): Promise<LogInfo> {
    // Never where another cluster holds it: getLog refuses (LOG_MISPLACED) or cannot tell (STORE_BUSY).
    if (await this.getLog(spec.name)) {
      throw new EvidentError(ErrorCode.USAGE, `log "${spec.name}" exists`, { field: 'log', log: spec.name });
    }
    const cluster = clusterOf(this.map, spec.name);
    return this.wrap(cluster, await this.storeOf(cluster).createLog(spec));
  }

  async getLog(name: string): Promise<LogInfo | undefined> {
    const cluster = clusterOf(this.map, name);
    const store = this.storeOf(cluster);
    const info = await store.getLog(name);
    if (info) {
      const state = isPgHandle(store) ? await moveState(store, info.id) : {};
      if (state.movedTo !== undefined) throw logMoved(state.movedTo, name);
      if (state.movingFrom !== undefined) {
        throw new EvidentError(
          ErrorCode.LOG_MOVED,
          `log "${name}" is still being moved to cluster "${cluster}" from "${state.movingFrom}": served once the copy is verified; retry`,
          { log: name, moved_to: cluster, moving_from: state.movingFrom, retry_after_ms: RETRY_AFTER_MS },
        );
      }
      return this.wrap(cluster, info);
    }
    // Not where the map places it: it must be on no other cluster either (except copies left
    // read-only there by a move), else the maps of the servers disagree.
    const others = [...this.map.clusters.keys()].filter((c) => c !== cluster);
    const found = await Promise.allSettled(
      others.map(async (c) => {
        const s = this.storeOf(c);
        const i = await s.getLog(name);
        if (!i) return false;
        if (!isPgHandle(s)) return true;
        const state = await moveState(s, i.id);
        return state.movedTo === undefined && state.movingFrom === undefined;
      }),
    );
    for (const [i, r] of found.entries()) {
      if (r.status === 'fulfilled' && r.value) {
        throw new EvidentError(
          ErrorCode.LOG_MISPLACED,
          `log "${name}" is on cluster "${others[i]}", but this server's cluster map places it on "${cluster}": the servers' maps disagree; retry (reload the map: SIGHUP)`,
          { log: name, cluster, found_on: others[i], retry_after_ms: RETRY_AFTER_MS },
        );
      }
    }
    for (const [i, r] of found.entries()) {
      if (r.status === 'rejected') {
        throw new EvidentError(
          ErrorCode.STORE_BUSY,
          `log "${name}" is not on cluster "${cluster}", and cluster "${others[i]}" does not answer: cannot tell whether it holds the log; retry`,
          { log: name, cluster: others[i], retry_after_ms: RETRY_AFTER_MS },
        );
      }
    }
    return undefined;
  }

  /** The logs placed on each cluster that answers, found there and not moved away. */
  async listLogs(): Promise<LogInfo[]> {
    const names = [...this.map.clusters.keys()];
    const lists = await Promise.allSettled(
      names.map(async (c) => {
        const s = this.storeOf(c);
        const [logs, moved] = await Promise.all([
          s.listLogs(),
          isPgHandle(s) ? movedLogs(s) : new Map<number, string>(),
        ]);
        return logs.filter((l) => clusterOf(this.map, l.name) === c && !moved.has(l.id));
      }),
    );
    // The home cluster down: nothing can be served (keys live there).
    const home = lists[names.indexOf(HOME_CLUSTER)];
    if (home?.status === 'rejected') throw home.reason;
    const out: LogInfo[] = [];
    for (const [i, r] of lists.entries()) {
      if (r.status === 'fulfilled') for (const l of r.value) out.push(this.wrap(names[i]!, l));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  write<T>(logId: number, fn: (tx: WriteTx) => Promise<T>, options?: WriteOptions): Promise<T> {
    let h: Handle;
    try {
      h = this.h(logId);
    } catch (e) {
      return Promise.reject(e);
    }
    return h.store.write(h.id, fn, options);
  }

  async appendAt(logId: number, expected: LogHead, append: PreparedAppend): Promise<boolean> {
    const h = this.h(logId);
    return h.store.appendAt ? h.store.appendAt(h.id, expected, append) : false;
  }

  head(logId: number): Promise<LogHead> {
    const h = this.h(logId);
    return h.store.head(h.id);
  }
  entries(logId: number, from: number, to: number, limit: number): Promise<Entry[]> {
    const h = this.h(logId);
    return h.store.entries(h.id, from, to, limit);
  }
  entryById(logId: number, id: string): Promise<Entry | undefined> {
    const h = this.h(logId);
    return h.store.entryById(h.id, id);
  }
  query(logId: number, filter: EntryFilter): Promise<Entry[]> {
    const h = this.h(logId);
    return h.store.query(h.id, filter);
  }
  failuresByActor(logId: number, since: string, minFailures: number): Promise<FailureCount[]> {
    const h = this.h(logId);
    return h.store.failuresByActor(h.id, since, minFailures);
  }
  nodes(logId: number, ids: NodeId[]): Promise<Uint8Array[]> {
    const h = this.h(logId);
    return h.store.nodes(h.id, ids);
  }
  nodesCompleted(logId: number, from: number, to: number): Promise<NodeHash[]> {
    const h = this.h(logId);
    return h.store.nodesCompleted(h.id, from, to);
  }
  nodeRange(logId: number, level: number, from: number, to: number): Promise<Uint8Array[]> {
    const h = this.h(logId);
    return h.store.nodeRange(h.id, level, from, to);
  }
  checkpoints(logId: number): Promise<StoredCheckpoint[]> {
    const h = this.h(logId);
    return h.store.checkpoints(h.id);
  }
  checkpointAt(logId: number, size: number): Promise<StoredCheckpoint | undefined> {
    const h = this.h(logId);
    return h.store.checkpointAt(h.id, size);
  }
  latestCheckpoint(logId: number): Promise<StoredCheckpoint | undefined> {
    const h = this.h(logId);
    return h.store.latestCheckpoint(h.id);
  }
  erasures(logId: number, from: number, to: number): Promise<Erasure[]> {
    const h = this.h(logId);
    return h.store.erasures(h.id, from, to);
  }
  prunedRanges(logId: number): Promise<PrunedRange[]> {
    const h = this.h(logId);
    return h.store.prunedRanges(h.id);
  }
  intents(logId: number): Promise<StoredIntent[]> {
    const h = this.h(logId);
    return h.store.intents(h.id);
  }
  addCosignatures(logId: number, cosignatures: StoredCosignature[]): Promise<void> {
    const h = this.h(logId);
    return h.store.addCosignatures(h.id, cosignatures);
  }
  cosignatures(logId: number, size: number): Promise<StoredCosignature[]> {
    const h = this.h(logId);
    return h.store.cosignatures(h.id, size);
  }
  cosignedSizes(logId: number): Promise<{ name: string; keyId: string; size: number }[]> {
    const h = this.h(logId);
    return h.store.cosignedSizes(h.id);
  }

  /** The home cluster's schema (each cluster's own is checked by evident doctor --db on it). */
  schemaCheck(): Promise<SchemaCheck> {
    return this.home.schemaCheck();
  }

  // ------------------------------------------------------------------ the home cluster's state

  apiKeysWritable(): Promise<boolean> {
    return this.home.apiKeysWritable();
  }
  createApiKey(key: ApiKeyRecord): Promise<void> {
    return this.home.createApiKey(key);
  }
  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.home.getApiKey(id);
  }
  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.home.listApiKeys();
  }
  revokeApiKey(id: string, at: string): Promise<boolean> {
    return this.home.revokeApiKey(id, at);
  }
  recordWitnessedLog(log: WitnessedLog): Promise<boolean> {
    return this.home.recordWitnessedLog(log);
  }
  witnessedLogs(): Promise<WitnessedLog[]> {
    return this.home.witnessedLogs();
  }
  witnessStep<T>(origin: string, fn: (tx: WitnessTx) => Promise<T>): Promise<T> {
    return this.home.witnessStep(origin, fn);
  }
  raiseAlert(alert: StoredAlert, sinks: readonly string[]): Promise<boolean> {
    return this.home.raiseAlert(alert, sinks);
  }
  claimAlertDeliveries(now: string, leaseUntil: string, limit: number): Promise<AlertDelivery[]> {
    return this.home.claimAlertDeliveries(now, leaseUntil, limit);
  }
  alertDelivered(key: string, sink: string, at: string): Promise<void> {
    return this.home.alertDelivered(key, sink, at);
  }
  alertRetry(key: string, sink: string, attempts: number, nextAt: string, error: string): Promise<void> {
    return this.home.alertRetry(key, sink, attempts, nextAt, error);
  }
  alertQueueDepth(): Promise<number> {
    return this.home.alertQueueDepth();
  }
  alertsSince(since: string, limit: number): Promise<StoredAlert[]> {
    return this.home.alertsSince(since, limit);
  }

  async close(): Promise<void> {
    const r = await Promise.allSettled([...this.stores.values()].map((s) => s.close()));
    const failed = r.find((x) => x.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

/** Whether a store is a RoutedStore (what /readyz and the metrics ask for per-cluster health). */
export function isRoutedStore(s: unknown): s is RoutedStore {
  return s instanceof RoutedStore;
}
