/**
 * The witness's add-checkpoint rate: one log, checkpoints 1,000 entries apart, each sent over
 * HTTP with its consistency proof to a real `Witness` on a SQLite file (one durable transaction
 * per request). Requests are sequential, as a log sends them: each moves the state the next one
 * starts from. Bodies are built before the clock starts; every answer must be a 200 whose
 * cosignature verifies, so a fast wrong answer cannot pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utf8 } from '../src/core/bytes.ts';
import { signCheckpoint } from '../src/core/checkpoint.ts';
import { cosignerFromSeed, formatCosignerKey } from '../src/core/cosignature.ts';
import { leafHash } from '../src/core/hash.ts';
import { CompactRange, referenceConsistencyProof } from '../src/core/merkle/index.ts';
import { formatVerifierKey, signerFromSeed } from '../src/core/note-keys.ts';
import { checkWitnessQuorum, parseWitnessPolicy } from '../src/core/witness-policy.ts';
import { formatAddCheckpoint } from '../src/core/witness-request.ts';
import { trustedLogs, Witness } from '../src/server/witness/add-checkpoint.ts';
import { startWitnessServer } from '../src/server/witness/http.ts';
import { openStore } from '../src/store/open.ts';
import { latencySummary, progress } from './support.ts';

export interface WitnessResult {
  step: number;
  requests: number;
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Every answer a 200 with a cosignature that verifies. */
  ok: boolean;
}

export async function benchWitness(requests: number, step = 1_000): Promise<WitnessResult> {
  const dir = mkdtempSync(join(tmpdir(), 'evident-bench-witness-'));
  const log = signerFromSeed('bench.example/log', new Uint8Array(32).fill(1));
  const seed = new Uint8Array(32).fill(2);
  const wvkey = formatCosignerKey('bench.example/w', cosignerFromSeed('bench.example/w', seed).publicKey);
  const store = await openStore(join(dir, 'w.db'));
  try {
    const leaves: Uint8Array[] = [];
    const range = CompactRange.empty();
    const bodies: string[] = [];
    const notes: string[] = [];
    for (let r = 0; r < requests; r++) {
      const old = leaves.length;
      for (let i = 0; i < step; i++) {
        const h = leafHash(utf8(`e${leaves.length}`));
        leaves.push(h);
        range.append(h);
      }
      const note = signCheckpoint({ origin: log.name, size: leaves.length, rootHash: range.root() }, log);
      const proof = old === 0 ? [] : referenceConsistencyProof(old, leaves);
      bodies.push(formatAddCheckpoint({ oldSize: old, proof, checkpoint: note }));
      notes.push(note);
      if (r % 20 === 0) progress(`witness: building request ${r}/${requests}`);
    }
    const policy = parseWitnessPolicy(`log ${formatVerifierKey(log.name, log.publicKey)}\n`, {
      requireQuorum: false,
    });
    const server = await startWitnessServer(
      { witness: new Witness(store, trustedLogs(policy), { name: 'bench.example/w', seed }) },
      { host: '127.0.0.1', port: 0 },
    );
    const latencies: number[] = [];
    const answers: string[] = [];
    let ok = true;
    const t0 = performance.now();
    try {
      for (const body of bodies) {
        const t = performance.now();
        const res = await fetch(`${server.url}/add-checkpoint`, { method: 'POST', body });
        const text = await res.text();
        latencies.push(performance.now() - t);
        if (res.status !== 200) ok = false;
        answers.push(text);
      }
    } finally {
      await server.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    for (const [i, a] of answers.entries()) {
      try {
        checkWitnessQuorum(notes[i]! + a, [wvkey], 1);
      } catch {
        ok = false;
      }
    }
    return {
      step,
      requests,
      requests_per_s: Math.round(requests / seconds),
      ...latencySummary(latencies),
      ok,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
