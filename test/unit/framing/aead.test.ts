/**
 * The AEAD frame protector's counters (spec/handshake.md §7): the nonce is the 64-bit frame counter, and after
 * 2^64 − 1 frames a direction refuses to seal or open (HS-62), checked from counters started near the end.
 */
import t from 'tap';
import { AeadFrameProtector, XSalsa20Poly1305 } from '../../../src/framing/aead.js';

const A = new Uint8Array(32).fill(1);
const B = new Uint8Array(32).fill(2);
const LAST = (1n << 64n) - 2n; // the counter of the 2^64 − 1st frame, the last one sealed

/** The nonce of counter `c`: zeros, then the counter big-endian in the last 8 bytes. */
function nonceOf(c: bigint): Uint8Array {
  const n = new Uint8Array(XSalsa20Poly1305.nonceBytes);
  new DataView(n.buffer).setBigUint64(n.byteLength - 8, c);
  return n;
}

t.test('HS-62: after 2^64 - 1 frames a direction refuses to seal, and the other to open', async (t) => {
  const sender = new AeadFrameProtector(XSalsa20Poly1305, A, B, { send: LAST });
  const receiver = new AeadFrameProtector(XSalsa20Poly1305, B, A, { receive: LAST });
  const sealed = sender.seal(new TextEncoder().encode('last'));
  t.same(XSalsa20Poly1305.open(A, nonceOf(LAST), sealed), new TextEncoder().encode('last'), 'the last frame is sealed under nonce 2^64 - 2');
  t.same(receiver.open(sealed), new TextEncoder().encode('last'), 'and opened');
  t.throws(() => sender.seal(new Uint8Array(1)), { code: 'TESSERA_ERR_BAD_STATE' }, 'the next frame is not sealed: its nonce would be 2^64 - 1, then repeat');
  const forged = XSalsa20Poly1305.seal(A, nonceOf(LAST + 1n), new Uint8Array(1));
  t.throws(() => receiver.open(forged), { code: 'TESSERA_ERR_BAD_STATE' }, 'nor opened, even when it would authenticate');
});

t.test('the counter carries from its low to its high 32 bits', async (t) => {
  const start = (1n << 32n) - 1n;
  const sender = new AeadFrameProtector(XSalsa20Poly1305, A, B, { send: start });
  const receiver = new AeadFrameProtector(XSalsa20Poly1305, B, A, { receive: start });
  for (const c of [start, start + 1n, start + 2n]) {
    const body = new TextEncoder().encode(`frame ${c}`);
    const sealed = sender.seal(body);
    t.same(XSalsa20Poly1305.open(A, nonceOf(c), sealed), body, `frame ${c} under its own nonce`);
    t.same(receiver.open(sealed), body);
  }
  t.equal(sender.sent, Number(start + 3n));
});

t.test('a start counter outside 64 bits is refused', async (t) => {
  for (const bad of [-1n, 1n << 64n]) {
    t.throws(() => new AeadFrameProtector(XSalsa20Poly1305, A, B, { send: bad }), { code: 'TESSERA_ERR_BAD_STATE' });
    t.throws(() => new AeadFrameProtector(XSalsa20Poly1305, A, B, { receive: bad }), { code: 'TESSERA_ERR_BAD_STATE' });
  }
});
