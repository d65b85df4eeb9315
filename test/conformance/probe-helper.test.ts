/**
 * `tessera conformance helper`: the probes pass (or are n/a with a reason) against tessera's own Helper connecting
 * again and again with the run's invitation, and each planted defect of test/helpers/broken-helpers.ts is reported
 * FAIL by the probe of the rule it breaks, naming its id.
 */
import t from 'tap';
import { Helper } from '../../src/index.js';
import { HELPER_PROBES, HelperTarget, runProbes, type ProbeResult } from '../../src/conformance/index.js';
import { brokenHelperLoop, type BrokenBehaviour } from '../helpers/broken-helpers.js';

/** tessera's Helper, connecting with the invitation until `signal` aborts (one connection at a time). */
async function tesseraHelperLoop(target: HelperTarget, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const helper = await Helper.connect(target.invitation, { signal });
      helper.on('error', () => {});
      // An update refused at once may close the session before connect() resolves: then 'close' has gone by.
      if (helper.closed) continue;
      await new Promise<void>((resolve) => {
        helper.on('close', () => resolve());
        signal.addEventListener('abort', () => helper.close(), { once: true });
      });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function runAgainst(t: { teardown(fn: () => unknown): void }, loop: (target: HelperTarget, signal: AbortSignal) => Promise<void>, only?: string[]): Promise<ProbeResult[]> {
  const target = await HelperTarget.start({ port: 0, connectWaitMs: 10_000 });
  t.teardown(() => target.close());
  const stop = new AbortController();
  const helpers = loop(target, stop.signal);
  try {
    return await runProbes(HELPER_PROBES, target, { timeoutMs: 25_000, ...(only ? { only } : {}) });
  } finally {
    stop.abort();
    await helpers;
  }
}

function byName(results: readonly ProbeResult[], name: string): ProbeResult {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`probe ${name} did not run`);
  return r;
}

t.test('against tessera itself every probe passes or is n/a with a reason', async (t) => {
  const results = await runAgainst(t, tesseraHelperLoop);
  t.equal(results.length, HELPER_PROBES.length, 'every probe ran');
  for (const r of results) {
    const v = r.verdict;
    if (v.status === 'n/a') t.ok(v.reason.length > 0, `${r.name}: n/a with a reason (${v.reason})`);
    else t.equal(v.status, 'pass', `${r.name} (${r.ids.join(' ')}): ${v.status === 'fail' ? v.reason : v.detail ?? ''}`);
  }
  t.ok(results.filter((r) => r.verdict.status === 'pass').length >= HELPER_PROBES.length - 1, 'nearly all apply to tessera');
});

async function planted(t: { teardown(fn: () => unknown): void }, behaviour: BrokenBehaviour, only: string[]): Promise<ProbeResult[]> {
  return runAgainst(t, (target, signal) => brokenHelperLoop(target.invitation, behaviour, signal), only);
}

t.test('planted defect: a helper that acknowledges every update without decoding fails the refusal probes (CODEC-41, CODEC-1)', async (t) => {
  const results = await planted(t, 'ack-without-decoding', ['refuse-med-range-start', 'refuse-non-shortest-varint', 'records']);
  for (const name of ['refuse-med-range-start', 'refuse-non-shortest-varint']) {
    const r = byName(results, name);
    t.equal(r.verdict.status, 'fail', `${name}: ${r.verdict.status === 'fail' ? r.verdict.reason : 'not failed'}`);
    t.match(r.verdict.status === 'fail' ? r.verdict.reason : '', /acknowledged the malformed update/);
  }
  t.ok(byName(results, 'refuse-med-range-start').ids.includes('CODEC-41'));
  t.ok(byName(results, 'refuse-non-shortest-varint').ids.includes('CODEC-1'));
  // Acks alone cannot tell it from a helper that decodes: the valid probes pass.
  t.equal(byName(results, 'records').verdict.status, 'pass');
});

t.test('planted defect: a helper that decodes but never acknowledges fails records and in-flight (SES-7)', async (t) => {
  const results = await planted(t, 'never-ack', ['records', 'in-flight']);
  for (const r of results) {
    t.equal(r.verdict.status, 'fail', `${r.name}: ${r.verdict.status === 'fail' ? r.verdict.reason : 'not failed'}`);
    t.match(r.verdict.status === 'fail' ? r.verdict.reason : '', /ack/);
    t.ok(r.ids.includes('SES-7'));
  }
});

t.test('planted defect: a helper that ignores codec seq gaps fails refuse-seq-skip (CODEC-9) and nothing else it runs', async (t) => {
  const results = await planted(t, 'ignore-seq-gaps', ['refuse-seq-skip', 'seq-wrap', 'copies']);
  const r = byName(results, 'refuse-seq-skip');
  t.equal(r.verdict.status, 'fail', r.verdict.status === 'fail' ? r.verdict.reason : 'not failed');
  t.match(r.verdict.status === 'fail' ? r.verdict.reason : '', /acknowledged the malformed update/);
  t.ok(r.ids.includes('CODEC-9'));
  t.equal(byName(results, 'seq-wrap').verdict.status, 'pass');
  t.equal(byName(results, 'copies').verdict.status, 'pass');
});

t.test('planted defect: a helper that drops the connection on a bad update without a close message fails SES-20', async (t) => {
  const results = await planted(t, 'drop-without-close', ['refuse-version', 'records']);
  const r = byName(results, 'refuse-version');
  t.equal(r.verdict.status, 'fail', r.verdict.status === 'fail' ? r.verdict.reason : 'not failed');
  t.match(r.verdict.status === 'fail' ? r.verdict.reason : '', /without close/);
  t.ok(r.ids.includes('SES-20'));
  t.equal(byName(results, 'records').verdict.status, 'pass');
});

t.test('planted defect: a helper whose acks say decoded 0 fails records (SES-7)', async (t) => {
  const results = await planted(t, 'ack-decoded-zero', ['records']);
  const r = byName(results, 'records');
  t.equal(r.verdict.status, 'fail', r.verdict.status === 'fail' ? r.verdict.reason : 'not failed');
  t.match(r.verdict.status === 'fail' ? r.verdict.reason : '', /decoded: 0/);
  t.ok(r.ids.includes('SES-7'));
});
