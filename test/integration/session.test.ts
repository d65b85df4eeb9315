import t from 'tap';
import { Host, Helper, VirtualScreen, type HostSessionHandle } from '../../src/index.js';

function equalFrames(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function setup(t: { teardown(fn: () => unknown): void }, opts: { mode?: 'view' | 'control'; consent?: 'view' | 'control' | 'decline' } = {}) {
  const screen = new VirtualScreen({ width: 640, height: 400, now: () => Date.UTC(2026, 10, 25, 10, 0, 0) });
  const host = new Host({ source: screen, sink: screen, consent: () => opts.consent ?? 'control', name: 'test-host' });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: opts.mode ?? 'control', expires: '30m' });
  return { screen, host, invitation };
}

/** The host's own capture, as the helper should see it. */
async function hostPixels(screen: VirtualScreen): Promise<Uint8Array> {
  // A snapshot leaves the damage for the host's own next capture.
  return screen.snapshot().data;
}

t.test('a helper sees the virtual desktop pixel-exactly over TCP', async (t) => {
  const { screen, invitation } = await setup(t);
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  await helper.waitForFrame(() => true);
  t.equal(helper.width, 640);
  t.equal(helper.height, 400);
  const expected = await hostPixels(screen);
  await helper.waitForFrame((fb) => equalFrames(fb.data, expected));
  t.pass('the helper framebuffer equals the host screen');
});

t.test('text the helper types appears in its later frames', async (t) => {
  const { screen, host, invitation } = await setup(t);
  const helper = await Helper.connect(invitation.toString(), { requestControl: true });
  t.teardown(() => helper.close());
  t.equal(helper.mode, 'control');
  await helper.waitForFrame(() => true);
  const before = helper.framebuffer.data.slice();
  helper.key('ShiftLeft', true);
  helper.key('KeyH', true);
  helper.key('KeyH', false);
  helper.key('ShiftLeft', false);
  helper.type('ello');
  await new Promise<void>((resolve) => {
    const check = () => (screen.text === 'Hello' ? resolve() : setTimeout(check, 5));
    check();
  });
  t.equal(screen.text, 'Hello');
  const expected = await hostPixels(screen);
  t.notOk(equalFrames(before, expected), 'the screen changed');
  await helper.waitForFrame((fb) => equalFrames(fb.data, expected));
  t.equal(host.sessions[0]?.stats.input.admitted, 5, 'four key events and one text event');
});

t.test('a view-only helper\'s input never reaches the screen and is counted', async (t) => {
  const { screen, host, invitation } = await setup(t, { mode: 'view' });
  const sessions: HostSessionHandle[] = [];
  host.on('session', (s) => sessions.push(s));
  const helper = await Helper.connect(invitation.toURL(), { requestControl: true });
  t.teardown(() => helper.close());
  t.equal(helper.mode, 'view', 'a view invitation caps a control request');
  t.notOk(helper.type('hack'), 'the helper holds input while it has no control');
  // A misbehaving helper sends anyway: the gate drops and counts it.
  helper.sendInputUnchecked([{ type: 'text', text: 'hack' }, { type: 'pointerMove', x: 10, y: 10, buttons: 0 }]);
  helper.requestControl();
  const mode = await new Promise((resolve) => helper.once('control', (m) => resolve(m)));
  t.same(mode, { mode: 'view', paused: false }, 'control is refused within the invitation');
  t.equal(screen.text, '');
  t.equal(sessions[0]!.stats.input.dropped.notControl, 2, 'both events were dropped and counted');
  t.equal(sessions[0]!.stats.input.admitted, 0);
});

t.test('revoking control takes effect within one round trip', async (t) => {
  const { screen, host, invitation } = await setup(t);
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const helper = await Helper.connect(invitation.toURL(), { requestControl: true });
  t.teardown(() => helper.close());
  const session = await sessionP;
  helper.type('a');
  await new Promise<void>((resolve) => {
    const check = () => (screen.text === 'a' ? resolve() : setTimeout(check, 5));
    check();
  });
  session.revokeControl();
  // The very next input after revocation is dropped at the host's gate, before the helper has even heard.
  helper.sendInputUnchecked([{ type: 'text', text: 'b' }]);
  const m = await new Promise((resolve) => helper.once('control', resolve));
  t.same(m, { mode: 'view', paused: false });
  helper.ping();
  await new Promise((resolve) => helper.once('rtt', resolve));
  t.equal(screen.text, 'a', 'nothing typed after the revocation reached the screen');
  t.equal(session.stats.input.dropped.notControl, 1);
});

t.test('a declined helper gets USER_DECLINED', async (t) => {
  const { invitation } = await setup(t, { consent: 'decline' });
  await t.rejects(Helper.connect(invitation.toURL()), { code: 'TESSERA_ERR_HANDSHAKE_REFUSED', refusal: 'USER_DECLINED' });
});

t.test('one controller and four viewers all get the same final frame', async (t) => {
  const { screen, host, invitation } = await setup(t);
  const helpers: Helper[] = [];
  for (let i = 0; i < 5; i++) helpers.push(await Helper.connect(invitation.toURL(), { requestControl: i === 0 }));
  t.teardown(() => Promise.all(helpers.map((h) => h.close())));
  t.equal(host.sessions.length, 5);
  t.same(helpers.map((h) => h.mode), ['control', 'view', 'view', 'view', 'view']);
  helpers[0]!.type('shared');
  await new Promise<void>((resolve) => {
    const check = () => (screen.text === 'shared' ? resolve() : setTimeout(check, 5));
    check();
  });
  const expected = await hostPixels(screen);
  await Promise.all(helpers.map((h) => h.waitForFrame((fb) => equalFrames(fb.data, expected))));
  t.pass('all five helpers hold the host frame');
});
