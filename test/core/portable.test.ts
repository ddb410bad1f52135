import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';

const coreDir = new URL('../../src/core/', import.meta.url).pathname;
const vectors = JSON.parse(readFileSync(new URL('../vectors/signed-notes.json', import.meta.url), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

// The core runs in browsers (docs/design.md), so it imports only itself and small portable libraries.
describe('the core is platform-neutral', () => {
  it('imports nothing but relative modules, @noble/* and TypeBox', () => {
    const allowed = /^(\.{1,2}\/|@noble\/(hashes|curves)\/|@sinclair\/typebox(\/|$))/;
    for (const file of sources(coreDir)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(
        /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g,
      )) {
        const spec = m[1] ?? m[2]!;
        assert.match(spec, allowed, `${file} imports ${spec}`);
      }
      assert.doesNotMatch(text, /\bBuffer\b|\bprocess\.|\brequire\(/, `${file} uses a Node global`);
    }
  });

  it('bundles for the browser and verifies a signed checkpoint with Web APIs only', async () => {
    const out = await build({
      entryPoints: [join(coreDir, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'evident',
      write: false,
      logLevel: 'silent',
    });
    const code = out.outputFiles[0]!.text;
    assert.ok(code.length > 10_000);
    // A context with the Web platform's globals only: no require, process or Buffer.
    const g = vectors.golden_checkpoint;
    const sandbox = {
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      console,
      result: undefined as unknown,
    };
    runInNewContext(
      `${code};
       const v = evident.verifierFromKey(${JSON.stringify(g.vkey)});
       const opened = evident.openCheckpoint(${JSON.stringify(g.note)}, [v], ${JSON.stringify(g.origin)});
       result = { size: opened.checkpoint.size, root: evident.toBase64(opened.checkpoint.rootHash) };`,
      sandbox,
    );
    assert.deepEqual(JSON.parse(JSON.stringify(sandbox.result)), { size: g.size, root: g.root_b64 });
  });
});
