/**
 * Interoperability with an independent implementation: Go's golang.org/x/mod/sumdb/note (the
 * reference C2SP signed-note code) and golang.org/x/mod/sumdb/tlog (RFC 6962 trees) must accept
 * what evident prints: its checkpoints under its verifier key, its inclusion proofs
 * (tlog.CheckRecord) and its consistency proofs (tlog.CheckTree), from the library and from the
 * `evident` CLI; and must reject them once tampered with. The checker is ./go/verify.go.
 *
 * Needs `go` on PATH and the x/mod source in a GOPATH (Debian: `apt-get install -y
 * --no-install-recommends golang-go golang-golang-x-mod-dev`). Without them the suite is skipped,
 * except under CI=true, where it fails.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signCheckpoint } from '../../src/core/checkpoint.ts';
import { formatVerifierKey, generateSigner, parseVerifierKey } from '../../src/core/note-keys.ts';
import {
  createKeyFile,
  createLog,
  type InclusionProof,
  type Ledger,
  loadSigner,
  openLedger,
} from '../../src/ledger/index.ts';
import { openStore } from '../../src/store/open.ts';
import type { StoredCheckpoint } from '../../src/store/types.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GO_DIR = fileURLToPath(new URL('./go/', import.meta.url));
const VERIFY_GO = join(GO_DIR, 'verify.go');
const CLI_MAIN = join(REPO, 'dist', 'cli', 'main.js');
const CLI_BIN = join(REPO, 'bin', 'evident.js');
const SIGNED_NOTES = new URL('../vectors/signed-notes.json', import.meta.url);
const RFC6962 = new URL('../vectors/rfc6962.json', import.meta.url);

const ORIGIN = 'interop.example/default';
/** Cumulative log sizes at which a checkpoint is signed: powers of two and not. */
const SIZES = [1, 3, 8, 13, 64, 100, 128, 255, 256, 300];

// ---------------------------------------------------------------------------------------------
// The Go toolchain and the verifier binary

interface Toolchain {
  goVersion: string;
  gopath: string;
}

const XMOD_FILES = ['src/golang.org/x/mod/sumdb/note/note.go', 'src/golang.org/x/mod/sumdb/tlog/tlog.go'];

function findToolchain(): Toolchain | { missing: string } {
  const v = spawnSync('go', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (v.error || v.status !== 0) {
    return { missing: `go is not on PATH (${v.error?.message ?? v.stderr.trim()})` };
  }
  const env = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8', timeout: 30_000 });
  const candidates = ['/usr/share/gocode', ...(env.status === 0 ? env.stdout.trim().split(delimiter) : [])];
  const gopath = candidates.find((p) => p && XMOD_FILES.every((f) => existsSync(join(p, f))));
  if (!gopath) {
    return {
      missing: `the golang.org/x/mod source is not in any of ${candidates.filter(Boolean).join(', ')}`,
    };
  }
  return { goVersion: v.stdout.trim(), gopath };
}

/** The environment of a GOPATH-mode, offline, cgo-free build. */
function goEnv(tc: Toolchain, cache: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: tc.gopath,
    GOCACHE: cache,
    GOFLAGS: '',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
  };
}

/** Builds ./go/verify.go once per (source, Go version, GOPATH), cached under os.tmpdir(). */
function buildVerifier(tc: Toolchain): string {
  const key = createHash('sha256')
    .update(readFileSync(VERIFY_GO))
    .update(`\0${tc.goVersion}\0${tc.gopath}`)
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), 'evident-interop-go');
  const bin = join(dir, `verify-${key}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const partial = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('go', ['build', '-o', partial, 'verify.go'], {
    cwd: GO_DIR,
    env: goEnv(tc, join(dir, 'gocache')),
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.error || r.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`go build of ${VERIFY_GO} failed: ${r.error?.message ?? ''}\n${r.stdout}${r.stderr}`);
  }
  renameSync(partial, bin); // atomic: a concurrent run sees either no binary or a whole one
  return bin;
}

interface GoInclusion {
  index: number;
  size: number;
  leaf?: string;
  leaf_hash?: string;
  hashes: string[];
}
interface GoConsistency {
  from: number;
  to: number;
  hashes: string[];
}
interface GoInput {
  vkey: string;
  checkpoints?: string[];
  inclusion?: GoInclusion[];
  consistency?: GoConsistency[];
}
interface Counts {
  checkpoints: number;
  inclusion: number;
  consistency: number;
}
interface GoResult {
  ok: boolean;
  checked: Counts;
  failed: Counts;
  checkpoints: { origin: string; size: number; root: string; signers: string[] }[];
  errors: string[];
}

let verifierBin = '';

function runGo(doc: GoInput): { status: number | null; result: GoResult } {
  const r = spawnSync(verifierBin, [], {
    input: JSON.stringify(doc),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  let result: GoResult;
  try {
    result = JSON.parse(r.stdout) as GoResult;
  } catch {
    throw new Error(`the Go verifier printed no JSON (exit ${r.status}): ${r.stdout}${r.stderr}`);
  }
  return { status: r.status, result };
}

/** Go must accept the whole document, and must have checked every item in it. */
function goAccepts(doc: GoInput): GoResult {
  const { status, result } = runGo(doc);
  assert.deepEqual(result.errors, [], 'the Go verifier reported errors');
  assert.equal(result.ok, true);
  assert.equal(status, 0);
  assert.deepEqual(result.checked, {
    checkpoints: doc.checkpoints?.length ?? 0,
    inclusion: doc.inclusion?.length ?? 0,
    consistency: doc.consistency?.length ?? 0,
  });
  return result;
}

/** Go must reject the document: exit 1, ok false, and an error matching `why`. */
function goRejects(doc: GoInput, why: RegExp): GoResult {
  const { status, result } = runGo(doc);
  assert.equal(result.ok, false, `Go accepted a tampered input: ${JSON.stringify(doc).slice(0, 300)}`);
  assert.equal(status, 1);
  assert.ok(
    result.errors.some((e) => why.test(e)),
    `expected an error matching ${why}, got ${JSON.stringify(result.errors)}`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// Tampering

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** Flips one bit of the Ed25519 signature (after the 4-byte key ID) on the note's last line. */
function flipSignatureByte(note: string, at = 10): string {
  const m = /\n— (\S+) (\S+)\n$/.exec(note);
  assert.ok(m, 'a note ends with a signature line');
  const sig = unb64(m[2]!);
  sig[4 + at] = sig[4 + at]! ^ 0x01;
  return `${note.slice(0, m.index)}\n— ${m[1]} ${b64(sig)}\n`;
}

/** Flips one bit of a hash, keeping its encoding (base64, or hex as the CLI might print). */
function flipHash(hash: string): string {
  const hex = /^[0-9a-f]{64}$/i.test(hash);
  const h = Buffer.from(hash, hex ? 'hex' : 'base64');
  h[31] = h[31]! ^ 0x80;
  return h.toString(hex ? 'hex' : 'base64');
}

// ---------------------------------------------------------------------------------------------
// Events

function event(i: number): Record<string, unknown> {
  return {
    actor_id: `user-${i % 7}`,
    actor_type: i % 11 === 0 ? 'service' : 'user',
    action: ['read', 'update', 'delete', 'export'][i % 4],
    resource_type: 'patient_record',
    resource_id: `p-${i}`,
    result: i % 3 === 0 ? 'failure' : 'success',
    ip_address: `10.0.${i % 256}.${(i * 7) % 256}`,
    // Non-ASCII text: the leaf bytes Go hashes are UTF-8, not UTF-16 or Latin-1.
    reason: `révision n° ${i} — ✓ 患者`,
    metadata: { seq: i, tags: ['a', 'b'] },
  };
}

// ---------------------------------------------------------------------------------------------
// The CLI

interface CliRun {
  args: string[];
  status: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

function runCli(args: string[]): CliRun {
  const env = { ...process.env };
  for (const k of ['EVIDENT_DB', 'EVIDENT_KEY', 'EVIDENT_SIGNING_KEY']) delete env[k];
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    args,
    status: r.status,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    ...(r.error ? { error: r.error.message } : {}),
  };
}

function describeRun(r: CliRun): string {
  return `evident ${r.args.join(' ')} -> exit ${r.status}${r.error ? ` (${r.error})` : ''}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}

/**
 * Runs the CLI with each argument list in turn until one exits 0 and `extract` finds what is
 * wanted in its output. Returns the value, or undefined after leaving diagnostics. A run that
 * exits 0 but prints nothing `extract` recognizes throws only if no variant succeeds.
 */
function fromCli<T>(
  t: TestContext,
  what: string,
  variants: string[][],
  extract: (stdout: string) => T | undefined,
): { value: T; run: CliRun } | undefined {
  if (!existsSync(CLI_MAIN)) {
    t.skip(`${CLI_MAIN} does not exist (build the CLI: npm run build); using the library's ${what}`);
    return undefined;
  }
  const runs: CliRun[] = [];
  for (const args of variants) {
    const r = runCli(args);
    runs.push(r);
    if (r.status !== 0) continue;
    const value = extract(r.stdout);
    if (value !== undefined) {
      t.diagnostic(`CLI: evident ${args.join(' ')}`);
      return { value, run: r };
    }
  }
  const ran = runs.filter((r) => r.status === 0);
  if (ran.length > 0) {
    assert.fail(
      `the CLI ran but printed no ${what} that this test recognizes:\n${ran.map(describeRun).join('\n')}`,
    );
  }
  for (const r of runs) t.diagnostic(describeRun(r));
  t.skip(`the CLI could not produce the ${what}; using the library's instead (see diagnostics)`);
  return undefined;
}

/** Every string in a JSON value, depth first. */
function* strings(v: unknown): Generator<string> {
  if (typeof v === 'string') yield v;
  else if (Array.isArray(v)) for (const x of v) yield* strings(x);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) yield* strings(x);
}

/** Every object in a JSON value, depth first (the value itself first). */
function* objects(v: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(v)) for (const x of v) yield* objects(x);
  else if (v && typeof v === 'object') {
    yield v as Record<string, unknown>;
    for (const x of Object.values(v)) yield* objects(x);
  }
}

/** stdout as JSON: one document, or the last line of JSON Lines. */
function parseJsonOutput(stdout: string): unknown {
  const text = stdout.trim();
  try {
    return JSON.parse(text);
  } catch {
    const last = text.split('\n').at(-1) ?? '';
    try {
      return JSON.parse(last);
    } catch {
      return undefined;
    }
  }
}

function findVkey(stdout: string): string | undefined {
  const texts = [...strings(parseJsonOutput(stdout)), stdout];
  for (const text of texts) {
    for (const m of text.matchAll(/[^\s"'+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}/g)) {
      try {
        parseVerifierKey(m[0]);
        return m[0];
      } catch {
        // not a verifier key
      }
    }
  }
  return undefined;
}

function findNote(stdout: string, origin: string): string | undefined {
  const escaped = origin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const re = new RegExp(`${escaped}\\n\\d+\\n[A-Za-z0-9+/]{43}=\\n(?:[^\\n]+\\n)*\\n(?:— [^\\n]+\\n)+`, 'u');
  for (const text of [...strings(parseJsonOutput(stdout)), stdout]) {
    const m = re.exec(text);
    if (m) return m[0];
  }
  return undefined;
}

const PROOF_FIELDS = ['hashes', 'proof', 'audit_path', 'path', 'consistency', 'inclusion'];

/** The first object in the JSON output that carries an array of hash strings. */
function findProofObject(stdout: string): { obj: Record<string, unknown>; hashes: string[] } | undefined {
  for (const obj of objects(parseJsonOutput(stdout))) {
    for (const f of PROOF_FIELDS) {
      const v = obj[f];
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { obj, hashes: v as string[] };
    }
  }
  return undefined;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

// ---------------------------------------------------------------------------------------------

const toolchain = findToolchain();
const TITLE = 'interop: Go golang.org/x/mod/sumdb/{note,tlog} accept what evident prints';
const INSTALL = 'apt-get install -y --no-install-recommends golang-go golang-golang-x-mod-dev';

if ('missing' in toolchain) {
  // Skipped on a developer's machine without Go; a failure under CI, which installs it.
  const skip = process.env['CI'] === 'true' ? false : `${toolchain.missing}: install with ${INSTALL}`;
  describe(TITLE, () => {
    it('needs go and the golang.org/x/mod source', { skip }, () => {
      assert.fail(`CI=true, so the Go interop test may not be skipped: ${toolchain.missing} (${INSTALL})`);
    });
  });
} else {
  suite(toolchain);
}

function suite(tc: Toolchain): void {
  describe(TITLE, { timeout: 300_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'evident-interop-'));
    const db = join(dir, 'audit.db');
    const keyPath = join(dir, 'signing.key');
    let ledger: Ledger | undefined;
    let vkey = '';
    let checkpoints: StoredCheckpoint[] = [];
    const bySize = new Map<number, StoredCheckpoint>();
    const inclusion: InclusionProof[] = [];
    const consistency: GoConsistency[] = [];

    before(async () => {
      verifierBin = buildVerifier(tc);

      const signer = await createKeyFile(keyPath, ORIGIN);
      const store = await openStore(db);
      vkey = (await createLog(store, { name: 'default', origin: ORIGIN, signer })).vkey;
      await store.close();
      assert.equal(vkey, formatVerifierKey(ORIGIN, signer.publicKey));

      ledger = await openLedger({ db, key: keyPath });
      let n = 0;
      const signed: StoredCheckpoint[] = [];
      for (const size of SIZES) {
        const receipts = await ledger.appendMany(Array.from({ length: size - n }, (_, k) => event(n + k)));
        assert.equal(receipts.length, size - n);
        n = size;
        const cp = await ledger.checkpoint();
        assert.equal(cp.size, size);
        signed.push(cp);
      }
      checkpoints = await ledger.store.checkpoints(ledger.log.id);
      for (const cp of signed) {
        assert.ok(
          checkpoints.some((s) => s.note === cp.note),
          `checkpoint of size ${cp.size} is stored byte-exact`,
        );
      }
      for (const cp of checkpoints) bySize.set(cp.size, cp);
      assert.deepEqual(
        SIZES.filter((s) => !bySize.has(s)),
        [],
      );

      // Inclusion: every leaf of the largest tree and of the small ones, a sample of the others.
      for (const size of [...bySize.keys()].sort((a, b) => a - b)) {
        const indexes = new Set<number>();
        if (size <= 16 || size === 300) for (let i = 0; i < size; i++) indexes.add(i);
        else {
          // 137: the leaf the CLI is asked about (its fallback needs the library's proof).
          for (const i of [0, 1, size >> 1, size - 2, size - 1, 137]) if (i < size) indexes.add(i);
          for (let i = 3; i < size; i += 13) indexes.add(i);
        }
        for (const i of indexes) {
          const p = await ledger.proveInclusion(i, size);
          assert.equal(p.index, i);
          assert.equal(p.size, size);
          inclusion.push(p);
        }
      }
      // Consistency: every pair of checkpoint sizes, equal ones included (an empty proof).
      const sizes = [...bySize.keys()].filter((s) => s > 0).sort((a, b) => a - b);
      for (const from of sizes) {
        for (const to of sizes) {
          if (from <= to) consistency.push({ from, to, hashes: await ledger.proveConsistency(from, to) });
        }
      }
      // Closed before the CLI opens the same database (closing signs nothing new: all is covered).
      await ledger.close();
      ledger = undefined;
    });

    after(async () => {
      await ledger?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('accepts every stored checkpoint under the vkey, every inclusion and every consistency proof', () => {
      const result = goAccepts({
        vkey,
        checkpoints: checkpoints.map((c) => c.note),
        inclusion: inclusion.map((p) => ({ ...p })),
        consistency,
      });
      // What Go read from the checkpoint bodies is what evident stored.
      assert.equal(result.checkpoints.length, checkpoints.length);
      for (const [i, cp] of checkpoints.entries()) {
        assert.deepEqual(result.checkpoints[i], {
          origin: ORIGIN,
          size: cp.size,
          root: b64(cp.root),
          signers: [ORIGIN],
        });
      }
      assert.ok(inclusion.length > 350, `${inclusion.length} inclusion proofs`);
      assert.equal(consistency.length, (SIZES.length * (SIZES.length + 1)) / 2);
    });

    it('accepts the golden checkpoint vector, and a real sum.golang.org note as a control', () => {
      const vectors = JSON.parse(readFileSync(SIGNED_NOTES, 'utf8')) as {
        golden_checkpoint: { vkey: string; note: string; origin: string; size: number; root_b64: string };
        notes: { vkey: string; note: string; expect: { origin: string; size: number; root: string } }[];
      };
      const tree = JSON.parse(readFileSync(RFC6962, 'utf8')) as {
        leaves: { b64: string }[];
        inclusion_proofs: { index: number; size: number; hashes: string[] }[];
        consistency_proofs: { old_size: number; new_size: number; hashes: string[] }[];
      };
      const g = vectors.golden_checkpoint;
      const result = goAccepts({
        vkey: g.vkey,
        checkpoints: [g.note],
        // The golden root is the root Go computes for the 8-leaf RFC 6962 tree.
        inclusion: tree.inclusion_proofs
          .filter((p) => p.size === g.size)
          .map((p) => ({ index: p.index, size: p.size, leaf: tree.leaves[p.index]!.b64, hashes: p.hashes })),
        consistency: tree.consistency_proofs
          .filter((p) => p.old_size === g.size && p.new_size === g.size)
          .map((p) => ({ from: p.old_size, to: p.new_size, hashes: p.hashes })),
      });
      assert.deepEqual(result.checkpoints, [
        { origin: g.origin, size: g.size, root: g.root_b64, signers: [g.origin] },
      ]);
      goRejects({ vkey: g.vkey, checkpoints: [flipSignatureByte(g.note)] }, /invalid signature/);

      for (const n of vectors.notes) {
        const r = goAccepts({ vkey: n.vkey, checkpoints: [n.note] });
        assert.equal(r.checkpoints[0]!.origin, n.expect.origin);
        assert.equal(r.checkpoints[0]!.size, n.expect.size);
        assert.equal(r.checkpoints[0]!.root, n.expect.root);
      }
    });

    describe('rejects tampered inputs', () => {
      const latest = () => bySize.get(300)!;
      const proofAt = (index: number, size: number) => {
        const p = inclusion.find((x) => x.index === index && x.size === size);
        assert.ok(p, `an inclusion proof of ${index} in ${size}`);
        return { ...p, hashes: [...p.hashes] };
      };

      it('a checkpoint with a flipped signature byte (any position)', () => {
        for (const cp of [latest(), bySize.get(13)!]) {
          goAccepts({ vkey, checkpoints: [cp.note] });
          for (const at of [0, 31, 32, 63]) {
            goRejects({ vkey, checkpoints: [flipSignatureByte(cp.note, at)] }, /invalid signature/);
          }
        }
      });

      it('a checkpoint whose body was edited, or that was signed by another key of the same name', () => {
        const cp = latest();
        const otherRoot = b64(bySize.get(256)!.root);
        const edited = cp.note.replace(`\n${b64(cp.root)}\n`, `\n${otherRoot}\n`);
        assert.notEqual(edited, cp.note);
        goRejects({ vkey, checkpoints: [edited] }, /invalid signature/);
        const grown = cp.note.replace(`\n300\n`, `\n301\n`);
        goRejects({ vkey, checkpoints: [grown] }, /invalid signature/);

        const impostor = generateSigner(ORIGIN).signer;
        const forged = signCheckpoint({ origin: ORIGIN, size: 300, rootHash: cp.root }, impostor);
        goRejects({ vkey, checkpoints: [forged] }, /no verifiable signatures/);
      });

      it('an inclusion proof with a flipped hash, an extra or a missing hash', () => {
        const cp = latest();
        const p = proofAt(137, 300);
        goAccepts({ vkey, checkpoints: [cp.note], inclusion: [p] });
        assert.ok(p.hashes.length >= 8);
        for (let j = 0; j < p.hashes.length; j++) {
          const bad = { ...p, hashes: p.hashes.map((h, k) => (k === j ? flipHash(h) : h)) };
          goRejects(
            { vkey, checkpoints: [cp.note], inclusion: [bad] },
            /CheckRecord: invalid transparency proof/,
          );
        }
        goRejects(
          { vkey, checkpoints: [cp.note], inclusion: [{ ...p, hashes: [...p.hashes, p.hashes[0]!] }] },
          /CheckRecord/,
        );
        goRejects(
          { vkey, checkpoints: [cp.note], inclusion: [{ ...p, hashes: p.hashes.slice(1) }] },
          /CheckRecord/,
        );
      });

      it('an inclusion proof with the wrong leaf, a changed leaf byte, the wrong index or size', () => {
        const cp = latest();
        const p = proofAt(137, 300);
        const other = proofAt(138, 300);
        goRejects({ vkey, checkpoints: [cp.note], inclusion: [{ ...p, leaf: other.leaf }] }, /CheckRecord/);
        const leaf = unb64(p.leaf);
        leaf[leaf.length >> 1] = leaf[leaf.length >> 1]! ^ 0x01;
        goRejects({ vkey, checkpoints: [cp.note], inclusion: [{ ...p, leaf: b64(leaf) }] }, /CheckRecord/);
        goRejects({ vkey, checkpoints: [cp.note], inclusion: [{ ...p, index: 136 }] }, /CheckRecord/);
        // The same proof against the checkpoint of another size.
        const cp256 = bySize.get(256)!;
        goRejects({ vkey, checkpoints: [cp256.note], inclusion: [{ ...p, size: 256 }] }, /CheckRecord/);
        // A proof of a size no verified checkpoint vouches for proves nothing.
        goRejects(
          { vkey, checkpoints: [cp.note], inclusion: [proofAt(5, 8)] },
          /no verified checkpoint of size 8/,
        );
      });

      it('a consistency proof with a dropped element, a flipped hash, or between the wrong sizes', () => {
        const from = bySize.get(100)!;
        const to = latest();
        const c = consistency.find((x) => x.from === 100 && x.to === 300)!;
        const doc = { vkey, checkpoints: [from.note, to.note] };
        goAccepts({ ...doc, consistency: [c] });
        assert.ok(c.hashes.length >= 3);
        for (let j = 0; j < c.hashes.length; j++) {
          const dropped = { ...c, hashes: c.hashes.filter((_, k) => k !== j) };
          goRejects({ ...doc, consistency: [dropped] }, /CheckTree: invalid transparency proof/);
          const flipped = { ...c, hashes: c.hashes.map((h, k) => (k === j ? flipHash(h) : h)) };
          goRejects({ ...doc, consistency: [flipped] }, /CheckTree: invalid transparency proof/);
        }
        // The same proof claimed between other sizes.
        goRejects(
          { vkey, checkpoints: [bySize.get(255)!.note, to.note], consistency: [{ ...c, from: 255 }] },
          /CheckTree/,
        );
        goRejects(
          { vkey, checkpoints: [from.note, bySize.get(256)!.note], consistency: [{ ...c, to: 256 }] },
          /CheckTree/,
        );
      });

      it('a fork: a checkpoint of size 100 with the same key over other events is not a prefix of 300', async () => {
        // A rogue operator's second view of the same origin, signed with the real key, kept in
        // another database (one database refuses two logs with one origin).
        const forkDb = `${db}.fork`;
        const store = await openStore(forkDb);
        await createLog(store, { name: 'fork', origin: ORIGIN, signer: await loadSigner(keyPath) });
        await store.close();
        const fork = await openLedger({ db: forkDb, key: keyPath, log: 'fork' });
        try {
          await fork.appendMany(Array.from({ length: 100 }, (_, i) => event(i === 42 ? 10_000 : i)));
          const forked = await fork.checkpoint();
          assert.equal(forked.size, 100);
          assert.notDeepEqual(forked.root, bySize.get(100)!.root);
          goAccepts({ vkey, checkpoints: [forked.note] }); // validly signed: only the proof can tell
          const c = consistency.find((x) => x.from === 100 && x.to === 300)!;
          goRejects(
            { vkey, checkpoints: [forked.note, bySize.get(300)!.note], consistency: [c] },
            /CheckTree: invalid transparency proof/,
          );
          goRejects(
            { vkey, checkpoints: [bySize.get(100)!.note, forked.note] },
            /two verified checkpoints of size 100 with different roots/,
          );
        } finally {
          await fork.close();
        }
      });
    });

    it('accepts what the evident CLI prints (key, checkpoint, prove inclusion, prove consistency)', async (t) => {
      // `prove` only reads (it takes --db, not --key); `key` and `checkpoint` take both.
      const withKey = ['--db', db, '--key', keyPath];
      const dbOnly = ['--db', db];
      const fromTheCli: string[] = [];
      const [index, size] = [137, 255];
      const [from, to] = [100, 300];

      let cliVkey = vkey;
      await t.test('evident key', (st) => {
        const got = fromCli(st, 'verifier key', [['key', ...withKey]], findVkey);
        if (!got) return;
        assert.equal(got.value, vkey, "the CLI prints the log's verifier key");
        cliVkey = got.value;
        fromTheCli.push('key');
      });

      // The note as `evident checkpoint > file` saves it: the whole of stdout, byte-exact.
      const wholeNote = (out: string) => (findNote(out, ORIGIN) === out ? out : undefined);
      const jsonNote = (out: string) => findNote(out, ORIGIN);
      const cliNotes = new Map<number, string>();
      await t.test('evident checkpoint', (st) => {
        const got = fromCli(
          st,
          'signed checkpoint',
          [
            ['checkpoint', ...withKey],
            ['checkpoint', ...withKey, '--json'],
          ],
          (out) => wholeNote(out) ?? (out.trimStart().startsWith('{') ? jsonNote(out) : undefined),
        );
        if (!got) return;
        // Nothing was appended since the library's last checkpoint: the CLI prints that one.
        assert.equal(got.value, bySize.get(300)!.note);
        cliNotes.set(300, got.value);
        fromTheCli.push('checkpoint');
        for (const n of [size, from]) {
          const stored = fromCli(
            st,
            `stored checkpoint of size ${n}`,
            [
              ['checkpoint', '--size', String(n), ...withKey],
              ['checkpoint', '--size', String(n), ...dbOnly],
            ],
            wholeNote,
          );
          if (!stored) continue;
          assert.equal(stored.value, bySize.get(n)!.note);
          cliNotes.set(n, stored.value);
          fromTheCli.push(`checkpoint --size ${n}`);
        }
      });

      const libInclusion = inclusion.find((p) => p.index === index && p.size === size);
      const libConsistency = consistency.find((c) => c.from === from && c.to === to);
      assert.ok(libInclusion && libConsistency, 'the library proofs the CLI falls back to');
      let cliInclusion: GoInclusion = libInclusion;
      await t.test('evident prove inclusion', (st) => {
        const args = ['prove', 'inclusion', '--index', String(index), '--size', String(size), '--json'];
        const got = fromCli(
          st,
          'inclusion proof',
          [
            [...args, ...dbOnly],
            [...args, ...withKey],
          ],
          findProofObject,
        );
        if (!got) return;
        const { obj, hashes } = got.value;
        const [i, n] = [num(obj['index'] ?? obj['leaf_index']), num(obj['size'] ?? obj['tree_size'])];
        if (i !== undefined) assert.equal(i, index);
        if (n !== undefined) assert.equal(n, size);
        const leaf = typeof obj['leaf'] === 'string' ? obj['leaf'] : undefined;
        const leafHash = typeof obj['leaf_hash'] === 'string' ? obj['leaf_hash'] : undefined;
        if (leaf === undefined && leafHash === undefined) {
          st.diagnostic(
            "the CLI printed no leaf or leaf_hash: checking its hashes against the library's leaf",
          );
        }
        const leafPart =
          leaf !== undefined
            ? { leaf }
            : leafHash !== undefined
              ? { leaf_hash: leafHash }
              : { leaf: cliInclusion.leaf! };
        cliInclusion = { index, size, ...leafPart, hashes };
        fromTheCli.push('prove inclusion');
      });

      let cliConsistency: GoConsistency = libConsistency;
      await t.test('evident prove consistency', (st) => {
        const args = ['prove', 'consistency', '--from', String(from), '--to', String(to), '--json'];
        const got = fromCli(
          st,
          'consistency proof',
          [
            [...args, ...dbOnly],
            [...args, ...withKey],
          ],
          findProofObject,
        );
        if (!got) return;
        const { obj, hashes } = got.value;
        const [m, n] = [num(obj['from'] ?? obj['old_size']), num(obj['to'] ?? obj['new_size'])];
        if (m !== undefined) assert.equal(m, from);
        if (n !== undefined) assert.equal(n, to);
        cliConsistency = { from, to, hashes };
        fromTheCli.push('prove consistency');
      });

      t.diagnostic(
        `from the CLI: ${fromTheCli.length > 0 ? fromTheCli.join(', ') : 'nothing (library output throughout)'}`,
      );
      const doc: GoInput = {
        vkey: cliVkey,
        checkpoints: [300, size, from].map((n) => cliNotes.get(n) ?? bySize.get(n)!.note),
        inclusion: [cliInclusion],
        consistency: [cliConsistency],
      };
      goAccepts(doc);
      // The same output, tampered with, is refused.
      const cp = doc.checkpoints![0]!;
      goRejects({ vkey: cliVkey, checkpoints: [flipSignatureByte(cp)] }, /invalid signature/);
      const badPath = cliInclusion.hashes.map((h, k) => (k === 0 ? flipHash(h) : h));
      goRejects({ ...doc, inclusion: [{ ...cliInclusion, hashes: badPath }] }, /CheckRecord/);
      goRejects(
        { ...doc, consistency: [{ ...cliConsistency, hashes: cliConsistency.hashes.slice(1) }] },
        /CheckTree/,
      );
    });
  });
}
