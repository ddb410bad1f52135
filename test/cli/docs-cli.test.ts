/** docs/cli.md's flag tables name exactly the flags of the commands they describe. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands.ts';
import { ROOT } from './helpers.ts';

const page = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');

describe('docs/cli.md agrees with the commands', () => {
  it('describes some commands in sections of their own', () => {
    assert.ok([...page.matchAll(/^###? evident \S+\n/gm)].length >= 2);
  });
  for (const m of page.matchAll(/^###? evident (\S+)\n([\s\S]*?)(?=^###? |(?![\s\S]))/gm)) {
    const name = m[1]!;
    it(name, () => {
      const command = COMMANDS.find((c) => c.name === name);
      assert.ok(command, `no command ${name}`);
      const table = m[2]!.split('\n').filter((l) => l.startsWith('| `--'));
      const documented = new Set(
        table.flatMap((l) => [...l.split('|')[1]!.matchAll(/--([a-z-]+)/g)].map((x) => x[1]!)),
      );
      const actual = new Set([...Object.keys(command.options ?? {}), ...(command.globals ?? []), 'json']);
      assert.deepEqual([...documented].sort(), [...actual].sort());
    });
  }
});
