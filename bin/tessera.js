#!/usr/bin/env node
// The tessera command. In a checkout (src/ present, tsx installed) it runs the TypeScript sources, so it never
// runs a stale build; an installed package runs the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

// Tells src/cli/main that it was started as the command (not imported by a test).
globalThis.__tesseraBin = true;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
// TESSERA_USE_DIST=1 runs the compiled dist/ even in a checkout: the test suite sets it when dist/ is newer than
// every source file (test/helpers/cli.ts), to spare each spawned command the TypeScript loader.
let useSource = existsSync(source) && !(process.env.TESSERA_USE_DIST === '1' && existsSync(compiled));
if (useSource) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    useSource = false;
  }
}
await import(pathToFileURL(useSource ? source : compiled).href);
