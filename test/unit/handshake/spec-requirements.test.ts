/**
 * Checks for handshake requirements that had none (spec/conformance.md): Welcome's screen size and codec
 * capabilities, refusal codes, ClientHello's cipher list, and proofs before the revoked and expired status.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { encode as mpEncode } from '@msgpack/msgpack';
import {
  HandshakeError, HandshakeInitiator, HandshakeResponder, MemoryTicketStore, createInvitation, decodeClientHello, decodeRefusal,
  decodeRefusalCode, decodeSealedRefusal, decodeWelcomePayload, dhKeyPair, encodeClientHello,
} from '../../../src/handshake/index.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
let now = 1_800_000_000_000;
const clock = () => now;
const hostKey = dhKeyPair(random(32));

/** A Welcome payload: mode (1 view, 2 control), width, height, then the capability bytes with their length. */
function welcome(mode: number, width: number, height: number, caps: Uint8Array): Uint8Array {
  const out = new Uint8Array(7 + caps.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, mode);
  v.setUint16(1, width);
  v.setUint16(3, height);
  v.setUint16(5, caps.length);
  out.set(caps, 7);
  return out;
}
const CAPS = Uint8Array.from(mpEncode({ codec: 1, quality: 'lossless' }));

t.test('Welcome: a screen over 16384 or an unknown mode byte is INVALID_FIELD', async (t) => {
  t.same(decodeWelcomePayload(welcome(2, 16384, 16384, CAPS)).width, 16384, 'the largest screen is accepted');
  t.throws(() => decodeWelcomePayload(welcome(1, 16385, 1080, CAPS)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'width over 16384');
  t.throws(() => decodeWelcomePayload(welcome(1, 1920, 16385, CAPS)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'height over 16384');
  t.throws(() => decodeWelcomePayload(welcome(3, 1920, 1080, CAPS)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'a mode byte other than 1 or 2');
});

t.test('Welcome: a screen size of 0 is accepted', async (t) => {
  const w = decodeWelcomePayload(welcome(1, 0, 0, CAPS));
  t.same([w.mode, w.width, w.height], ['view', 0, 0]);
});

t.test('codec capabilities: unknown keys are ignored and the empty map is valid', async (t) => {
  t.same({ ...decodeWelcomePayload(welcome(1, 10, 10, Uint8Array.of(0x80))).codecs }, {}, 'the empty map');
  const extra = Uint8Array.from(mpEncode({ codec: 1, quality: 'balanced', 'future-key': 'x', other: true, n: 1.5 }));
  t.equal(decodeWelcomePayload(welcome(1, 10, 10, extra)).codecs.codec, 1, 'unknown keys do not fail the Welcome');
});

t.test('codec capabilities that are not a bounded map of scalars are INVALID_FIELD', async (t) => {
  const bad: Array<[string, Uint8Array]> = [
    ['no bytes at all', new Uint8Array(0)],
    ['an array', Uint8Array.from(mpEncode([1, 2]))],
    ['a nil value', Uint8Array.from(mpEncode({ codec: null }))],
    ['a bin value', Uint8Array.from(mpEncode({ codec: new Uint8Array(2) }))],
    ['an array value', Uint8Array.from(mpEncode({ codec: [1] }))],
    ['a map value', Uint8Array.from(mpEncode({ codec: { a: 1 } }))],
    ['a key over 64 characters', Uint8Array.from(mpEncode({ ['k'.repeat(65)]: 1 }))],
    ['a string value over 256 bytes', Uint8Array.from(mpEncode({ quality: 'q'.repeat(257) }))],
    ['33 entries', Uint8Array.from(mpEncode(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]))))],
  ];
  for (const [name, caps] of bad) t.throws(() => decodeWelcomePayload(welcome(1, 10, 10, caps)), { code: 'TESSERA_ERR_INVALID_FIELD' }, name);
});

t.test('a refusal with an unknown code is INVALID_FIELD, in the clear or sealed', async (t) => {
  t.equal(decodeRefusal(Uint8Array.of(0x7f, 0, 8)), 'VERSION_MISMATCH', 'VERSION_MISMATCH in the clear');
  t.throws(() => decodeRefusal(Uint8Array.of(0x7f, 0, 0)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'code 0');
  t.throws(() => decodeRefusal(Uint8Array.of(0x7f, 0, 11)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'code 11');
  t.throws(() => decodeRefusal(Uint8Array.of(0x7f, 0, 9)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'HOST_KEY_MISMATCH is never sent');
  t.throws(() => decodeRefusalCode(Uint8Array.of(0x12, 0x34)), { code: 'TESSERA_ERR_INVALID_FIELD' }, 'inside a sealed refusal');
});

t.test('a sealed refusal before ServerHello or of the wrong length is refused with its code', async (t) => {
  t.throws(() => decodeSealedRefusal(new Uint8Array([0x7e, ...random(17)])), { code: 'TESSERA_ERR_TRUNCATED' }, '18 bytes');
  t.throws(() => decodeSealedRefusal(new Uint8Array([0x7e, ...random(19)])), { code: 'TESSERA_ERR_TRAILING_BYTES' }, '20 bytes');
  const { invitation } = setup();
  const ini = HandshakeInitiator.fromInvitation(invitation, { random });
  ini.next();
  t.throws(() => ini.receive(new Uint8Array([0x7e, ...random(18)])), { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' }, 'while waiting for ServerHello');
  t.equal(ini.state, 'failed');
});

t.test('ClientHello: a cipher count outside 1..8, a zero or repeated cipher id is INVALID_FIELD', async (t) => {
  const ephemeral = random(32);
  t.same(decodeClientHello(encodeClientHello({ version: 1, ephemeral, ciphers: [3, 2, 1] })).ciphers, [3, 2, 1]);
  for (const ciphers of [[], [1, 2, 3, 4, 5, 6, 7, 8, 9], [0], [1, 1], [3, 2, 3]]) {
    t.throws(() => decodeClientHello(encodeClientHello({ version: 1, ephemeral, ciphers })), { code: 'TESSERA_ERR_INVALID_FIELD' }, JSON.stringify(ciphers));
  }
  t.throws(() => decodeClientHello(new Uint8Array([...encodeClientHello({ version: 1, ephemeral, ciphers: [1] }), 0])), { code: 'TESSERA_ERR_TRAILING_BYTES' });
});

function setup(minutes = 60) {
  const store = new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({
    hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: minutes, units: 'minutes' }, name: 'Host', now: clock, random,
  });
  store.add(ticket);
  return { store, invitation };
}

/** Runs ClientHello, ServerHello and Auth; returns the refusal the host decided on. */
function refusalAtAuth(ini: HandshakeInitiator, store: MemoryTicketStore): string | undefined {
  const res = new HandshakeResponder({ staticKey: hostKey, tickets: store, clock, random, peer: '198.51.100.7' });
  res.receive(ini.next()!);
  ini.receive(res.next()!);
  const step = res.receive(ini.next()!);
  if (step.type !== 'refused') return undefined;
  const err = t.throws(() => ini.receive(res.next()!)) as HandshakeError;
  t.equal(err.refusal, step.error.refusal, 'the helper reads the refusal the host sealed');
  return step.error.refusal;
}

t.test('a wrong proof on a revoked ticket is BAD_PROOF, not TICKET_REVOKED', async (t) => {
  const revoked = setup();
  revoked.store.revoke(revoked.invitation.ticketIdHex);
  const forged = () => new HandshakeInitiator({ hostKey: hostKey.publicKey, auth: { kind: 'ticket', ticketId: revoked.invitation.ticketId, secret: random(32) }, random });
  t.equal(refusalAtAuth(forged(), revoked.store), 'BAD_PROOF', 'revoked, wrong secret');
  t.equal(refusalAtAuth(HandshakeInitiator.fromInvitation(revoked.invitation, { random }), revoked.store), 'TICKET_REVOKED', 'revoked, right secret');

  const expired = setup(1);
  const saved = now;
  now = expired.invitation.expiresMs;
  try {
    const wrong = new HandshakeInitiator({ hostKey: hostKey.publicKey, auth: { kind: 'ticket', ticketId: expired.invitation.ticketId, secret: random(32) }, random });
    t.equal(refusalAtAuth(wrong, expired.store), 'BAD_PROOF', 'expired, wrong secret');
    t.equal(refusalAtAuth(HandshakeInitiator.fromInvitation(expired.invitation, { random }), expired.store), 'TICKET_EXPIRED', 'expired, right secret');
  } finally {
    now = saved;
  }
});
