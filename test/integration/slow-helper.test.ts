import t from 'tap';
import { Host, Helper, VirtualScreen, createDuplexPair, type HostSessionHandle } from '../../src/index.js';

t.test('a helper that stops reading keeps the host bounded and lowers its frame rate, then catches up', async (t) => {
  let now = Date.UTC(2026, 10, 25, 9, 0, 0);
  // The clock moves one second per capture, so every frame differs (the virtual desktop's clock).
  const screen = new VirtualScreen({ width: 800, height: 600, now: () => now });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 100 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ expires: '10m' });
  const [hostEnd, helperEnd] = createDuplexPair();
  const sessionP = host.attach(hostEnd, '127.0.0.1:1');
  const helper = await Helper.attach(helperEnd, { handshake: { invitation: invitation.invitation, requestMode: 'control' } });
  const session: HostSessionHandle = await sessionP;
  t.teardown(() => helper.close());
  const ticker = setInterval(() => {
    now += 1000;
    screen.tick();
  }, 10);
  t.teardown(() => clearInterval(ticker));

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(400);
  const flowing = session.stats.updatesSent;
  t.ok(flowing > 5, `updates flow while the helper reads (${flowing} in 400 ms)`);

  // The helper stops reading: nothing it acknowledges, nothing the host may send.
  helperEnd.pause();
  await sleep(200);
  const atPause = session.stats.updatesSent;
  let maxQueued = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(20);
    maxQueued = Math.max(maxQueued, session.stats.queuedBytes);
  }
  const whilePaused = session.stats.updatesSent - atPause;
  t.ok(whilePaused <= 2, `at most the in-flight cap is sent while the helper does not read (${whilePaused})`);
  t.ok(maxQueued < 4 * 1024 * 1024, `the host's send queue stays bounded (${maxQueued} bytes)`);

  // Reading again: the helper catches up with the newest screen.
  helperEnd.resume();
  clearInterval(ticker);
  await sleep(50);
  const final = screen.snapshot().data;
  await helper.waitForFrame((fb) => Buffer.from(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength).equals(Buffer.from(final)));
  t.ok(session.stats.updatesSent > atPause + whilePaused, 'updates resume');
  t.pass('the helper caught up with the newest frame');
});

t.test('attach takes a signal: aborting cancels a handshake in progress and ends a live session', async (t) => {
  const screen = new VirtualScreen({ width: 320, height: 240, now: () => 0 });
  const host = new Host({ source: screen, consent: () => 'view' });
  t.teardown(() => host.close());
  const [hostEnd] = createDuplexPair();
  const ctrl = new AbortController();
  const pending = host.attach(hostEnd, '127.0.0.1:2', { signal: ctrl.signal });
  ctrl.abort();
  await t.rejects(pending, { code: 'ABORT_ERR' }, 'a silent peer is dropped when the caller gives up');

  const invitation = await host.createInvitation({ mode: 'view', expires: '10m' });
  const [a, b] = createDuplexPair();
  const live = new AbortController();
  const sessionP = host.attach(a, '127.0.0.1:3', { signal: live.signal });
  const helper = await Helper.attach(b, { handshake: { invitation: invitation.invitation } });
  const session = await sessionP;
  live.abort();
  const info = await helper.closedPromise();
  t.equal(info.reason, 'host-ended');
  t.ok(session.closed);
});
