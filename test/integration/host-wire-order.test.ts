/**
 * What tessera's Host puts on the wire, and in which order, seen by a raw helper (src/conformance/wire.ts):
 * `screen` before the KEY update of a new size (SES-5), chat and control not held behind display updates at the
 * in-flight cap (SES-12), repeated control requests asked as one question (SES-21), and a host that offers
 * features working whole with a helper that takes none (HS-39).
 */
import t from 'tap';
import { Host, VirtualScreen } from '../../src/index.js';
import { hostTarget } from '../../src/conformance/index.js';
import { initiatorFor } from '../../src/conformance/host-probes.js';
import { ProbeSession, RawConnection, runHandshake, updateHeader } from '../../src/conformance/wire.js';
import type { HostSessionHandle } from '../../src/api/host/session-handle.js';
import type { HostConsentRequest } from '../../src/api/host/host.js';


const WAIT_MS = 10_000;

async function setup(
  t: { teardown(fn: () => unknown): void },
  o: { consent?: (r: HostConsentRequest) => 'view' | 'control' | Promise<'view' | 'control'>; autoAck?: boolean; maxInFlight?: number; transfer?: boolean } = {},
) {
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({
    source: screen,
    sink: screen,
    consent: o.consent ?? (() => 'control'),
    ...(o.maxInFlight ? { maxInFlight: o.maxInFlight } : {}),
    ...(o.transfer ? { transfer: { accept: 'auto' as const } } : {}),
  });
  await host.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => host.close());
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const { invitation } = await host.createInvitation({ mode: 'control', expires: '30m', uses: 1 });
  const target = hostTarget(invitation);
  const ctrl = new AbortController();
  t.teardown(() => ctrl.abort());
  const conn = await RawConnection.open(target, ctrl.signal);
  t.teardown(() => conn.close());
  const run = await runHandshake(conn, initiatorFor(target), WAIT_MS);
  if (run.end !== 'done') throw new Error(`not admitted: ${run.end}`);
  const probe = new ProbeSession(conn, run.result!, { signal: ctrl.signal, autoAck: o.autoAck ?? true });
  return { screen, host, probe, welcome: run.result!.welcome, handle: await sessionP };
}

t.test('SES-5: the host sends screen before the first update at a new size, and that update is a KEY update', async (t) => {
  const { screen, probe } = await setup(t);
  t.ok(await probe.waitFor(() => probe.updates.length >= 1, WAIT_MS), 'the first update arrived');
  for (const [w, h] of [[400, 260], [330, 500]] as const) {
    screen.resize(w, h);
    const atSize = () => probe.updates.find((u) => updateHeader(u.update)?.width === w && updateHeader(u.update)?.height === h);
    t.ok(await probe.waitFor(() => atSize() !== undefined, WAIT_MS), `an update at ${w}x${h} arrived`);
    const first = atSize()!;
    t.ok(updateHeader(first.update)!.key, `the first update at ${w}x${h} is a KEY update`);
    const at = probe.log.findIndex((e) => e.type === 'update' && e.seq === first.seq);
    const before = probe.log.slice(0, at);
    let screenAt = -1;
    before.forEach((e, i) => e.type === 'screen' && (screenAt = i));
    t.same(before[screenAt], { type: 'screen', width: w, height: h }, `screen ${w}x${h} came before it`);
    t.notOk(before.slice(screenAt + 1).some((e) => e.type === 'update'), 'with no update between the screen message and the KEY update');
  }
});

t.test('SES-12: chat and control pass while display updates are at the in-flight cap, both ways', async (t) => {
  const { screen, probe, handle } = await setup(t, { autoAck: false, maxInFlight: 2 });
  // Keep the screen changing: the host has frames to send and is held only by the cap.
  let n = 0;
  const painter = setInterval(() => screen.inject({ type: 'text', text: String(n++ % 10) }), 20);
  t.teardown(() => clearInterval(painter));
  t.ok(await probe.waitFor(() => probe.updates.length >= 2, WAIT_MS), 'two updates arrived');
  t.ok(await probe.waitQuiet(300, WAIT_MS), 'then the host stops at the cap of two unacknowledged updates');
  t.equal(probe.updates.length, 2, 'no update beyond the cap');
  // Host → helper: chat, a pause and a resume arrive while the display is blocked.
  handle.chat('from the host user');
  handle.pause(true);
  handle.pause(false);
  t.ok(await probe.waitFor(() => probe.chats.includes('from the host user'), WAIT_MS), 'host chat arrived at the cap');
  t.ok(await probe.waitFor(() => probe.log.some((e) => e.type === 'mode' && e.paused), WAIT_MS), 'the pause arrived at the cap');
  const pauses = () => probe.log.flatMap((e) => (e.type === 'mode' ? [e.paused] : []));
  t.ok(await probe.waitFor(() => pauses().length >= 2, WAIT_MS), 'the resume arrived at the cap');
  t.same(pauses(), [true, false], 'pause, then resume, in order');
  // Helper → host: chat arrives while the host still waits for acknowledgements.
  const chat = new Promise<string>((resolve) => handle.once('chat', resolve));
  probe.chat('from the helper');
  t.equal(await chat, 'from the helper', 'helper chat arrived at the host at the cap');
  t.equal(probe.updates.length, 2, 'all of it while the display stayed at the cap');
  // And acknowledging lets the display go on.
  probe.ackAll();
  t.ok(await probe.waitFor(() => probe.updates.length > 2, WAIT_MS), 'acknowledging resumes the display');
});

t.test('SES-21: repeated control requests while one is pending ask the host user once', async (t) => {
  const asked: HostConsentRequest[] = [];
  let answer!: (m: 'control') => void;
  const { probe } = await setup(t, {
    consent: (r) => {
      if (r.reason === 'connect') return 'view';
      asked.push(r);
      return new Promise((resolve) => (answer = resolve));
    },
  });
  for (let i = 0; i < 5; i++) probe.sendControlRaw({ t: 'control-request' });
  probe.ping();
  t.ok(await probe.waitFor(() => probe.session.rttMs !== undefined, WAIT_MS), 'the host answered a ping sent after the requests');
  t.equal(asked.length, 1, 'five requests, one question');
  t.equal(asked[0]!.reason, 'control', 'asked through the same consent callback, as a control request');
  answer('control');
  t.ok(await probe.waitFor(() => probe.session.mode === 'control', WAIT_MS), 'the answer grants control');
  probe.sendControlRaw({ t: 'control-request' });
  probe.ping();
  const pongs = probe.pongs;
  t.ok(await probe.waitFor(() => probe.pongs > pongs, WAIT_MS));
  t.equal(asked.length, 1, 'a request while holding control asks nothing');
});

t.test('HS-39: a host that offers features relies on none of them: a helper that takes none gets a whole session', async (t) => {
  const { screen, probe, handle, welcome } = await setup(t, { transfer: true });
  t.equal(welcome.codecs.cursor, 1, 'the host offered the cursor feature');
  t.equal(welcome.codecs.transfer, 1, 'and file transfer');
  const features = new Promise<unknown>((resolve) => handle.once('features', resolve));
  t.ok(await probe.waitFor(() => probe.updates.length >= 1, WAIT_MS), 'the display runs');
  // Move the host's pointer: a host that relied on the helper would send it on channel 6, which this helper refuses.
  for (let i = 0; i < 5; i++) screen.inject({ type: 'pointerMove', x: 10 + i * 20, y: 30, buttons: 0 });
  screen.inject({ type: 'text', text: 'still one session' });
  const before = probe.updates.length;
  t.ok(await probe.waitFor(() => probe.updates.length > before, WAIT_MS), 'updates keep coming');
  await t.rejects(handle.sendFile(new URL(import.meta.url).pathname), { code: 'TESSERA_ERR_BAD_STATE' }, 'sending a file to a helper without the feature is refused locally, nothing is sent');
  handle.chat('hello');
  t.ok(await probe.waitFor(() => probe.chats.includes('hello'), WAIT_MS), 'chat works');
  t.ok(await probe.waitQuiet(300, WAIT_MS));
  t.equal(probe.localError, undefined, 'nothing arrived that this helper does not know (no frame on channel 6 or 7)');
  t.equal(probe.peerClose, undefined, 'the host did not close');
  t.equal(await Promise.race([features, new Promise((r) => setTimeout(() => r('none'), 200))]), 'none', 'the host saw no features message');
});
