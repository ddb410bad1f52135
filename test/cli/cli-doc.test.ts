/** docs/cli.md agrees with the code: every command `evident --help` lists, with each of its options. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import type { Command } from '../../src/cli/command.ts';
import { COMMANDS } from '../../src/cli/commands.ts';

const all = (cs: readonly Command[]): Command[] => cs.flatMap((c) => [c, ...all(c.subcommands ?? [])]);

it('docs/cli.md lists every command and every option of each', () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| `evident ([a-z -]+)` \| [^|]* \| ([^|]*) \|$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  for (const c of all(COMMANDS)) {
    const row = rows.get(c.name);
    assert.ok(row !== undefined, `docs/cli.md has no row for evident ${c.name}`);
    const documented = [...row.matchAll(/`--([a-z-]+)`/g)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(c.options).sort(), `options of evident ${c.name}`);
  }
  assert.equal(rows.size, all(COMMANDS).length, 'no row for a command that does not exist');
});
