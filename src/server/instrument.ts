/**
 * Commit metrics without touching the ledger: the store is wrapped so that each write
 * transaction is timed and the entries it inserts are counted. One `write` that inserts
 * entries is one group commit (../ledger/ledger.ts gathers concurrent appends into it).
 */
import type { Store, WriteTx } from '../store/types.ts';
import type { ServerMetrics } from './metrics.ts';

export function instrumentStore<S extends Store>(store: S, metrics: ServerMetrics): S {
  const write = async <T>(logId: number, fn: (tx: WriteTx) => Promise<T>): Promise<T> => {
    let inserted = 0;
    const started = performance.now();
    const result = await store.write(logId, (tx) =>
      // Every method delegated by name: a driver's tx may be a class instance, whose methods a
      // spread would lose.
      fn({
        head: () => tx.head(),
        lastIndex: () => tx.lastIndex(),
        lastCheckpoint: () => tx.lastCheckpoint(),
        entriesById: (ids) => tx.entriesById(ids),
        nodes: (ids) => tx.nodes(ids),
        insertEntries: (entries, nodes, head) => {
          inserted += entries.length;
          return tx.insertEntries(entries, nodes, head);
        },
        insertCheckpoint: (cp) => tx.insertCheckpoint(cp),
        erase: (erasures) => tx.erase(erasures),
        prune: (range) => tx.prune(range),
        putIntent: (intent) => tx.putIntent(intent),
        retireIntents: (ids) => tx.retireIntents(ids),
      }),
    );
    metrics.commitSeconds.observe((performance.now() - started) / 1000);
    if (inserted > 0) {
      metrics.batches.inc();
      metrics.batchSize.observe(inserted);
    }
    return result;
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'write') return write;
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
