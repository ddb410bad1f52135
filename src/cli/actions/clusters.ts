/** Opening every cluster of a cluster map (docs/clusters.md) as one routed store. */
import { isEvidentError } from '../../core/errors.ts';
import { redactUrls } from '../../core/redact.ts';
import type { ClusterMap } from '../../store/clusters/map.ts';
import { RoutedStore } from '../../store/clusters/routed.ts';
import type { FullStore } from '../../store/open.ts';
import { openStoreAt } from '../open-log.ts';

/**
 * Opens each cluster (its schema checked and migrated, never created: `evident init` creates
 * it), failing with the cluster named if one cannot be opened; those already open are closed.
 */
export async function openClusters(map: ClusterMap, o: { readonly?: boolean } = {}): Promise<RoutedStore> {
  const stores = new Map<string, FullStore>();
  try {
    for (const [name, url] of map.clusters) {
      try {
        stores.set(name, await openStoreAt(url, { readonly: o.readonly ?? false, create: false }));
      } catch (e) {
        if (!isEvidentError(e)) throw e;
        e.details['cluster'] = name;
        e.message = `cluster "${name}" (${redactUrls(url)}): ${e.message}`;
        throw e;
      }
    }
  } catch (e) {
    await Promise.allSettled([...stores.values()].map((s) => s.close()));
    throw e;
  }
  return new RoutedStore(stores, map);
}
