/**
 * `npm run fuzz`: every fuzz target in test/fuzz/targets.ts through the one runner (test/fuzz/runner.ts).
 *   npm run fuzz                                  100,000 cases per target, heavy ones included (FUZZ_ITERATIONS overrides)
 *   npm run fuzz -- --quick                       heavy targets (X25519, MIME) get the budget divided by their cost
 *   npm run fuzz -- --iterations 5000 --target codec --seed 42 --json
 * Prints per target: cases, errors by code, time and the seed. Failing inputs are saved under
 * test/fuzz/regressions/<target>/<sha1>.bin. Exit code 1 when any target failed.
 */
import { parseArgs } from 'node:util';
import { TARGETS } from '../test/fuzz/targets.js';
import { formatReport, runTarget, type TargetReport } from '../test/fuzz/runner.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
    json: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.description}`);
  process.exit(0);
}

const iterations = Number(values.iterations ?? process.env['FUZZ_ITERATIONS'] ?? 100_000);
if (!(Number.isInteger(iterations) && iterations > 0)) {
  console.error('fuzz: --iterations must be a positive integer');
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const wanted = values.target ?? [];
const unknown = wanted.filter((n) => !TARGETS.some((t) => t.name === n));
if (unknown.length > 0) {
  console.error(`fuzz: unknown target ${unknown.join(', ')} (try --list)`);
  process.exit(2);
}
const chosen = wanted.length > 0 ? TARGETS.filter((t) => wanted.includes(t.name)) : TARGETS;

if (!values.json) console.log(`fuzz: ${chosen.length} targets, ${iterations} cases each${values.quick ? ' (divided by cost for heavy targets)' : ''}, seed ${seed}`);
const reports: TargetReport[] = [];
const started = performance.now();
for (const target of chosen) {
  const r = await runTarget(target, { iterations, seed, ignoreCost: !values.quick });
  reports.push(r);
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(formatReport(r));
    for (const f of r.failures) console.log(`${' '.repeat(17)}FAIL ${f.phase} case ${f.caseNumber}: ${f.error}\n${' '.repeat(22)}input ${f.hex}${f.file ? `\n${' '.repeat(22)}saved ${f.file}` : ''}`);
  }
}
const failed = reports.filter((r) => r.failures.length > 0);
const total = reports.reduce((n, r) => n + r.cases + r.fastCheckRuns, 0);
if (!values.json) console.log(`fuzz: ${total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; ${failed.length === 0 ? 'no failures' : `FAILED: ${failed.map((r) => r.name).join(', ')}`} (seed ${seed})`);
process.exitCode = failed.length > 0 ? 1 : 0;
