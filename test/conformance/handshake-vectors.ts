/**
 * Builds and replays spec/vectors/handshake.json: full handshakes with fixed keys and fixed randomness.
 * `node --import tsx test/conformance/handshake-vectors.ts > spec/vectors/handshake.json` regenerates it.
 */
import nacl from 'tweetnacl';
import { fromHex, toHex } from '../../src/core/index.js';
import { AeadFrameProtector, XSalsa20Poly1305, type AeadSuite } from '../../src/framing/aead.js';
import { NodeAes256Gcm, NodeChaCha20Poly1305 } from '../../src/transport/handshake-crypto.js';
import {
  HandshakeError, HandshakeInitiator, HandshakeResponder, MemoryTicketStore, createInvitation, dhKeyPair, parsePolicy, parseHelpers, sha512, type HandshakeResult,
} from '../../src/handshake/index.js';

export interface VectorCase {
  name: string;
  kind: 'ticket' | 'offer';
  now: number;
  hostStaticSecret: string;
  hostEphemeralSecret: string;
  helperEphemeralSecret: string;
  /** Ticket cases: the randomness createInvitation consumed (ticket id, secret, password salt) and the KDF output. */
  ticketId?: string;
  ticketSecret?: string;
  passwordSalt?: string;
  passwordKey?: string;
  /** Ticket cases: the seed of the helper's holder key (consumed after the ephemeral secret). */
  holderSeed?: string;
  invitationText?: string;
  invitationUrl?: string;
  /** Offer cases: the helper's Ed25519 seed. */
  identitySeed?: string;
  policy: unknown;
  helpers?: unknown;
  requestMode: 'view' | 'control';
  consent: { mode: 'view' | 'control'; width: number; height: number; codecs: Record<string, number | string | boolean> };
  messages: { clientHello: string; serverHello: string; auth: string; welcome: string };
  result: { mode: string; cipher: string; handshakeHash: string; helperToHostKeySha512: string; hostToHelperKeySha512: string };
}

/** A Random that hands out fixed chunks in order. */
export function fixedRandom(chunks: string[]): (n: number) => Uint8Array {
  const queue = chunks.map((c) => fromHex(c)!);
  return (n) => {
    const next = queue.shift();
    if (!next || next.byteLength !== n) throw new Error(`fixed random: asked for ${n} bytes, have ${next?.byteLength}`);
    return next;
  };
}

export function setupCase(c: VectorCase) {
  const hostKey = dhKeyPair(fromHex(c.hostStaticSecret)!);
  const store = new MemoryTicketStore();
  const policy = parsePolicy(c.policy);
  let initiator: HandshakeInitiator;
  if (c.kind === 'ticket') {
    const { invitation, ticket } = createInvitation({
      hostKey: hostKey.publicKey, addresses: ['192.0.2.10:3389'], expires: { value: 2, units: 'hours' }, name: 'Vector Host', now: () => c.now,
      random: fixedRandom([c.ticketId!, c.ticketSecret!, ...(c.passwordSalt ? [c.passwordSalt] : [])]),
      ...(c.passwordSalt ? { password: 'not used', kdf: () => fromHex(c.passwordKey!)! } : {}),
      policy,
    });
    store.add(ticket);
    initiator = HandshakeInitiator.fromInvitation(invitation, {
      random: fixedRandom([c.helperEphemeralSecret, c.holderSeed!]), requestMode: c.requestMode,
      ...(c.passwordSalt ? { password: 'not used', kdf: () => fromHex(c.passwordKey!)! } : {}),
    });
    return { hostKey, store, policy, initiator, invitation };
  }
  initiator = new HandshakeInitiator({
    hostKey: hostKey.publicKey, auth: { kind: 'offer', identity: nacl.sign.keyPair.fromSeed(fromHex(c.identitySeed!)!) },
    random: fixedRandom([c.helperEphemeralSecret]), requestMode: c.requestMode,
  });
  return { hostKey, store, policy, initiator, invitation: undefined };
}

export function makeResponder(c: VectorCase, s: ReturnType<typeof setupCase>): HandshakeResponder {
  return new HandshakeResponder({
    staticKey: s.hostKey, tickets: s.store, policy: s.policy, clock: () => c.now, random: fixedRandom([c.hostEphemeralSecret]), peer: '192.0.2.99',
    ...(c.helpers ? { helpers: parseHelpers(c.helpers) } : {}),
  });
}

export function summarize(r: HandshakeResult, role: 'helper' | 'host') {
  const h2h = role === 'helper' ? r.keys.send : r.keys.receive;
  const h2r = role === 'helper' ? r.keys.receive : r.keys.send;
  return { mode: r.mode, cipher: r.cipher.name, handshakeHash: toHex(r.keys.handshakeHash), helperToHostKeySha512: toHex(sha512(h2h)), hostToHelperKeySha512: toHex(sha512(h2r)) };
}

/** Runs a case end to end and fills in messages and result. */
export function runCase(c: VectorCase): VectorCase {
  const s = setupCase(c);
  const res = makeResponder(c, s);
  const m1 = s.initiator.next()!;
  res.receive(m1);
  const m2 = res.next()!;
  s.initiator.receive(m2);
  const m3 = s.initiator.next()!;
  res.receive(m3);
  res.accept(c.consent);
  const m4 = res.next()!;
  s.initiator.receive(m4);
  const out: VectorCase = { ...c, messages: { clientHello: toHex(m1), serverHello: toHex(m2), auth: toHex(m3), welcome: toHex(m4) }, result: summarize(s.initiator.finish(), 'helper') };
  if (s.invitation) {
    out.invitationText = s.invitation.toText();
    out.invitationUrl = s.invitation.toUrl();
  }
  return out;
}

/**
 * A refused handshake (spec/handshake.md §3.6): a ticket case whose host store was prepared first, so that the host
 * answers Auth (or the user's decision) with a sealed refusal.
 */
export interface RefusalCase extends Omit<VectorCase, 'consent' | 'messages' | 'result'> {
  /** What the host's store or user does: revoke the ticket, give its one place to another holder key, or decline. */
  prepare: 'revoke' | 'other-holder' | 'decline';
  /** Other-holder cases: the holder key (public, 32 bytes) already on the ticket. */
  otherHolder?: string;
  refusal: string;
  authenticated: boolean;
  messages: { clientHello: string; serverHello: string; auth: string; refusal: string };
}

/** The host's side of a refusal case, up to the point where it answers Auth. */
export function prepareRefusal(c: RefusalCase, s: ReturnType<typeof setupCase>): void {
  const id = toHex(fromHex(c.ticketId!)!);
  if (c.prepare === 'revoke') s.store.revoke(id);
  if (c.prepare === 'other-holder') s.store.recordUse(id, c.now - 60_000, fromHex(c.otherHolder!)!, 1);
}

/** The host's reply to Auth in a refusal case (the responder has taken Auth). */
export function refusalReply(c: RefusalCase, res: HandshakeResponder, step: ReturnType<HandshakeResponder['receive']>): HandshakeError {
  if (c.prepare === 'decline') {
    if (step.type !== 'consent') throw new Error(`expected consent, got ${step.type}`);
    return res.decline();
  }
  if (step.type !== 'refused') throw new Error(`expected a refusal, got ${step.type}`);
  return step.error;
}

/** Runs a refusal case and fills in its messages. */
export function runRefusalCase(c: RefusalCase): RefusalCase {
  const s = setupCase(c as unknown as VectorCase);
  prepareRefusal(c, s);
  const res = makeResponder(c as unknown as VectorCase, s);
  const m1 = s.initiator.next()!;
  res.receive(m1);
  const m2 = res.next()!;
  s.initiator.receive(m2);
  const m3 = s.initiator.next()!;
  const err = refusalReply(c, res, res.receive(m3));
  const m4 = res.next()!;
  return { ...c, refusal: err.refusal, authenticated: err.authenticated, messages: { clientHello: toHex(m1), serverHello: toHex(m2), auth: toHex(m3), refusal: toHex(m4) } };
}

/**
 * Transport AEAD vectors (spec/handshake.md §7): one direction's key, and the frames it seals at counters 0, 1 and 2
 * (made by AeadFrameProtector, which builds the nonce) and at counter 2^32 + 5 (made by the suite with the nonce the
 * spec describes, to show the counter's high word); no associated data.
 */
export interface AeadCase {
  cipher: number;
  name: string;
  key: string;
  frames: Array<{ counter: string; nonce: string; body: string; sealed: string }>;
}

/** The nonce of frame `counter` (spec/handshake.md §7): zeros, then the 64-bit counter big-endian in the last 8 bytes. */
export function aeadNonce(suite: AeadSuite, counter: bigint): Uint8Array {
  const nonce = new Uint8Array(suite.nonceBytes);
  new DataView(nonce.buffer).setBigUint64(suite.nonceBytes - 8, counter);
  return nonce;
}

/** The suites the vectors cover, by wire id. */
export const AEAD_SUITES: Readonly<Record<number, AeadSuite>> = { 1: XSalsa20Poly1305, 2: NodeChaCha20Poly1305, 3: NodeAes256Gcm };

export function runAeadCase(suite: AeadSuite, key: Uint8Array, bodies: Uint8Array[], far: Uint8Array): AeadCase {
  const p = new AeadFrameProtector(suite, key, new Uint8Array(32));
  const frames = bodies.map((body, i) => ({ counter: String(i), nonce: toHex(aeadNonce(suite, BigInt(i))), body: toHex(body), sealed: toHex(p.seal(body)) }));
  const counter = 2n ** 32n + 5n;
  frames.push({ counter: String(counter), nonce: toHex(aeadNonce(suite, counter)), body: toHex(far), sealed: toHex(suite.seal(key, aeadNonce(suite, counter), far)) });
  return { cipher: suite.id, name: suite.name, key: toHex(key), frames };
}

const seq = (start: number, n = 32) => toHex(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff));

if (process.argv[1]?.endsWith('handshake-vectors.ts')) {
  const identity = nacl.sign.keyPair.fromSeed(fromHex(seq(0x90))!);
  const base = { now: 1_900_000_000_000, hostStaticSecret: seq(0x01), hostEphemeralSecret: seq(0x21), helperEphemeralSecret: seq(0x41) };
  const cases: VectorCase[] = [
    runCase({
      ...base, name: 'ticket with password, control', kind: 'ticket', ticketId: seq(0x61, 16), ticketSecret: seq(0x71), passwordSalt: seq(0xa1, 16), passwordKey: seq(0xb1), holderSeed: seq(0xc1),
      policy: {}, requestMode: 'control', consent: { mode: 'control', width: 1920, height: 1080, codecs: { codec: 1, quality: 'lossless' } },
      messages: { clientHello: '', serverHello: '', auth: '', welcome: '' }, result: { mode: '', cipher: '', handshakeHash: '', helperToHostKeySha512: '', hostToHelperKeySha512: '' },
    }),
    runCase({
      ...base, name: 'offer by group member, view policy', kind: 'offer', identitySeed: seq(0x90),
      policy: { offer: { enabled: true, permit: 'view', helpers: ['group:support'] } }, helpers: { users: { bob: [toHex(identity.publicKey)] }, groups: { support: ['bob'] } },
      requestMode: 'control', consent: { mode: 'control', width: 800, height: 600, codecs: { codec: 1, quality: 'balanced' } },
      messages: { clientHello: '', serverHello: '', auth: '', welcome: '' }, result: { mode: '', cipher: '', handshakeHash: '', helperToHostKeySha512: '', hostToHelperKeySha512: '' },
    }),
  ];
  const ticket = { ...base, kind: 'ticket' as const, ticketId: seq(0x61, 16), ticketSecret: seq(0x71), holderSeed: seq(0xc1), policy: {}, requestMode: 'control' as const };
  const blank = { refusal: '', authenticated: false, messages: { clientHello: '', serverHello: '', auth: '', refusal: '' } };
  const refusals: RefusalCase[] = [
    runRefusalCase({ ...ticket, ...blank, name: 'sealed refusal: ticket revoked', prepare: 'revoke' }),
    runRefusalCase({ ...ticket, ...blank, name: 'sealed refusal: invitation taken by another holder', prepare: 'other-holder', otherHolder: seq(0xd1) }),
    runRefusalCase({ ...ticket, ...blank, name: 'sealed refusal: the host user declined (after Auth)', prepare: 'decline' }),
  ];
  // Frame bodies (channel byte, then payload): an empty control payload's channel byte alone, a ping, a Display header.
  const bodies = [fromHex('01')!, fromHex('0183a174a470696e67a16e01a2747302')!, fromHex('020000000101')!];
  const aead = [1, 2, 3].map((id) => runAeadCase(AEAD_SUITES[id]!, fromHex(seq(0xe0))!, bodies, fromHex('05' + toHex(new TextEncoder().encode('hi')))!));
  console.log(
    JSON.stringify(
      {
        description:
          'tessera handshake vectors (spec/handshake.md); hex unless noted; random chunks are consumed in the order listed; refusals are sealed (§3.6); aead: transport frames sealed under a known key (§7), counter in decimal',
        cases,
        refusals,
        aead,
      },
      null,
      2,
    ),
  );
}
