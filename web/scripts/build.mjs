// Bundles src/app.js -> dist/app.js (ESM, minified, with sourcemap) and
// copies the static files next to it. dist/ is what the server serves at "/".
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const STATIC_FILES = ['index.html', 'styles.css'];

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const result = await build({
  entryPoints: [join(src, 'app.js')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info',
  metafile: true,
});

for (const file of STATIC_FILES) {
  await copyFile(join(src, file), join(dist, file));
}

const bytes = Object.entries(result.metafile.outputs)
  .map(([name, o]) => `${name.replace(root + '/', '')} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(['built:', ...bytes, ...STATIC_FILES.map((f) => `dist/${f} (copied)`)].join('\n  '));
