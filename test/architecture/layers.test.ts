/**
 * The layers of src/ (docs/design.md, Layers): each folder may import only from the folders
 * listed for it here, all of them below it. This map is the one place the rule is written down;
 * docs/design.md shows the same table. Type-only imports count too: a type names a dependency.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

/** Folder of src/ → the folders of src/ it may import from (besides itself). */
export const LAYERS: Record<string, readonly string[]> = {
  core: [],
  store: ['core'],
  ledger: ['core', 'store'],
  server: ['core', 'store', 'ledger', 'archive', 'alerts'],
  outbox: ['core', 'store', 'ledger'],
  // Sealed segments, archive targets, retention and pruning: built on the ledger and its store.
  archive: ['core', 'store', 'ledger'],
  // Anomaly alerts on the stream of committed events, their durable queue and their sinks.
  alerts: ['core', 'store', 'ledger'],
  // Periodic review: the report over a log, the recorded sign-off, review cadences, doctor checks.
  review: ['core', 'store', 'ledger', 'archive'],
  integrations: ['core'],
  // The client is one of the sinks a middleware writes to: it implements integrations' AuditSink.
  client: ['core', 'integrations'],
  // The command line sits on top: it opens stores and ledgers, serves, and runs the relay.
  cli: ['core', 'store', 'ledger', 'server', 'outbox', 'archive', 'alerts', 'review'],
};

const srcDir = new URL('../../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** The src/ folder a file lies in ('' for a file directly in src/). */
function layerOf(file: string): string {
  const parts = relative(srcDir, file).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

/** Every relative import of the source tree, as [importing file, imported file]. */
function imports(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const file of sources(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g,
    )) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) out.push([file, resolve(dirname(file), spec)]);
    }
  }
  return out;
}

describe('the layers of src/', () => {
  it('every folder of src/ is in the map, and the map names only folders that exist', () => {
    const folders = readdirSync(srcDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    assert.deepEqual(folders, Object.keys(LAYERS).sort());
  });

  it('the map has no cycle: each folder lies below the ones that import it', () => {
    const seen = new Set<string>();
    const visiting = new Set<string>();
    const visit = (layer: string, path: string[]): void => {
      assert.ok(!visiting.has(layer), `cycle: ${[...path, layer].join(' -> ')}`);
      if (seen.has(layer)) return;
      visiting.add(layer);
      for (const below of LAYERS[layer]!) visit(below, [...path, layer]);
      visiting.delete(layer);
      seen.add(layer);
    };
    for (const layer of Object.keys(LAYERS)) visit(layer, []);
  });

  it('each file imports only from its own folder and the folders below it', () => {
    const wrong: string[] = [];
    for (const [from, to] of imports()) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (!to.startsWith(srcDir)) wrong.push(`${relative(srcDir, from)} imports outside src/: ${to}`);
      else if (a !== b && !LAYERS[a]?.includes(b))
        wrong.push(`${relative(srcDir, from)} (${a}) imports ${relative(srcDir, to)} (${b})`);
    }
    assert.deepEqual(wrong, []);
  });
});
