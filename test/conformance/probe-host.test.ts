/**
 * `tessera conformance host`: the probes pass (or are n/a with a reason) against tessera's own Host, and each planted
 * defect of test/helpers/broken-hosts.ts is reported FAIL by the probe of the rule it breaks, naming its id.
 */
import t from 'tap';
import { Host, VirtualScreen } from '../../src/index.js';
import { Channel } from '../../src/framing/index.js';
import { HOST_PROBES, hostTarget, runProbes, type HostTarget, type ProbeResult } from '../../src/conformance/index.js';
import { displayPayload, refusalInTheClear, scriptedHost } from '../helpers/broken-hosts.js';

async function tesseraHost(t: { teardown(fn: () => unknown): void }) {
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'probe target' });
  const { port } = await host.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => host.close());
  const created = await host.createInvitation({ mode: 'control', expires: '30m', uses: 1 });
  return { port, invitation: created.invitation };
}

function run(target: HostTarget, only: string[]): Promise<ProbeResult[]> {
  return runProbes(HOST_PROBES, target, { timeoutMs: 15_000, only });
}

function byName(results: readonly ProbeResult[], name: string): ProbeResult {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`probe ${name} did not run`);
  return r;
}

t.test('against tessera itself every probe passes or is n/a with a reason, all on one place of the invitation', async (t) => {
  const { invitation } = await tesseraHost(t);
  const results = await runProbes(HOST_PROBES, hostTarget(invitation), { timeoutMs: 15_000 });
  t.equal(results.length, HOST_PROBES.length, 'every probe ran');
  for (const r of results) {
    const v = r.verdict;
    if (v.status === 'n/a') t.ok(v.reason.length > 0, `${r.name}: n/a with a reason (${v.reason})`);
    else t.equal(v.status, 'pass', `${r.name} (${r.ids.join(' ')}): ${v.status === 'fail' ? v.reason : v.detail ?? ''}`);
  }
  t.ok(results.filter((r) => r.verdict.status === 'pass').length >= HOST_PROBES.length - 2, 'nearly all apply to tessera');
});

t.test('planted defect: a host that ignores acknowledgements fails flow-control (SES-9)', async (t) => {
  const broken = await scriptedHost((send) => {
    for (let seq = 1; seq <= 20; seq++) send(Channel.Display, displayPayload(seq, seq === 1));
  });
  t.teardown(() => broken.close());
  const [r] = await run(hostTarget(broken.invitation), ['flow-control']);
  t.equal(r!.verdict.status, 'fail', r!.verdict.status === 'fail' ? r!.verdict.reason : 'not failed');
  t.ok(r!.ids.includes('SES-9'));
});

t.test('planted defect: a host whose first update is not a KEY update fails first-update-key (HS-36)', async (t) => {
  const broken = await scriptedHost((send) => send(Channel.Display, displayPayload(1, false)));
  t.teardown(() => broken.close());
  const [r] = await run(hostTarget(broken.invitation), ['first-update-key']);
  t.same(r!.verdict, { status: 'fail', reason: 'the first display update of the session is not a KEY update' });
  t.ok(r!.ids.includes('HS-36'));
});

t.test('planted defect: a host that goes on after a frame that fails to open fails tampered-frame (FR-14)', async (t) => {
  // It never reads what the helper sends, so an altered frame changes nothing.
  const broken = await scriptedHost((send) => send(Channel.Display, displayPayload(1, true)));
  t.teardown(() => broken.close());
  const [r] = await run(hostTarget(broken.invitation), ['tampered-frame']);
  t.equal(r!.verdict.status, 'fail');
  t.match(r!.verdict.status === 'fail' ? r!.verdict.reason : '', /went on/);
  t.ok(r!.ids.includes('FR-14'));
});

t.test('planted defect: a refusal in the clear after ServerHello fails bad-proof (HS-45)', async (t) => {
  const real = await tesseraHost(t);
  const broken = await refusalInTheClear(real);
  t.teardown(() => broken.close());
  const [r] = await run({ ...hostTarget(real.invitation), port: broken.port }, ['bad-proof']);
  t.equal(r!.verdict.status, 'fail');
  t.match(r!.verdict.status === 'fail' ? r!.verdict.reason : '', /in the clear after ServerHello/);
  t.ok(r!.ids.includes('HS-45'));
  // The same proxy forwards a good handshake untouched: the defect is only the refusal.
  const [ok] = await run({ ...hostTarget(real.invitation), port: broken.port }, ['cipher-1']);
  t.equal(ok!.verdict.status, 'pass');
});
