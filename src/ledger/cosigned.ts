/**
 * A checkpoint with the witness cosignatures stored beside it (C2SP tlog-cosignature): the
 * signed note followed by every stored cosignature line it does not carry yet. The lines were
 * verified when they were gathered; whoever reads the note verifies them again against the
 * witness keys they trust (core/witness-policy.ts), so a rewritten line is caught there.
 */
import { toHex } from '../core/bytes.ts';
import { MAX_NOTE_SIGNATURES, parseNote } from '../core/note.ts';
import type { CosignatureStore, Store, StoredCheckpoint } from '../store/types.ts';

/** Whether the store keeps cosignatures (both drivers do; a Store from elsewhere may not). */
export function keepsCosignatures(store: object): store is CosignatureStore {
  return typeof (store as Partial<CosignatureStore>).cosignatures === 'function';
}

export async function cosignedNote(
  store: Store | CosignatureStore,
  logId: number,
  cp: StoredCheckpoint,
): Promise<string> {
  if (!keepsCosignatures(store)) return cp.note;
  const stored = await store.cosignatures(logId, cp.size);
  if (stored.length === 0) return cp.note;
  const present = parseNote(cp.note).signatures;
  const seen = new Set(present.map((s) => `${s.name} ${toHex(s.keyId)}`));
  const lines: string[] = [];
  for (const c of stored) {
    const k = `${c.name} ${c.keyId}`;
    if (seen.has(k) || present.length + lines.length >= MAX_NOTE_SIGNATURES) continue;
    seen.add(k);
    lines.push(`${c.line}\n`);
  }
  return cp.note + lines.join('');
}
