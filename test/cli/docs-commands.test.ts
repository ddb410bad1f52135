/**
 * The docs' shell examples run as written: every file a command reads (`$(cat F)`, `< F`,
 * `--vkey F`, `--trusted-checkpoint F`, `verify-bundle F`) is written by an earlier command of
 * the same page (`> F`, `--out F`), so a reader who follows a page from the top never meets a
 * file that nothing made.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ROOT } from './helpers.ts';

const pages = [
  'README.md',
  ...readdirSync(`${ROOT}/docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The lines of the page's sh blocks, in order. */
function shellLines(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) out.push(...m[1]!.split('\n'));
  return out;
}

const FILE = String.raw`([A-Za-z0-9_.$(){}%+-]+\.[a-z]+)`;
const READS = [
  new RegExp(String.raw`\$\(cat ${FILE}\)`, 'g'),
  new RegExp(String.raw`(?:^|\s)<\s*${FILE}`, 'g'),
  new RegExp(`--(?:vkey|trusted-checkpoint)[ =]${FILE}`, 'g'),
  new RegExp(`verify-bundle ${FILE}`, 'g'),
];
const WRITES = [new RegExp(String.raw`>\s*${FILE}`, 'g'), new RegExp(`--out[ =]${FILE}`, 'g')];

describe('docs: every file a shell example reads is written first', () => {
  for (const page of pages) {
    it(page, () => {
      const written = new Set<string>();
      const missing: string[] = [];
      for (const line of shellLines(readFileSync(`${ROOT}/${page}`, 'utf8'))) {
        const code = line.replace(/\s#.*$/, '');
        for (const re of READS) {
          for (const m of code.matchAll(re)) if (!written.has(m[1]!)) missing.push(`${m[1]}: ${line.trim()}`);
        }
        for (const re of WRITES) for (const m of code.matchAll(re)) written.add(m[1]!);
      }
      assert.deepEqual(missing, []);
    });
  }
});
