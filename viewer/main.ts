/**
 * The viewer's one script. In the page it runs the app; started again as a Web Worker (from a
 * Blob of this same text, so the self-contained file needs nothing else) it verifies bundles.
 */
import { startApp } from './app.ts';
import { startWorker } from './worker.ts';

if (typeof document === 'undefined') startWorker();
else startApp(document.currentScript?.textContent ?? '');
