/**
 * A slow reader at a live host over real TCP on 127.0.0.1: a helper that completes the handshake, then never reads
 * again while it keeps the session busy (it sends pings, each of which the host must answer). The host stops sending
 * it display updates, its send queue for that helper stays under maxQueuedBytes, and once the cap is reached the
 * helper is dropped with an audit entry (LIMIT_EXCEEDED). A legitimate helper keeps getting frames throughout.
 */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { connectHandshake } from '../../src/transport/handshake-io.js';
import { HelperSession } from '../../src/session/helper-session.js';
import type { HostSessionHandle } from '../../src/index.js';
import { expectFrames, legitHelper, measure, settleHandles, sleep, startHost, waitFor } from './lib.js';

const MAX_QUEUED = 1024 * 1024;

t.test('a helper that never reads is held to maxQueuedBytes, then dropped and audited', async (t) => {
  const live = await startHost({ maxQueuedBytes: MAX_QUEUED, maxFps: 60 }, { width: 800, height: 600 });
  t.teardown(() => live.close());
  const helper = await legitHelper(live);
  t.teardown(() => helper.close());
  await expectFrames(helper, 2);
  const base = measure();

  const handles: HostSessionHandle[] = [];
  live.host.on('session', (h: HostSessionHandle) => handles.push(h));
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: live.port }, () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => {});
  const est = await connectHandshake(socket, { invitation: live.invitation.invitation, requestMode: 'view' });
  // The handshake driver leaves the socket paused: from here on, nothing is ever read.
  const attacker = new HelperSession({ deframer: est.deframer, seal: est.protector, now: Date.now(), mode: est.mode });
  await waitFor(() => handles.length === 1, 'the attacker session');
  const session = handles[0]!;
  const localPort = socket.localPort;

  let maxQueued = 0;
  let sentBytes = 0;
  let updatesAtStall = -1;
  // Pings in bursts (each needs an answer) until the host drops us, or 64 MiB were sent.
  while (!session.closed && sentBytes < 64 * 1024 * 1024 && !socket.destroyed) {
    for (let i = 0; i < 2000; i++) attacker.ping(Date.now());
    for (let b = attacker.pollTransmit(); b; b = attacker.pollTransmit()) {
      sentBytes += b.byteLength;
      socket.write(b);
    }
    maxQueued = Math.max(maxQueued, session.stats.queuedBytes);
    if (updatesAtStall < 0 && session.stats.queuedBytes > 0) updatesAtStall = session.stats.updatesSent;
    await sleep(1);
  }
  await waitFor(() => session.closed, 'the host drops the slow reader', 20_000);
  const info = await session.closedPromise();
  t.comment(`sent ${(sentBytes / 1048576).toFixed(1)} MiB of pings; host queue peaked at ${maxQueued} bytes; updates sent ${session.stats.updatesSent} (${updatesAtStall} when the queue first grew)`);
  t.equal(info.error?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'the session ends with LIMIT_EXCEEDED');
  t.ok(maxQueued <= MAX_QUEUED, `the queue never exceeded maxQueuedBytes (${maxQueued} <= ${MAX_QUEUED})`);
  t.ok(session.stats.updatesSent - Math.max(0, updatesAtStall) <= 4, 'display updates stopped once the helper stopped reading');
  const entry = live.audit.find((e) => e.decision === 'closed' && e.peer === `127.0.0.1:${localPort}`);
  t.equal(entry?.code, 'TESSERA_ERR_LIMIT_EXCEEDED', 'the drop is audited with its code');
  socket.destroy();

  await expectFrames(helper, 3);
  t.equal(live.host.sessions.length, 1, 'the legitimate helper is still served');
  const after = await settleHandles(base);
  t.ok((after.handles['TCPSocketWrap'] ?? 0) <= (base.handles['TCPSocketWrap'] ?? 0) + 2, `sockets back to the baseline (${JSON.stringify(base.handles)} -> ${JSON.stringify(after.handles)})`);
  t.ok(after.heapUsedMiB - base.heapUsedMiB < 32, `heap ${base.heapUsedMiB} -> ${after.heapUsedMiB} MiB; rss ${base.rssMiB} -> ${after.rssMiB} MiB`);
});
