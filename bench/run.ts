/**
 * `npm run bench [-- NAME ...] [-- --json]`: runs the benchmarks in bench/*.bench.ts one after another, each in
 * its own process so one's memory and JIT state do not colour the next. With names (codec, framing, handshake,
 * memory, recording, relay, session, transfer, web, x11), only those run. Other arguments (--json, --corpus DIR, ...) are passed through.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const all = readdirSync(dir).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
const args = process.argv.slice(2);
const names = args.filter((a) => all.includes(a));
const passThrough = args.filter((a) => !all.includes(a));
const chosen = names.length > 0 ? names : all;
let failed = 0;
for (const name of chosen) {
  if (!passThrough.includes('--json')) console.log(`\n=== bench/${name}.bench.ts`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, `${name}.bench.ts`), ...passThrough], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
