/**
 * The pointer's channel (spec/session.md §6.9): the codec, the cache rule both sides share, and the sessions
 * carrying it once the `cursor` feature is on.
 */
import t from 'tap';
import { Deframer, NullProtector, Channel, DEFAULT_MAX_BODY_BYTES, encodeFrame } from '../../../src/framing/index.js';
import { ErrorCode, ProtocolError } from '../../../src/core/index.js';
import { HostSession } from '../../../src/session/host-session.js';
import { HelperSession, type HelperSessionEvent } from '../../../src/session/helper-session.js';
import {
  CURSOR_CACHE_MAX_BYTES,
  CURSOR_CACHE_MAX_SHAPES,
  CursorReceiver,
  CursorSender,
  decodeCursorMessage,
  encodeCursorPosition,
  encodeCursorShape,
  type CursorShape,
} from '../../../src/session/cursor.js';

const NOW = 1_000;
const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });

function shape(id: number, size = 2, fill = id & 0xff): CursorShape {
  return { id, width: size, height: size, hotX: 0, hotY: size - 1, rgba: new Uint8Array(size * size * 4).fill(fill) };
}

function pair(wantCursor = true) {
  const host = new HostSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', maxMode: 'view', width: 100, height: 100, clock: () => NOW, offeredFeatures: ['cursor'] });
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', offeredFeatures: ['cursor'], features: wantCursor ? ['cursor'] : [] });
  const pump = () => {
    for (let b; (b = helper.pollTransmit()); ) host.handleBytes(b, NOW);
    for (let b; (b = host.pollTransmit()); ) helper.handleBytes(b, NOW);
  };
  pump();
  return { host, helper, pump };
}

function events(s: HelperSession): HelperSessionEvent[] {
  const out: HelperSessionEvent[] = [];
  for (let e; (e = s.pollEvent()); ) out.push(e);
  return out;
}

function refused(t: { ok(v: unknown, name: string): void }, bytes: Uint8Array, code: string, name: string): void {
  let err: unknown;
  try {
    decodeCursorMessage(bytes);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ProtocolError && err.code === code, `${name}: ${code}`);
}

t.test('position and shape messages round-trip; the shape pixels are copied', async (t) => {
  t.same(decodeCursorMessage(encodeCursorPosition(640, 480, true, 7)), { type: 'position', x: 640, y: 480, visible: true, shapeId: 7 });
  t.same(decodeCursorMessage(encodeCursorPosition(0, 0, false, 0)), { type: 'position', x: 0, y: 0, visible: false, shapeId: 0 });
  const s = shape(9, 3);
  const bytes = encodeCursorShape(s);
  t.equal(bytes.byteLength, 13 + 36);
  const m = decodeCursorMessage(bytes);
  t.same(m, { type: 'shape', shape: s });
  bytes.fill(0);
  t.equal(m.type === 'shape' && m.shape.rgba[0], 9, 'decoded pixels do not alias the payload');
});

t.test('hostile cursor payloads are refused with a code', async (t) => {
  refused(t, new Uint8Array(0), ErrorCode.Truncated, 'empty');
  refused(t, new Uint8Array([3]), ErrorCode.InvalidField, 'unknown type');
  refused(t, encodeCursorPosition(1, 2, true, 3).subarray(0, 9), ErrorCode.Truncated, 'short position');
  refused(t, new Uint8Array([...encodeCursorPosition(1, 2, true, 3), 0]), ErrorCode.TrailingBytes, 'long position');
  const flags = encodeCursorPosition(1, 2, true, 3);
  flags[5] = 2;
  refused(t, flags, ErrorCode.InvalidField, 'reserved flags');
  const good = encodeCursorShape(shape(1, 4));
  refused(t, good.subarray(0, good.byteLength - 1), ErrorCode.Truncated, 'short pixels');
  const at = (off: number, v: number, size: 2 | 4) => {
    const b = good.slice();
    const view = new DataView(b.buffer);
    if (size === 2) view.setUint16(off, v);
    else view.setUint32(off, v);
    return b;
  };
  refused(t, at(1, 0, 4), ErrorCode.InvalidField, 'shape id 0');
  refused(t, at(5, 0, 2), ErrorCode.InvalidField, 'width 0');
  refused(t, at(5, 257, 2), ErrorCode.LimitExceeded, 'width 257');
  refused(t, at(7, 0xffff, 2), ErrorCode.LimitExceeded, 'height 65535, before any allocation');
  refused(t, at(9, 4, 2), ErrorCode.InvalidField, 'hotspot x outside');
  refused(t, at(11, 4, 2), ErrorCode.InvalidField, 'hotspot y outside');
  t.throws(() => encodeCursorShape({ ...shape(1, 2), rgba: new Uint8Array(3) }), { code: ErrorCode.InvalidField }, 'the encoder refuses what the decoder would');
});

t.test('a shape crosses once; unchanged states send nothing; the same id with new pixels crosses again', async (t) => {
  const sender = new CursorSender();
  const arrow = shape(1);
  t.equal(sender.next({ x: 1, y: 1, visible: true, shape: arrow }).length, 2, 'shape then position');
  t.equal(sender.next({ x: 2, y: 1, visible: true, shape: arrow }).length, 1, 'position only');
  t.equal(sender.next({ x: 2, y: 1, visible: true, shape: { ...arrow, rgba: arrow.rgba.slice() } }).length, 0, 'equal pixels under the same id: nothing');
  t.equal(sender.next({ x: 2, y: 1, visible: true, shape: shape(1, 2, 99) }).length, 2, 'new pixels, same id: shape again');
  t.equal(sender.next({ x: 2, y: 1, visible: false, shape: shape(1, 2, 99) }).length, 1, 'hidden: position');
  t.equal(sender.next({ x: 2, y: 1, visible: false }).length, 1, 'no shape: position with id 0');
});

t.test('host and helper caches evict by the same rule, so the host resends exactly what the helper lost', async (t) => {
  const sender = new CursorSender();
  const receiver = new CursorReceiver();
  let shapesSent = 0;
  const go = (s: CursorShape, x: number) => {
    for (const p of sender.next({ x, y: 0, visible: true, shape: s })) {
      if (p[0] === 2) shapesSent++;
      receiver.receive(p); // throws if the host named a shape the helper evicted
    }
  };
  for (let id = 1; id <= CURSOR_CACHE_MAX_SHAPES + 1; id++) go(shape(id), id);
  t.equal(receiver.cache.size, CURSOR_CACHE_MAX_SHAPES, 'at most 64 shapes');
  t.notOk(receiver.cache.has(1), 'the least recently used went');
  shapesSent = 0;
  go(shape(2), 1);
  t.equal(shapesSent, 0, 'still held: position only');
  go(shape(1), 2);
  t.equal(shapesSent, 1, 'evicted: sent again');
  // Large shapes: sixteen 256x256 fill 4 MiB; a seventeenth evicts by bytes.
  for (let id = 1000; id < 1017; id++) go(shape(id, 256), id % 60000);
  t.ok(receiver.cache.bytes <= CURSOR_CACHE_MAX_BYTES);
  t.notOk(receiver.cache.has(1000));
  t.throws(() => receiver.receive(encodeCursorPosition(0, 0, true, 1000)), { code: ErrorCode.InvalidField }, 'a position naming an evicted shape is refused');
});

t.test('the sessions carry the pointer once the helper took cursor; the frames are not held by the in-flight cap', async (t) => {
  const { host, helper, pump } = pair();
  t.ok(host.hasFeature('cursor'));
  host.sendUpdate(new Uint8Array(8), NOW);
  host.sendUpdate(new Uint8Array(8), NOW);
  t.notOk(host.canSendUpdate, 'display at its in-flight cap');
  t.equal(host.sendCursor({ x: 5, y: 6, visible: true, shape: shape(3) }, NOW), 2);
  t.equal(host.sendCursor({ x: 5, y: 6, visible: true, shape: shape(3) }, NOW), 0, 'unchanged: nothing');
  pump();
  const cursors = events(helper).filter((e) => e.type === 'cursor');
  t.equal(cursors.length, 1);
  t.same(cursors[0], { type: 'cursor', cursor: { x: 5, y: 6, visible: true, shape: shape(3) } });
  t.equal(helper.state, 'open');
});

t.test('without the feature the host sends nothing, and a cursor frame is UNEXPECTED_MESSAGE for the helper', async (t) => {
  const { host, helper } = pair(false);
  t.equal(host.sendCursor({ x: 1, y: 1, visible: true }, NOW), 0);
  t.equal(host.pollTransmit(), undefined);
  t.notOk(helper.hasFeature('cursor'));
  helper.handleBytes(encodeFrame(Channel.Cursor, encodeCursorPosition(1, 1, true, 0), NullProtector), NOW);
  const closed = events(helper).find((e) => e.type === 'closed');
  t.equal(closed?.type === 'closed' && closed.error?.code, ErrorCode.UnexpectedMessage);
});

t.test('a position naming a shape never sent ends the helper session with INVALID_FIELD', async (t) => {
  const { helper } = pair();
  helper.handleBytes(encodeFrame(Channel.Cursor, encodeCursorPosition(1, 1, true, 42), NullProtector), NOW);
  const closed = events(helper).find((e) => e.type === 'closed');
  t.equal(closed?.type === 'closed' && closed.error?.code, ErrorCode.InvalidField);
  t.equal(closed?.type === 'closed' && closed.reason, 'protocol-error');
});
