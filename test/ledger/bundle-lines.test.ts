/**
 * verify-bundle's reading of a bundle file as bytes (src/ledger/bundle-lines.ts): lines end
 * exactly where node:readline ends them, batches are bounded by lines and by bytes, and the
 * bytes in flight to the worker threads stay within the budget while the report stays the same.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { verifierFromKey } from '../../src/core/note-keys.ts';
import {
  BatchBuilder,
  batchLines,
  decodeLine,
  LineSplitter,
  lineCount,
} from '../../src/ledger/bundle-lines.ts';
import { verifyBundleFile } from '../../src/ledger/export.ts';
import { createKeyFile, createLog, exportBundle, type Ledger, openLedger } from '../../src/ledger/index.ts';
import { openStore } from '../../src/store/open.ts';

async function readlineLines(text: string): Promise<string[]> {
  const out: string[] = [];
  const rl = createInterface({
    input: Readable.from([Buffer.from(text)]),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of rl) out.push(line);
  return out;
}

function splitterLines(bytes: Uint8Array, cuts: readonly number[]): string[] {
  const out: string[] = [];
  const s = new LineSplitter((b, n) => {
    assert.equal(n, out.length + 1, 'lines are numbered from 1, blank ones included');
    out.push(decodeLine(b));
  });
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    s.push(bytes.subarray(at, c));
    at = c;
  }
  s.end();
  return out;
}

describe('bundle lines as bytes', () => {
  it('ends lines where node:readline does, however the file is cut into chunks', async () => {
    const texts = [
      'a\nb\n',
      'a\nb',
      'a\r\nb\r\n',
      'a\rb\r\rc',
      '\n\n\r\n \t\nx',
      'é\r\n€\n𝄞\r',
      '\ufeff{"a":1}\n{"b":2}',
      'a\n\rb\r\n\nc\n',
      '',
      '\n',
    ];
    for (const text of texts) {
      const bytes = new Uint8Array(Buffer.from(text));
      const expected = await readlineLines(text);
      assert.deepEqual(splitterLines(bytes, []), expected, JSON.stringify(text));
      for (let cut = 0; cut <= bytes.length; cut++) {
        assert.deepEqual(splitterLines(bytes, [cut]), expected, `${JSON.stringify(text)} cut at ${cut}`);
      }
      const everyByte = Array.from({ length: bytes.length }, (_, i) => i);
      assert.deepEqual(splitterLines(bytes, everyByte), expected, `${JSON.stringify(text)} byte by byte`);
    }
    // Invalid UTF-8 decodes as readline decodes it.
    const broken = Buffer.from([0x61, 0xc3, 0x0a, 0xe2, 0x82, 0x0a, 0xff, 0x62]);
    const viaReadline: string[] = [];
    const rl = createInterface({ input: Readable.from([broken]), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) viaReadline.push(line);
    assert.deepEqual(splitterLines(new Uint8Array(broken), [2, 4]), viaReadline);
  });

  it('cuts batches at a number of lines or of bytes, whichever comes first, and splits them back', () => {
    const line = (i: number) => new Uint8Array(Buffer.from(`line ${i} ${'x'.repeat(i * 10)}`));
    const byCount = new BatchBuilder(3, 1 << 20);
    const cut = [1, 2, 3, 4].map((i) => byCount.add(line(i), i));
    assert.deepEqual(
      cut.map((b) => b !== undefined),
      [false, false, true, false],
    );
    assert.deepEqual(
      [...batchLines(cut[2]!.bytes)],
      [1, 2, 3].map((i) => decodeLine(line(i))),
    );
    assert.deepEqual(cut[2]!.numbers, [1, 2, 3]);
    assert.equal(lineCount(cut[2]!.bytes), 3);
    assert.deepEqual(byCount.cut()?.numbers, [4]);
    assert.equal(byCount.cut(), undefined);
    // 50 bytes: the batch is cut by the line that reaches them; a longer line is a batch of its own.
    const byBytes = new BatchBuilder(1000, 50);
    const batches = [1, 2, 3, 9, 1].map((i) => byBytes.add(line(i), i));
    const last = byBytes.cut();
    assert.deepEqual(
      [...batches, last].filter((b) => b !== undefined).map((b) => b!.numbers),
      [[1, 2, 3], [9], [1]],
    );
  });
});

describe('bundle verification in flight', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bundle-lines-'));
  let ledger: Ledger;
  let path: string;
  let vkey: string;

  before(async () => {
    const db = join(dir, 'e.db');
    const signer = await createKeyFile(join(dir, 'e.key'), 'lines.test/default');
    const store = await openStore(db);
    vkey = (await createLog(store, { name: 'default', origin: 'lines.test/default', signer })).vkey;
    await store.close();
    ledger = await openLedger({ db, key: join(dir, 'e.key') });
    await ledger.appendMany(
      Array.from({ length: 200 }, (_, i) => ({
        actor_id: `user-${i % 7}`,
        actor_type: 'user',
        ip_address: '192.0.2.1',
        action: 'read',
        resource_type: 'invoice',
        resource_id: `inv-${i}`,
        result: 'success',
      })),
    );
    let text = '';
    for await (const chunk of exportBundle(ledger)) text += chunk;
    path = join(dir, 'b.jsonl');
    writeFileSync(path, text);
  });
  after(async () => {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The report and the most batches and bytes seen in flight. */
  async function verifyWith(o: { inFlightBytes?: number; batchBytes?: number }) {
    let batches = 0;
    let bytes = 0;
    let sends = 0;
    const { report } = await verifyBundleFile(path, {
      verifiers: [verifierFromKey(vkey)],
      workers: 2,
      runEntries: 8,
      ...o,
      onInFlight: (n, b) => {
        sends++;
        batches = Math.max(batches, n);
        bytes = Math.max(bytes, b);
      },
    });
    return { report, batches, bytes, sends };
  }

  it('keeps the bytes in flight to the workers within the budget, with the same report', async () => {
    const plain = (await verifyBundleFile(path, { verifiers: [verifierFromKey(vkey)], workers: 1 })).report;
    assert.equal(plain.ok, true);
    assert.equal(plain.entries, 200);
    // Unbounded by bytes: the count bound (four batches per thread) is what holds.
    const wide = await verifyWith({ inFlightBytes: 1 << 30 });
    assert.deepEqual(wide.report, plain);
    assert.equal(wide.batches, 8);
    assert.equal(wide.sends, 25, '200 entries in batches of 8');
    // A budget of about two batches: never more bytes than that, however fast the workers.
    const batchBytes = wide.bytes / wide.batches;
    const budget = Math.ceil(batchBytes * 2.5);
    const tight = await verifyWith({ inFlightBytes: budget });
    assert.deepEqual(tight.report, plain);
    assert.ok(tight.bytes <= budget, `${tight.bytes} bytes in flight, budget ${budget}`);
    assert.ok(tight.batches <= 2, `${tight.batches} batches in flight`);
    assert.equal(tight.sends, 25);
    // A budget smaller than one batch still sends one at a time.
    const one = await verifyWith({ inFlightBytes: 1 });
    assert.deepEqual(one.report, plain);
    assert.equal(one.batches, 1);
    // Batches cut by bytes: about 3 lines each instead of 8, so more of them, the same report.
    const small = await verifyWith({ batchBytes: Math.ceil((batchBytes / 8) * 2.5) });
    assert.deepEqual(small.report, plain);
    assert.ok(small.sends > 25, `${small.sends} batches`);
    assert.ok(small.bytes <= small.batches * Math.ceil((batchBytes / 8) * 4), 'each batch near its cut');
  });
});
