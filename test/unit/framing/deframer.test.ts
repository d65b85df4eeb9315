import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, ProtocolError, StateError } from '../../../src/core/index.js';
import {
  ABSOLUTE_MAX_BODY_BYTES,
  Channel,
  Deframer,
  encodeFrame,
  FRAME_HEADER_BYTES,
  MAX_CHANNEL,
  PRE_AUTH_MAX_BODY_BYTES,
  type Frame,
  type FrameProtector,
} from '../../../src/framing/index.js';
import { caught } from '../../helpers/errors.js';
import { concat } from '../../helpers/mutate.js';

const channelArb = fc.integer({ min: 0, max: MAX_CHANNEL }) as fc.Arbitrary<Channel>;
const frameArb = fc.record({ channel: channelArb, payload: fc.uint8Array({ maxLength: 300 }) });

function drain(d: Deframer): Frame[] {
  const out: Frame[] = [];
  for (let f; (f = d.next()); ) out.push(f);
  return out;
}

function plain(frames: readonly Frame[]): Array<{ channel: number; payload: number[] }> {
  return frames.map((f) => ({ channel: f.channel, payload: [...f.payload] }));
}

t.test('encodeFrame then Deframer gives the frames back (fast-check)', async (t) => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, rawCuts) => {
      const stream = concat(...frames.map((f) => encodeFrame(f.channel, f.payload)));
      const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const d = new Deframer();
      const got: Frame[] = [];
      let prev = 0;
      for (const c of [...cuts, stream.length]) {
        d.push(stream.subarray(prev, c));
        got.push(...drain(d));
        prev = c;
      }
      assert.deepEqual(plain(got), plain(frames));
      assert.equal(d.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
  t.pass('300 random streams at random split points');
});

t.test('gives identical frames for every single split point and for 1-byte pushes', async (t) => {
  const frames: Frame[] = [
    { channel: Channel.Control, payload: new Uint8Array([1, 2, 3]) },
    { channel: Channel.Display, payload: new Uint8Array(0) },
    { channel: Channel.Chat, payload: new TextEncoder().encode('hello there') },
    { channel: Channel.Input, payload: new Uint8Array(70).fill(7) },
  ];
  const stream = concat(...frames.map((f) => encodeFrame(f.channel, f.payload)));
  const want = plain(frames);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new Deframer();
    d.push(stream.subarray(0, cut));
    const got = drain(d);
    d.push(stream.subarray(cut));
    got.push(...drain(d));
    assert.deepEqual(plain(got), want, `split at ${cut}`);
  }
  const d = new Deframer();
  const got: Frame[] = [];
  for (let i = 0; i < stream.length; i++) {
    d.push(stream.subarray(i, i + 1));
    got.push(...drain(d));
  }
  t.same(plain(got), want, 'byte by byte');
  t.pass(`${stream.length + 1} split points`);
});

t.test('rejects a header over the cap as soon as the header is complete, before the body arrives', async (t) => {
  const d = new Deframer({ maxBodyBytes: 100 });
  d.push(new Uint8Array([0, 0, 0]));
  t.equal(d.next(), undefined);
  const err = caught(() => d.push(new Uint8Array([101])));
  t.ok(err instanceof ProtocolError);
  t.match(err, { code: ErrorCode.FrameTooLarge, field: 'length', expected: 100, received: 101, offset: 0 });
  t.ok(d.bufferedBytes <= FRAME_HEADER_BYTES, 'nothing beyond the header was buffered');
});

t.test('a 4 GiB announcement allocates nothing and fails', async (t) => {
  const d = new Deframer({ maxBodyBytes: ABSOLUTE_MAX_BODY_BYTES });
  t.match(caught(() => d.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))), { code: ErrorCode.FrameTooLarge });
});

t.test('rejects an empty body (length 0) as TRUNCATED', async (t) => {
  const d = new Deframer();
  t.match(caught(() => d.push(new Uint8Array([0, 0, 0, 0]))), { code: ErrorCode.Truncated, field: 'length' });
});

t.test('rejects an undefined channel', async (t) => {
  const d = new Deframer();
  d.push(new Uint8Array([0, 0, 0, 2, MAX_CHANNEL + 1, 9]));
  t.match(caught(() => d.next()), { code: ErrorCode.UnknownChannel, received: MAX_CHANNEL + 1 });
});

t.test('after an error it stays failed with the same error', async (t) => {
  const d = new Deframer({ maxBodyBytes: 10 });
  const first = caught(() => d.push(new Uint8Array([0, 0, 1, 0])));
  t.equal(caught(() => d.next()), first);
  t.equal(caught(() => d.push(encodeFrame(Channel.Control, new Uint8Array(1)))), first);
  t.equal(caught(() => d.peekSize()), first);
});

t.test('the cap in force when a frame is parsed applies (raised after the handshake)', async (t) => {
  const big = encodeFrame(Channel.Display, new Uint8Array(PRE_AUTH_MAX_BODY_BYTES + 10));
  const hello = encodeFrame(Channel.Handshake, new Uint8Array([1]));
  const d = new Deframer();
  d.push(concat(hello, big.subarray(0, 10)));
  t.equal(d.next()?.channel, Channel.Handshake);
  d.setMaxBodyBytes(1 << 20);
  d.push(big.subarray(10));
  t.equal(d.next()?.payload.length, PRE_AUTH_MAX_BODY_BYTES + 10);
  const e = new Deframer();
  e.push(hello);
  e.next();
  t.match(caught(() => e.push(big)), { code: ErrorCode.FrameTooLarge }, 'without raising, the same frame is refused');
});

t.test('peekSize answers undefined until the whole body is there', async (t) => {
  const d = new Deframer();
  const f = encodeFrame(Channel.Chat, new Uint8Array(20));
  d.push(f.subarray(0, 10));
  t.equal(d.peekSize(), undefined);
  d.push(f.subarray(10));
  t.equal(d.peekSize(), 21);
  t.equal(d.bufferedBytes, f.length);
  d.next();
  t.equal(d.bufferedBytes, 0);
});

t.test('payloads are copies the caller owns', async (t) => {
  const d = new Deframer();
  const chunk = encodeFrame(Channel.Chat, new Uint8Array([1, 2, 3]));
  d.push(chunk);
  chunk.fill(0);
  const f = d.next()!;
  t.same([...f.payload], [1, 2, 3]);
});

t.test('a protector opens each body; its failure is DECRYPT_FAILED and sticky', async (t) => {
  const xor: FrameProtector = {
    overhead: 1,
    seal: (b) => concat(b.map((x) => x ^ 0x5a), new Uint8Array([0xaa])),
    open: (b) => {
      if (b[b.length - 1] !== 0xaa) throw new Error('bad tag');
      return b.subarray(0, b.length - 1).map((x) => x ^ 0x5a);
    },
  };
  const d = new Deframer();
  d.setProtector(xor);
  const f = encodeFrame(Channel.Input, new Uint8Array([9, 8]), xor);
  d.push(f);
  t.same(plain([d.next()!]), [{ channel: Channel.Input, payload: [9, 8] }]);
  const bad = f.slice();
  bad[bad.length - 1] = 0;
  d.push(bad);
  const err = caught(() => d.next());
  t.match(err, { code: ErrorCode.DecryptFailed });
  t.ok(err instanceof ProtocolError);
  t.equal(caught(() => d.next()), err);
  const e = new Deframer();
  e.setProtector(xor);
  t.match(caught(() => e.push(new Uint8Array([0, 0, 0, 1]))), { code: ErrorCode.Truncated }, 'a body shorter than the tag');
});

t.test('rejects bad caps with StateError', async (t) => {
  for (const n of [0, -1, 1.5, ABSOLUTE_MAX_BODY_BYTES + 1, Number.NaN]) {
    t.ok(caught(() => new Deframer({ maxBodyBytes: n })) instanceof StateError, String(n));
    t.ok(caught(() => new Deframer().setMaxBodyBytes(n)) instanceof StateError, String(n));
  }
});

t.test('encodeFrame refuses undefined channels', async (t) => {
  for (const c of [MAX_CHANNEL + 1, -1, 256, 1.5]) {
    t.ok(caught(() => encodeFrame(c as Channel, new Uint8Array(0))) instanceof StateError, String(c));
  }
});

t.test('the receive buffer stays within one frame plus one chunk', async (t) => {
  const d = new Deframer({ maxBodyBytes: 1000 });
  const frames = concat(...Array.from({ length: 50 }, (_, i) => encodeFrame(Channel.Display, new Uint8Array(i * 19 % 990))));
  let peak = 0;
  for (let at = 0; at < frames.length; at += 97) {
    const chunk = frames.subarray(at, at + 97);
    d.push(chunk);
    peak = Math.max(peak, d.bufferedBytes);
    drain(d);
    t.ok(d.bufferedBytes < FRAME_HEADER_BYTES + 1000, 'after draining, at most one partial frame is held');
  }
  t.ok(peak <= FRAME_HEADER_BYTES + 1000 + 97);
});
