/**
 * Fan-out over real TCP on 127.0.0.1 (spec/session.md §6.4): a helper that reads its updates but never
 * acknowledges them is split off into a group of its own, and the other helpers of the host keep their frame rate.
 */
import t from 'tap';
import { connect } from 'node:net';
import { once } from 'node:events';
import { connectHandshake } from '../../src/transport/handshake-io.js';
import { HelperSession } from '../../src/session/helper-session.js';
import type { Invitation } from '../../src/handshake/index.js';
import type { Helper } from '../../src/index.js';
import { expectFrames, legitHelper, sleep, startHost, waitFor } from '../attack/lib.js';

/** A helper that completes the handshake and reads every frame, but never calls acknowledge(). */
interface StalledHelper {
  readonly updates: number;
  readonly closed: boolean;
  close(): void;
}

async function stalledHelper(port: number, invitation: Invitation): Promise<StalledHelper> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const est = await connectHandshake(socket, { invitation, requestMode: 'view', timeoutMs: 10_000 });
  const session = new HelperSession({ deframer: est.deframer, seal: est.protector, now: Date.now(), mode: est.mode });
  const state = { updates: 0, closed: false };
  const pump = (): void => {
    for (let out = session.pollTransmit(); out; out = session.pollTransmit()) socket.write(out);
    for (let ev = session.pollEvent(); ev; ev = session.pollEvent()) {
      // Updates are received and dropped: no decode, no acknowledge().
      if (ev.type === 'update') state.updates++;
      else if (ev.type === 'closed') state.closed = true;
    }
    for (let out = session.pollTransmit(); out; out = session.pollTransmit()) socket.write(out);
  };
  socket.on('data', (chunk: Buffer) => {
    session.handleBytes(chunk, Date.now());
    pump();
  });
  socket.on('close', () => {
    session.handleTransportClosed();
    pump();
  });
  // Keepalive still runs (pings and pongs): the helper is alive, it just never says it decoded anything.
  const timer = setInterval(() => {
    session.handleTimeout(Date.now());
    pump();
  }, 1_000);
  timer.unref();
  session.handleBytes(new Uint8Array(0), Date.now());
  pump();
  socket.resume();
  return {
    get updates() {
      return state.updates;
    },
    get closed() {
      return state.closed;
    },
    close() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** Frames `helper` decodes during `ms`, and the longest wait between two of them (or since the start). */
async function framesDuring(helper: Helper, ms: number): Promise<{ frames: number; longestGapMs: number }> {
  const start = Date.now();
  let last = start;
  let longestGapMs = 0;
  const onFrame = (): void => {
    const now = Date.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  };
  const before = helper.stats.frames;
  helper.on('frame', onFrame);
  await sleep(ms);
  helper.off('frame', onFrame);
  longestGapMs = Math.max(longestGapMs, Date.now() - last);
  return { frames: helper.stats.frames - before, longestGapMs };
}

t.test('a helper that never acknowledges is split off and the other helper keeps its frame rate', async (t) => {
  // The virtual desktop changes every 50 ms, so a helper that keeps up gets about 20 frames a second.
  const live = await startHost();
  t.teardown(() => live.close());
  const normal = await legitHelper(live);
  t.teardown(() => normal.close());
  await expectFrames(normal, 3);

  const windowMs = 4_000;
  const alone = await framesDuring(normal, windowMs);
  t.ok(alone.frames > 0, 'the helper alone gets frames');

  const stalled = await stalledHelper(live.port, live.invitation.invitation);
  t.teardown(() => stalled.close());
  await waitFor(() => live.host.sessions.length === 2, 'the host admitted the stalled helper');
  const withStalled = await framesDuring(normal, windowMs);

  const ratio = withStalled.frames / alone.frames;
  t.comment(`normal helper alone: ${alone.frames} frames in ${windowMs} ms (longest gap ${alone.longestGapMs} ms)`);
  t.comment(`with a helper that never acknowledges: ${withStalled.frames} frames in ${windowMs} ms (longest gap ${withStalled.longestGapMs} ms)`);
  t.comment(`ratio ${ratio.toFixed(2)}; the stalled helper received ${stalled.updates} updates`);
  t.ok(ratio >= 0.5, `the normal helper keeps at least half its frame rate (${ratio.toFixed(2)})`);
  t.ok(stalled.updates >= 1 && stalled.updates <= 2, `the stalled helper got the key frame and no more than the in-flight cap (${stalled.updates})`);
  t.notOk(stalled.closed, 'the stalled helper is not disconnected: it is only held back');
  t.equal(live.host.sessions.length, 2, 'both helpers are still connected');
  t.notOk(normal.closed);
});
