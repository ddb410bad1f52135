/** SQLite failures as coded errors. */
import { ErrorCode, EvidentError } from '../../core/errors.ts';
import type { NodeId } from '../../core/merkle/index.ts';

export function missingNode(n: NodeId): EvidentError {
  return new EvidentError(ErrorCode.STORE_FAILED, `tree node level ${n.level} index ${n.index} is missing`, {
    level: n.level,
    index: n.index,
  });
}

export function storeError(e: unknown): EvidentError {
  const code = (e as { code?: string }).code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new EvidentError(ErrorCode.STORE_BUSY, 'the database is busy (another writer holds the lock)', {
      cause: code,
    });
  }
  return new EvidentError(ErrorCode.STORE_FAILED, `SQLite: ${(e as Error).message}`, { cause: code });
}
