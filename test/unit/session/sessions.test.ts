import t from 'tap';
import { Deframer, NullProtector, encodeFrame, Channel, DEFAULT_MAX_BODY_BYTES } from '../../../src/framing/index.js';
import { encodeControl } from '../../../src/framing/control.js';
import { HostSession } from '../../../src/session/host-session.js';
import { HelperSession } from '../../../src/session/helper-session.js';
import type { Mode } from '../../../src/session/constants.js';

function pair(mode: Mode, maxMode: Mode = 'control', extra: { maxInFlight?: number; maxEventsPerSecond?: number } = {}) {
  let now = 1_000;
  const clock = () => now;
  const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
  const host = new HostSession({ deframer: deframer(), seal: NullProtector, now, mode, maxMode, width: 100, height: 50, clock, ...extra });
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now, mode });
  const pump = () => {
    for (let moved = true; moved; ) {
      moved = false;
      for (let b; (b = host.pollTransmit()); moved = true) helper.handleBytes(b, now);
      for (let b; (b = helper.pollTransmit()); moved = true) host.handleBytes(b, now);
    }
  };
  const drain = <E>(s: { pollEvent(): E | undefined }) => {
    const out: E[] = [];
    for (let e; (e = s.pollEvent()); ) out.push(e);
    return out;
  };
  return { host, helper, pump, drain, advance: (ms: number) => (now += ms), now: () => now };
}

t.test('updates flow under the in-flight cap and resume on acknowledgement', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view', { maxInFlight: 2 });
  t.equal(host.sendUpdate(new Uint8Array([1]), 1000), 1);
  t.equal(host.sendUpdate(new Uint8Array([2]), 1000), 2);
  t.notOk(host.canSendUpdate, 'the cap of two is reached');
  t.throws(() => host.sendUpdate(new Uint8Array([3]), 1000), { code: 'TESSERA_ERR_BAD_STATE' });
  pump();
  const updates = drain(helper).filter((e) => e.type === 'update');
  t.same(updates.map((e) => e.type === 'update' && [e.seq, [...e.update]]), [[1, [1]], [2, [2]]]);
  helper.acknowledge(1, 1000);
  pump();
  t.equal(host.decodedSeq, 1);
  t.ok(host.canSendUpdate, 'one slot is free again');
  t.same(drain(host).filter((e) => e.type === 'ack'), [{ type: 'ack', seq: 1 }]);
});

t.test('a view-only helper\'s input never passes the gate and is counted', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view');
  t.notOk(helper.sendInput([{ type: 'text', text: 'x' }], 1000), 'a well-behaved helper holds input back');
  helper.sendInputUnchecked([{ type: 'text', text: 'rm -rf' }, { type: 'pointerMove', x: 3, y: 4, buttons: 0 }], 1000);
  pump();
  t.same(drain(host).filter((e) => e.type === 'input'), []);
  t.equal(host.inputStats.dropped.notControl, 2);
  t.equal(host.state, 'open', 'dropping input does not end the session');
});

t.test('control is granted on request only within maxMode, and revoking stops input at once', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'control');
  helper.requestControl(1000);
  helper.requestControl(1000);
  pump();
  t.same(drain(host).filter((e) => e.type === 'control-request'), [{ type: 'control-request' }], 'two requests ask the user once');
  t.equal(host.grantControl(1000), 'control');
  pump();
  t.equal(helper.mode, 'control');
  t.ok(helper.sendInput([{ type: 'keyDown', code: 'KeyA', modifiers: 0 }], 1000));
  pump();
  t.same(drain(host).filter((e) => e.type === 'input').flatMap((e) => (e.type === 'input' ? e.events : [])), [{ type: 'keyDown', code: 'KeyA', modifiers: 0 }]);
  host.revokeControl(1000);
  const released = drain(host).filter((e) => e.type === 'input').flatMap((e) => (e.type === 'input' ? e.events : []));
  t.same(released, [{ type: 'keyUp', code: 'KeyA', modifiers: 0 }], 'held keys are released on revoke');
  // Input already on its way when control was revoked is dropped by the gate.
  helper.sendInputUnchecked([{ type: 'keyDown', code: 'KeyB', modifiers: 0 }], 1000);
  pump();
  t.equal(helper.mode, 'view');
  t.same(drain(host).filter((e) => e.type === 'input'), []);

  const capped = pair('view', 'view');
  capped.helper.requestControl(1000);
  capped.pump();
  t.equal(capped.host.grantControl(1000), 'view', 'a view-only maximum caps the grant');
});

t.test('pause holds input without ending control', async (t) => {
  const { host, helper, pump, drain } = pair('control', 'control');
  host.pause(true, 1000);
  pump();
  t.ok(helper.paused);
  helper.sendInputUnchecked([{ type: 'text', text: 'a' }], 1000);
  pump();
  t.same(drain(host).filter((e) => e.type === 'input'), []);
  t.equal(host.inputStats.dropped.paused, 1);
  host.pause(false, 1000);
  pump();
  t.ok(helper.sendInput([{ type: 'text', text: 'b' }], 1000));
  pump();
  t.same(drain(host).filter((e) => e.type === 'input').flatMap((e) => (e.type === 'input' ? e.events : [])), [{ type: 'text', text: 'b' }]);
});

t.test('chat both ways; clipboard from the helper only under control', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'control');
  helper.chat('can you see my screen?', 1000);
  host.chat('yes', 1000);
  helper.clipboard('secret paste', 1000);
  pump();
  t.same(drain(host).filter((e) => e.type === 'chat' || e.type === 'clipboard'), [{ type: 'chat', text: 'can you see my screen?' }]);
  t.same(drain(helper).filter((e) => e.type === 'chat'), [{ type: 'chat', text: 'yes' }]);
  host.clipboard('from host', 1000);
  pump();
  t.same(drain(helper).filter((e) => e.type === 'clipboard'), [{ type: 'clipboard', text: 'from host' }]);
});

t.test('keepalive measures the round trip, and silence times out', async (t) => {
  const { host, helper, pump, drain, advance } = pair('view', 'view');
  const due = host.pollTimeout()!;
  t.ok(due > 1000);
  const at = advance(due - 1000);
  host.handleTimeout(at);
  pump();
  t.same(drain(host).filter((e) => e.type === 'rtt'), [{ type: 'rtt', ms: 0 }]);
  const late = advance(60_000);
  helper.handleTimeout(late);
  const closed = drain(helper).find((e) => e.type === 'closed');
  t.match(closed, { type: 'closed', reason: 'timeout', byPeer: false });
  pump();
  t.match(drain(host).find((e) => e.type === 'closed'), { type: 'closed', reason: 'timeout', byPeer: true });
});

t.test('a helper with rttProbeMs pings on schedule even while it sends, so the round trip stays current', async (t) => {
  let now = 1_000;
  const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
  const host = new HostSession({ deframer: deframer(), seal: NullProtector, now, mode: 'control', maxMode: 'control', width: 100, height: 50, clock: () => now });
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now, mode: 'control', rttProbeMs: 2_000 });
  t.equal(helper.pollTimeout(), 3_000, 'the probe is due before the keepalive');
  const rtts: number[] = [];
  for (let i = 0; i < 10; i++) {
    now += 500;
    // The helper sends every 500 ms (input), which alone would never let the 5 s keepalive ping.
    helper.sendInput([{ type: 'pointerMove', x: i, y: i, buttons: 0 }], now);
    helper.handleTimeout(now);
    for (let b; (b = helper.pollTransmit()); ) host.handleBytes(b, now);
    now += 7;
    for (let b; (b = host.pollTransmit()); ) helper.handleBytes(b, now);
    for (let e; (e = helper.pollEvent()); ) if (e.type === 'rtt') rtts.push(e.ms);
    for (; host.pollEvent(); );
  }
  t.same(rtts, [7, 7], 'a ping every 2 s, each answered: the measured round trip');
  t.equal(helper.rttMs, 7);
  const plain = new HelperSession({ deframer: deframer(), seal: NullProtector, now: 1_000, mode: 'control' });
  t.equal(plain.pollTimeout(), 6_000, 'without it, only the keepalive after 5 s of silence');
});

t.test('protocol violations close only the offending session with a typed error', async (t) => {
  const { host, helper, pump, drain } = pair('control', 'control');
  // The helper may not send display updates.
  host.handleBytes(encodeFrame(Channel.Display, new Uint8Array([0, 0, 0, 1, 9])), 1000);
  const closed = drain(host).find((e) => e.type === 'closed');
  t.match(closed, { type: 'closed', reason: 'protocol-error', byPeer: false });
  t.equal(closed?.type === 'closed' && closed.error?.code, 'TESSERA_ERR_UNEXPECTED_MESSAGE');
  pump();
  t.match(drain(helper).find((e) => e.type === 'closed'), { reason: 'protocol-error', byPeer: true });

  const b = pair('control', 'control');
  b.host.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'ack', seq: 5, decoded: 5 })), 1000);
  t.match(b.drain(b.host).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_INVALID_FIELD' } }, 'an ack for an update never sent');

  const c = pair('view', 'view');
  c.helper.handleBytes(encodeFrame(Channel.Display, new Uint8Array([0, 0, 0, 2])), 1000);
  t.match(c.drain(c.helper).find((e) => e.type === 'closed'), { error: { code: 'TESSERA_ERR_INVALID_FIELD' } }, 'updates out of order');

  const d = pair('view', 'view');
  d.host.handleBytes(new Uint8Array([0, 0, 0, 1, 99]), 1000);
  t.match(d.drain(d.host).find((e) => e.type === 'closed'), { error: { code: 'TESSERA_ERR_UNKNOWN_CHANNEL' } });
  d.host.handleBytes(new Uint8Array([1, 2, 3]), 1000);
  t.equal(d.drain(d.host).length, 0, 'a closed session ignores further bytes');
});

t.test('a clean close carries its reason to the peer', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view');
  helper.close('helper-left', 'bye');
  pump();
  t.match(drain(host).find((e) => e.type === 'closed'), { type: 'closed', reason: 'helper-left', message: 'bye', byPeer: true });
  t.equal(host.state, 'closed');
});

t.test('a long non-ASCII close message is cut to the byte limit, not dropped', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view');
  helper.close('helper-left', 'ü'.repeat(300));
  pump();
  const closed = drain(host).find((e) => e.type === 'closed');
  t.equal(closed?.type === 'closed' && closed.reason, 'helper-left');
  t.ok(closed?.type === 'closed' && Buffer.byteLength(closed.message ?? '') <= 200 && (closed.message ?? '').length > 0);
});

t.test('a helper holds at most MAX_UNDECODED_UPDATES updates a host sent without waiting for acknowledgements', async (t) => {
  const { MAX_UNDECODED_UPDATES } = await import('../../../src/session/constants.js');
  // A hostile host: a HostSession allowed to ignore flow control (its cap raised past the helper's).
  const { host, helper, pump, drain } = pair('view', 'view', { maxInFlight: MAX_UNDECODED_UPDATES + 5 });
  for (let i = 0; i < MAX_UNDECODED_UPDATES; i++) host.sendUpdate(new Uint8Array([i]), 1000);
  pump();
  t.equal(drain(helper).filter((e) => e.type === 'update').length, MAX_UNDECODED_UPDATES, `${MAX_UNDECODED_UPDATES} undecoded updates are held`);
  t.equal(helper.state, 'open');
  helper.acknowledge(1, 1000);
  host.sendUpdate(new Uint8Array([99]), 1000);
  pump();
  t.equal(helper.state, 'open', 'after an acknowledgement there is room for one more');
  host.sendUpdate(new Uint8Array([100]), 1000);
  pump();
  const closed = drain(helper).find((e) => e.type === 'closed');
  t.equal(helper.state, 'closed', 'one more than the cap ends the session');
  t.match(closed, { type: 'closed', reason: 'protocol-error', error: { code: 'TESSERA_ERR_LIMIT_EXCEEDED' } });
  t.match(drain(host).find((e) => e.type === 'closed'), { reason: 'protocol-error', byPeer: true }, 'the host is told why');
});

t.test('a display payload under 4 bytes is TRUNCATED', async (t) => {
  const { helper, drain } = pair('view', 'view');
  helper.handleBytes(encodeFrame(Channel.Display, new Uint8Array([0, 0, 1])), 1000);
  t.match(drain(helper).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_TRUNCATED' } });
});

t.test('an ack with any decoded value acknowledges every update up to its seq; an older one is ignored', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view', { maxInFlight: 3 });
  for (let i = 1; i <= 3; i++) host.sendUpdate(new Uint8Array([i]), 1000);
  pump();
  drain(helper);
  host.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'ack', seq: 2, decoded: 0xffffffff })), 1000);
  t.equal(host.decodedSeq, 2, 'one ack covers updates 1 and 2, whatever decoded says');
  host.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'ack', seq: 1, decoded: 1 })), 1000);
  t.equal(host.decodedSeq, 2, 'an older ack changes nothing');
  t.notOk(drain(host).some((e) => e.type === 'closed'), 'and is not an error');
});

t.test('chat over 4 KiB and clipboard over 1 MiB are TEXT_TOO_LONG', async (t) => {
  const a = pair('control', 'control');
  a.host.handleBytes(encodeFrame(Channel.Chat, new Uint8Array(4097).fill(0x61)), 1000);
  t.match(a.drain(a.host).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_TEXT_TOO_LONG' } }, 'chat');
  const b = pair('control', 'control');
  b.helper.handleBytes(encodeFrame(Channel.Clipboard, new Uint8Array(1048577).fill(0x61)), 1000);
  t.match(b.drain(b.helper).find((e) => e.type === 'closed'), { reason: 'protocol-error', error: { code: 'TESSERA_ERR_TEXT_TOO_LONG' } }, 'clipboard');
  const c = pair('control', 'control');
  c.host.handleBytes(encodeFrame(Channel.Chat, new Uint8Array(4096).fill(0x61)), 1000);
  t.match(c.drain(c.host).find((e) => e.type === 'chat'), { type: 'chat' }, 'chat of exactly 4 KiB passes');
});

t.test('FR-10: the host refuses locally a display update whose body would be over 16 MiB, and sends nothing', async (t) => {
  const { host, helper, pump, drain } = pair('view', 'view');
  // NullProtector here (no tag): the body is 1 (channel) + 4 (display seq) + the update.
  t.equal(host.maxUpdateBytes, DEFAULT_MAX_BODY_BYTES - 1 - 4);
  const tooBig = new Uint8Array(host.maxUpdateBytes + 1);
  t.throws(() => host.sendUpdate(tooBig, 1000), { code: 'TESSERA_ERR_BAD_STATE', field: 'update', expected: host.maxUpdateBytes, received: tooBig.byteLength });
  t.equal(host.sentSeq, 0, 'the refused update took no sequence number');
  t.equal(host.pendingTransmitBytes, 0, 'nothing was queued');
  t.equal(host.state, 'open', 'the session stays open');
  t.equal(host.sendUpdate(new Uint8Array(host.maxUpdateBytes), 1000), 1, 'an update that fits exactly is sent');
  pump();
  t.same(drain(helper).filter((e) => e.type === 'update').map((e) => e.type === 'update' && [e.seq, e.update.byteLength]), [[1, host.maxUpdateBytes]], 'the helper with the default cap accepts it');
});

t.test('a helper still decoding updates sends input, chat and control at once (SES-12)', async (t) => {
  const { host, helper, pump, drain } = pair('control', 'control', { maxInFlight: 2 });
  host.sendUpdate(new Uint8Array([1]), 1000);
  host.sendUpdate(new Uint8Array([2]), 1000);
  pump();
  t.equal(helper.receivedSeq, 2, 'two updates received, none acknowledged yet (still decoding)');
  t.ok(helper.sendInput([{ type: 'keyDown', code: 'KeyQ', modifiers: 0 }], 1000));
  helper.chat('still here', 1000);
  helper.requestControl(1000);
  pump();
  const events = drain(host);
  t.same(events.filter((e) => e.type === 'input').flatMap((e) => (e.type === 'input' ? e.events : [])), [{ type: 'keyDown', code: 'KeyQ', modifiers: 0 }], 'input arrived');
  t.ok(events.some((e) => e.type === 'chat' && e.text === 'still here'), 'chat arrived');
  t.equal(host.decodedSeq, 0, 'before any acknowledgement');
  t.notOk(host.canSendUpdate, 'while the display is at its cap');
});
