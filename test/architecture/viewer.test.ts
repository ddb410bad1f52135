/**
 * The viewer (viewer/) is browser code that verifies with the core alone: it imports only its
 * own modules and src/core, never Node, and no other layer of src/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const viewerDir = join(root, 'viewer');

describe('the viewer imports only itself and src/core', () => {
  it('every import of viewer/*.ts', () => {
    const files = readdirSync(viewerDir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const text = readFileSync(join(viewerDir, f), 'utf8');
      for (const m of text.matchAll(
        /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g,
      )) {
        const spec = m[1] ?? m[2]!;
        assert.ok(spec.startsWith('.'), `${f} imports ${spec}`);
        const target = relative(root, resolve(viewerDir, spec));
        assert.ok(
          target.startsWith('viewer/') || target.startsWith('src/core/'),
          `${f} imports ${spec} (${target}): only viewer/ and src/core/`,
        );
      }
      assert.doesNotMatch(text, /\bBuffer\b|\bprocess\.|\brequire\(|from 'node:/, `${f} uses Node`);
    }
  });
});
