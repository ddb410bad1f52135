/**
 * GET /: the auditor's viewer, one self-contained HTML page built by `npm run build` into
 * dist/viewer/index.html (sources in viewer/). It is served with a Content-Security-Policy that
 * allows exactly its one inline script (by hash), its styles, requests to this server and its
 * verification worker: nothing else loads, so the page works on an air-gapped network.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ViewerPage {
  html: string;
  csp: string;
}

/** dist/viewer/index.html beside dist/server (built), or under dist/ when running from src/. */
const CANDIDATES = ['../viewer/index.html', '../../dist/viewer/index.html'];

export function loadViewerPage(): ViewerPage | undefined {
  for (const c of CANDIDATES) {
    let html: string;
    try {
      html = readFileSync(fileURLToPath(new URL(c, import.meta.url)), 'utf8');
    } catch {
      continue;
    }
    const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
    );
    const csp = [
      "default-src 'none'",
      `script-src ${hashes.join(' ')}`,
      "style-src 'unsafe-inline'",
      "connect-src 'self'",
      'worker-src blob:',
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    return { html, csp };
  }
  return undefined;
}
