/**
 * Every fuzz target of test/fuzz/targets.ts through the one runner, with a short budget (FUZZ_ITERATIONS,
 * default 2,000 per target; heavy targets get less by their cost), then every stored regression input replayed.
 * A failure prints the seed and the input, and saves it under test/fuzz/regressions/<target>/.
 * Reproduce with FUZZ_SEED=<seed> npm run fuzz -- --target <name> --iterations <n>.
 */
import t from 'tap';
import { TARGETS } from './targets.js';
import { formatReport, regressionFiles, replayRegressions, runTarget } from './runner.js';
import { fuzzIterations, fuzzSeed } from '../helpers/prng.js';

const SEED = fuzzSeed();
const ITERATIONS = fuzzIterations(2000);

t.test(`every target holds under ${ITERATIONS} cases (seed ${SEED})`, async (t) => {
  for (const target of TARGETS) {
    const r = await runTarget(target, { iterations: ITERATIONS, seed: SEED });
    t.comment(formatReport(r));
    t.same(r.failures, [], `${target.name}: only tessera errors, and the instance still decodes valid input (seed ${SEED})`);
    t.ok(r.cases > 0 && r.fastCheckRuns > 0, `${target.name}: ${r.cases} seeded cases, ${r.fastCheckRuns} fast-check runs`);
    // A target that never decodes or never rejects anything is not exercising its decoder.
    t.ok(r.decoded > 0, `${target.name}: ${r.decoded} inputs decoded`);
    t.ok(Object.keys(r.errors).length > 0, `${target.name}: errors reached ${Object.keys(r.errors).join(', ')}`);
  }
});

t.test('every stored regression input is replayed', async (t) => {
  let total = 0;
  for (const target of TARGETS) {
    const { files, failures } = await replayRegressions(target);
    total += files;
    t.same(failures, [], `${target.name}: ${files} regression inputs`);
  }
  t.ok(total >= TARGETS.filter((x) => regressionFiles(x).length > 0).length, `${total} regression inputs replayed`);
});
