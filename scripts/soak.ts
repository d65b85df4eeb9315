/**
 * `npm run soak`: the attack, fault and load scenarios of test/attack and test/faults at a larger size, with figures.
 *   1. 1,000 half-open connections (SOAK_SOCKETS), while a helper is served;
 *   2. 500 peers sending random or randomly framed bytes (SOAK_GARBAGE);
 *   3. load: waves of 50 concurrent wrong proofs for 10 s (SOAK_WINDOW_MS) while a replay streams; the loaded frame
 *      rate must stay within 20% of the unloaded one, measured in the same run;
 *   4. SIGKILL during ticket writes, 10 times (SOAK_KILLS);
 *   5. every fuzz target at 10,000 cases (SOAK_FUZZ_ITERATIONS; `npm run fuzz` runs 100,000).
 * Prints attempts, refusals by code, frames delivered, RSS / heap / handles before and after, fuzz cases per target.
 * Exit code 1 when a check fails.
 */
import { spawnSync } from 'node:child_process';
import { fuzzSeed, Prng } from '../test/helpers/prng.js';
import {
  auditFor, closed, count, expectFrames, legitHelper, measure, rawSocket, settleHandles, startHost, type ProcessFigures, type RawSocket,
} from '../test/attack/lib.js';
import { runLoad } from '../test/attack/load-lib.js';
import { TARGETS } from '../test/fuzz/targets.js';
import { formatReport, runTarget } from '../test/fuzz/runner.js';

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const SOCKETS = env('SOAK_SOCKETS', 1000);
const GARBAGE = env('SOAK_GARBAGE', 500);
const WINDOW = env('SOAK_WINDOW_MS', 10_000);
const KILLS = env('SOAK_KILLS', 10);
const FUZZ = env('SOAK_FUZZ_ITERATIONS', 10_000);
const SEED = fuzzSeed();
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};
const fig = (f: ProcessFigures) => `rss ${f.rssMiB} MiB, heap ${f.heapUsedMiB} MiB, handles ${JSON.stringify(f.handles)}`;

console.log(`soak (seed ${SEED})`);

// 1. Half-open connections.
{
  console.log(`\n1. ${SOCKETS} half-open connections`);
  const live = await startHost({ handshakeTimeoutMs: 2_000 });
  const helper = await legitHelper(live);
  await expectFrames(helper, 2);
  const before = measure();
  const started = performance.now();
  const sockets: RawSocket[] = [];
  for (let i = 0; i < SOCKETS; i += 100) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, () => rawSocket(live.port).catch(() => undefined)))).filter((s): s is RawSocket => !!s));
  }
  const peak = measure();
  await expectFrames(helper, 2);
  await Promise.all(sockets.map(closed));
  const entries = sockets.flatMap((s) => auditFor(live.audit, s));
  const second = await legitHelper(live);
  await expectFrames(second, 2);
  await second.close();
  const after = await settleHandles(before);
  console.log(`  attempts ${sockets.length}; dropped in ${((performance.now() - started) / 1000).toFixed(1)} s; audit ${JSON.stringify(count(entries, (e) => `${e.decision}:${e.code}`))}`);
  console.log(`  frames delivered to the connected helper: ${helper.stats.frames}`);
  console.log(`  before ${fig(before)}\n  peak   ${fig(peak)}\n  after  ${fig(after)}`);
  check(sockets.every((s) => auditFor(live.audit, s).length > 0), 'every half-open socket dropped with an audit entry');
  check((after.handles['TCPSocketWrap'] ?? 0) <= (before.handles['TCPSocketWrap'] ?? 0) + 2, 'sockets back to the baseline');
  await helper.close();
  await live.close();
}

// 2. Random and randomly framed bytes.
{
  console.log(`\n2. ${GARBAGE} peers sending random bytes`);
  const live = await startHost({ handshakeTimeoutMs: 1_000 });
  const helper = await legitHelper(live);
  await expectFrames(helper, 2);
  const before = measure();
  const rng = new Prng(SEED);
  const sockets: RawSocket[] = [];
  for (let i = 0; i < GARBAGE; i += 25) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(25, GARBAGE - i) }, async (_, k) => {
      const s = await rawSocket(live.port);
      let bytes = rng.bytes(rng.range(1, 4096));
      if (k % 2 === 1) {
        const n = rng.range(1, 300);
        bytes = new Uint8Array(4 + n);
        bytes.set([0, 0, n >>> 8, n & 0xff]);
        bytes.set(rng.bytes(n), 4);
        if (k % 4 === 1) bytes[4] = 0;
      }
      s.end(bytes);
      await closed(s);
      return s;
    }))));
  }
  const entries = sockets.flatMap((s) => auditFor(live.audit, s));
  await expectFrames(helper, 2);
  const after = await settleHandles(before);
  console.log(`  attempts ${sockets.length}; refusals by code ${JSON.stringify(count(entries, (e) => `${e.decision}:${e.code}`))}`);
  console.log(`  frames delivered to the connected helper: ${helper.stats.frames}`);
  console.log(`  before ${fig(before)}\n  after  ${fig(after)}`);
  check(sockets.every((s) => auditFor(live.audit, s).length > 0), 'every bad peer dropped with an audit entry');
  check(live.host.sessions.length === 1, 'only the legitimate helper holds a session');
  await helper.close();
  await live.close();
}

// 3. Load: wrong proofs while a replay streams.
{
  console.log(`\n3. waves of 50 wrong proofs for ${WINDOW / 1000} s while a replay streams at 15 fps`);
  const f = await runLoad({ windowMs: WINDOW, fps: 15, concurrency: 50 });
  const ratio = f.loadedFps / f.unloadedFps;
  console.log(`  frame rate: ${f.unloadedFps} fps unloaded, ${f.loadedFps} fps loaded (${(ratio * 100).toFixed(0)}%); frames delivered ${f.framesDelivered}`);
  console.log(`  attempts ${f.attempts} in ${f.waves} waves; refusals seen by the attacker ${JSON.stringify(f.refusals)}; audited ${JSON.stringify(f.auditRefusals)}`);
  console.log(`  after the attack: another address with its own ticket ${f.afterAttackFromOtherAddress}; the attacker's address with a valid ticket ${f.afterAttackFromAttackerAddress}`);
  console.log(`  before ${fig(f.before)}\n  after  ${fig(f.after)}`);
  check(ratio >= 0.8, 'loaded frame rate within 20% of unloaded');
  check((f.refusals['ACCEPTED'] ?? 0) === 0 && f.accepted === 0, 'no wrong proof accepted');
  check((f.refusals['THROTTLED'] ?? 0) > 0, 'THROTTLED appears');
  check((f.after.handles['TCPSocketWrap'] ?? 0) <= (f.before.handles['TCPSocketWrap'] ?? 0) + 2, 'sockets back to the baseline');
}

// 4. SIGKILL during ticket writes (the tap test, larger).
{
  console.log(`\n4. SIGKILL during ticket writes, ${KILLS} times`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/faults/sigkill-tickets.test.ts'], { env: { ...process.env, SIGKILL_ROUNDS: String(KILLS), FUZZ_SEED: String(SEED) }, encoding: 'utf8' });
  for (const line of r.stdout.split('\n').filter((l) => /tickets committed|temp files|not ok/.test(l))) console.log(`  ${line.trim()}`);
  check(r.status === 0, 'every committed ticket and revocation survived');
}

// 5. Fuzz targets at a smaller budget.
{
  console.log(`\n5. fuzz: ${TARGETS.length} targets, ${FUZZ} cases each (npm run fuzz runs 100,000)`);
  for (const target of TARGETS) {
    const r = await runTarget(target, { iterations: FUZZ, seed: SEED });
    console.log(formatReport(r).replace(/^/gm, '  '));
    check(r.failures.length === 0, `${target.name}: no failures${r.failures[0] ? ` (${r.failures[0].error}, saved ${r.failures[0].file})` : ''}`);
  }
}

console.log(`\nsoak: ${failures.length === 0 ? 'all checks passed' : `${failures.length} FAILED: ${failures.join('; ')}`} (seed ${SEED})`);
process.exit(failures.length === 0 ? 0 : 1);
