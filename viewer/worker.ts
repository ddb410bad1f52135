/**
 * The verification worker: the same script as the page, started from a Blob, so that the
 * self-contained HTML file needs nothing beside itself. It reads the bundle (a File, or the
 * server's export stream) and posts progress, then the report.
 */
import { isEvidentError } from '../src/core/errors.ts';
import { verifierFromKey } from '../src/core/note-keys.ts';
import { verifyStream } from './verify-stream.ts';

export type WorkerRequest =
  | { source: 'file'; file: Blob; logKeys: string[] }
  | { source: 'url'; url: string; key: string; logKeys: string[] };

export type WorkerMessage =
  | { type: 'header'; header: import('../src/core/bundle.ts').BundleHeader }
  | { type: 'progress'; entries: number }
  | { type: 'growth'; points: [number, number][] }
  | { type: 'done'; report: import('../src/core/verify/report.ts').VerifyReport; ms: number }
  | { type: 'error'; code: string; message: string; details?: Record<string, unknown> };

export async function runVerification(req: WorkerRequest, post: (m: WorkerMessage) => void): Promise<void> {
  const started = performance.now();
  try {
    const verifiers = req.logKeys.map((k) => verifierFromKey(k.trim()));
    let stream: ReadableStream<Uint8Array>;
    if (req.source === 'file') stream = req.file.stream();
    else {
      const res = await fetch(req.url, {
        headers: req.key ? { authorization: `Bearer ${req.key}` } : {},
        cache: 'no-store',
      });
      if (!res.ok || !res.body) {
        let code = `HTTP_${res.status}`;
        let message = res.statusText;
        try {
          const b = (await res.json()) as { code?: string; message?: string };
          code = b.code ?? code;
          message = b.message ?? message;
        } catch {}
        post({ type: 'error', code, message });
        return;
      }
      stream = res.body;
    }
    const { report } = await verifyStream(stream, verifiers, {
      header: (header) => post({ type: 'header', header }),
      progress: (entries) => post({ type: 'progress', entries }),
      growth: (points) => post({ type: 'growth', points }),
    });
    post({ type: 'done', report, ms: performance.now() - started });
  } catch (e) {
    if (isEvidentError(e)) post({ type: 'error', code: e.code, message: e.message, details: e.details });
    else post({ type: 'error', code: 'READ_FAILED', message: (e as Error).message });
  }
}

export function startWorker(): void {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
    postMessage(m: WorkerMessage): void;
  };
  scope.onmessage = (e) => {
    void runVerification(e.data, (m) => scope.postMessage(m));
  };
}
