// Builds the viewer into one self-contained page, dist/viewer/index.html: the script (the app
// and its verification worker, one bundle) and the styles inline, nothing loaded from elsewhere.
// `evident serve` serves it at / and `evident viewer --out FILE` writes it out.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = await build({
  entryPoints: [join(here, 'main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
const js = out.outputFiles[0].text;
if (/<\/script/i.test(js) || /<!--/.test(js)) throw new Error('the viewer script holds </script or <!--');
const css = readFileSync(join(here, 'style.css'), 'utf8');
const html = readFileSync(join(here, 'page.html'), 'utf8')
  .replace('/*STYLE*/', () => css)
  .replace('/*SCRIPT*/', () => js.trimEnd());
mkdirSync(join(root, 'dist', 'viewer'), { recursive: true });
writeFileSync(join(root, 'dist', 'viewer', 'index.html'), html);
if (process.argv.includes('--size')) {
  console.log(`viewer: ${html.length} bytes, ${gzipSync(html).length} bytes gzipped`);
}
