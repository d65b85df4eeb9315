import t from 'tap';
import { ErrorCode, ProtocolError, StateError } from '../../../src/core/index.js';
import {
  Channel,
  Deframer,
  encodeFrame,
  FrameReader,
  FrameWriter,
  PRE_AUTH_MAX_BODY_BYTES,
  type FrameProtector,
  type IncomingFrame,
} from '../../../src/framing/index.js';
import { caught } from '../../helpers/errors.js';
import { concat } from '../../helpers/mutate.js';

function drain<M>(r: FrameReader<{ t: string } & M>): IncomingFrame<unknown>[] {
  const out: IncomingFrame<unknown>[] = [];
  for (let f; (f = r.next()); ) out.push(f);
  return out;
}

/** A toy protector with a counter, so reordering fails like the real AEAD would. */
function counterProtector(): { send: FrameProtector; receive: FrameProtector } {
  let sent = 0;
  let received = 0;
  return {
    send: { overhead: 1, seal: (b: Uint8Array) => concat(b, new Uint8Array([sent++ & 0xff])) },
    receive: {
      overhead: 1,
      open: (b: Uint8Array) => {
        if (b[b.length - 1] !== (received++ & 0xff)) throw new ProtocolError(ErrorCode.DecryptFailed, 'frame failed to open');
        return b.subarray(0, b.length - 1);
      },
    },
  } as unknown as { send: FrameProtector; receive: FrameProtector };
}

t.test('writer and reader carry control messages and binary channels', async (t) => {
  const w = new FrameWriter();
  const r = new FrameReader();
  r.push(concat(w.control({ t: 'ping', n: 1, ts: 2 }), w.frame(Channel.Display, new Uint8Array([5, 6])), w.control({ t: 'control-revoke' })));
  t.same(drain(r), [
    { channel: Channel.Control, message: { t: 'ping', n: 1, ts: 2 } },
    { channel: Channel.Display, payload: new Uint8Array([5, 6]) },
    { channel: Channel.Control, message: { t: 'control-revoke' } },
  ]);
});

t.test('the seal stage plugs in on both sides', async (t) => {
  const w = new FrameWriter();
  const r = new FrameReader();
  const p = counterProtector();
  w.setProtector({ ...p.send, open: (b) => b });
  r.setProtector({ ...p.receive, seal: (b) => b });
  const a = w.control({ t: 'pause', paused: true });
  const b = w.frame(Channel.Chat, new Uint8Array([1]));
  r.push(concat(a, b));
  t.equal(drain(r).length, 2);
  const c = w.frame(Channel.Chat, new Uint8Array([2]));
  const d = w.frame(Channel.Chat, new Uint8Array([3]));
  r.push(concat(d, c));
  t.match(caught(() => r.next()), { code: ErrorCode.DecryptFailed }, 'reordered frames fail');
  t.ok(r.error instanceof ProtocolError);
});

t.test('a frame on a channel not accepted is UNEXPECTED_MESSAGE and the reader stays failed', async (t) => {
  const r = new FrameReader();
  r.push(encodeFrame(Channel.Handshake, new Uint8Array([1])));
  const err = caught(() => r.next());
  t.match(err, { code: ErrorCode.UnexpectedMessage, received: Channel.Handshake });
  t.equal(caught(() => r.push(encodeFrame(Channel.Control, new Uint8Array(0)))), err);
  t.equal(caught(() => r.next()), err);
  const only = new FrameReader({ channels: [Channel.Handshake] });
  only.push(encodeFrame(Channel.Handshake, new Uint8Array([1])));
  t.equal(only.next()?.channel, Channel.Handshake);
});

t.test('a bad control message fails the reader with the codec error', async (t) => {
  const r = new FrameReader();
  r.push(encodeFrame(Channel.Control, new Uint8Array([0x81, 0xa1, 0x74, 0xa3, 0x61, 0x62, 0x63])));
  t.match(caught(() => r.next()), { code: ErrorCode.UnknownMessage });
});

t.test('continues from the handshake deframer without losing buffered bytes', async (t) => {
  const d = new Deframer();
  const w = new FrameWriter();
  d.push(concat(encodeFrame(Channel.Handshake, new Uint8Array([9])), w.control({ t: 'control-request' })));
  t.equal(d.next()?.channel, Channel.Handshake);
  const r = new FrameReader({ deframer: d });
  t.same(drain(r), [{ channel: Channel.Control, message: { t: 'control-request' } }]);
});

t.test('the writer refuses payloads over the peer cap; the reader enforces its own', async (t) => {
  const w = new FrameWriter();
  t.equal(w.maxPayloadBytes, PRE_AUTH_MAX_BODY_BYTES - 1);
  t.ok(caught(() => w.frame(Channel.Display, new Uint8Array(PRE_AUTH_MAX_BODY_BYTES))) instanceof StateError);
  w.setMaxBodyBytes(1 << 20);
  const big = w.frame(Channel.Display, new Uint8Array(PRE_AUTH_MAX_BODY_BYTES));
  const r = new FrameReader();
  t.match(caught(() => r.push(big)), { code: ErrorCode.FrameTooLarge });
  const r2 = new FrameReader({ maxBodyBytes: 1 << 20 });
  r2.push(big);
  t.equal(drain(r2).length, 1);
  t.ok(caught(() => w.setMaxBodyBytes(0)) instanceof StateError);
});
