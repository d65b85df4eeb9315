/**
 * A smoke run of bench/relay.bench.ts at tiny sizes: it finishes, and its JSON report has every figure, well formed
 * and sane (finite, positive, the counts asked for). Never the targets and never a time: benchmarks print figures,
 * tests do not judge them.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const bench = join(import.meta.dirname, '../../bench/relay.bench.ts');
const sizes = { presses: 20, pairs: 4, bytes: 1_000_000, registrations: 50 };

function run(argv: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--import', 'tsx', bench, ...argv], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr }),
    );
  });
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

t.test('the relay bench at tiny sizes prints a well-formed JSON report', async (t) => {
  const { stdout } = await run(['--presses', `${sizes.presses}`, '--pairs', `${sizes.pairs}`, '--bytes', `${sizes.bytes}`, '--registrations', `${sizes.registrations}`, '--json']);
  const lines = stdout.trim().split('\n');
  t.equal(lines.length, 1, 'with --json, one line and nothing else on stdout');
  const report = JSON.parse(lines[0]!) as Record<string, any>;
  t.same(report.sizes, sizes, 'the sizes asked for');
  t.ok(typeof report.environment?.node === 'string' && report.load?.start?.length === 3, 'the environment and the load are reported');
  t.equal(report.relayOptions?.maxPairBytesPerSecond, 0, 'the raised caps are reported');

  const lat = report.latency;
  t.equal(lat.presses, 2 * sizes.presses, 'every press timed on both paths');
  for (const path of ['direct', 'relay']) {
    t.ok(positive(lat[path].p50Ms) && positive(lat[path].p99Ms), `${path} p50 and p99 are positive`);
    t.ok(lat[path].p50Ms <= lat[path].p99Ms, `${path} p50 <= p99`);
  }
  t.ok(Number.isFinite(lat.addedP50Ms) && Number.isFinite(lat.addedP99Ms), 'the added latency is a number (it may be negative in noise)');
  t.equal(lat.addedP50Ms, lat.relay.p50Ms - lat.direct.p50Ms);
  t.ok(lat.echo.roundTrips > 0, 'small-message round trips beside the presses');
  for (const path of ['direct', 'relay']) t.ok(positive(lat.echo[path].p50Ms) && lat.echo[path].p50Ms <= lat.echo[path].p99Ms, `${path} round trip p50 and p99`);

  const thr = report.throughput;
  t.equal(thr.pairs, sizes.pairs);
  t.ok(thr.bytes > 0 && thr.bytes <= sizes.bytes, 'the bytes streamed, split evenly across the pairs');
  for (const path of ['direct', 'directMasked', 'relay']) t.ok(positive(thr[path].seconds) && positive(thr[path].gbitPerSec), `${path} throughput is positive`);
  t.ok(positive(thr.ratio) && positive(thr.ratioMasked), 'relay throughput as ratios of both direct baselines');
  t.ok(thr.relayCpuSeconds >= 0 && Number.isFinite(thr.relayCpuSecondsPerGB), 'the relay process CPU per GB');

  const reg = report.registrations;
  t.equal(reg.requested, sizes.registrations);
  t.equal(reg.held, sizes.registrations, 'the relay holds every idle registration');
  t.equal(reg.lost, 0, 'no registration lost');
  t.ok(positive(reg.perSecond) && positive(reg.rssBytesBefore) && positive(reg.rssBytesAfter), 'registration rate and relay memory');
  t.ok(Number.isFinite(reg.rssBytesPerRegistration) && Number.isFinite(reg.heapBytesPerRegistration), 'memory per registration is a number');

  t.same(
    report.targets.map((x: { name: string }) => x.name.replace(/ \(only .*\)$/, '')),
    ['added latency p50 (ms)', 'aggregate throughput (Gbit/s)', 'RSS per idle registration (KiB)', 'idle registrations held'],
    'each target is stated',
  );
  for (const x of report.targets) t.equal(typeof x.met, 'boolean', `${x.name}: met or missed`);
});

t.test('the bench refuses a size that is not a number', async (t) => {
  await t.rejects(run(['--presses', 'many', '--json']), { code: 1 });
});
