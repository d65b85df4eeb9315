/**
 * Builds the browser viewer into dist/web: `node --import tsx scripts/build-web.ts [--out DIR] [--no-minify]`.
 * The host also builds on demand when dist/web is missing or stale (src/node/web-server.ts), so this is
 * needed only for packaging or to see the bundle size.
 */
import { buildWebAssets } from '../src/node/web-server.js';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;
const started = performance.now();
try {
  const build = await buildWebAssets({ ...(outDir ? { outDir } : {}), minify: !args.includes('--no-minify') });
  const ms = Math.round(performance.now() - started);
  console.log(`built ${build.outDir}: viewer.js ${(build.bundleBytes / 1024).toFixed(1)} KiB from ${Object.keys(build.inputs).length} inputs in ${ms} ms`);
} catch (err) {
  console.error(`build-web: ${(err as Error).message}`);
  process.exitCode = 1;
}
