import t from 'tap';
import nacl from 'tweetnacl';
import { inspect } from 'node:util';
import { randomBytes } from 'node:crypto';
import { toHex } from '../../../src/core/index.js';
import {
  HandshakeInitiator, HandshakeResponder, MemoryTicketStore, Throttle, createInvitation, dhKeyPair, parsePolicy, parseHelpers,
  encodeClientHello, HandshakeError, type ResponderOptions, type Invitation, type InitiatorOptions,
} from '../../../src/handshake/index.js';
import { scryptKdf, NODE_CIPHERS, NodeChaCha20Poly1305 } from '../../../src/node/crypto.js';
import { XSalsa20Poly1305, AeadFrameProtector } from '../../../src/framing/aead.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
let now = 1_800_000_000_000;
const clock = () => now;
const hostKey = dhKeyPair(random(32));

function setup(o: { mode?: 'view' | 'control'; password?: string; minutes?: number } = {}) {
  const store = new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({
    hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: o.minutes ?? 60, units: 'minutes' }, name: 'Host', now: clock, random,
    ...(o.mode ? { mode: o.mode } : {}), ...(o.password ? { password: o.password, kdf: scryptKdf } : {}),
  });
  store.add(ticket);
  return { store, invitation };
}

function responder(store: MemoryTicketStore, extra: Partial<ResponderOptions> = {}) {
  return new HandshakeResponder({ staticKey: hostKey, tickets: store, clock, random, peer: '198.51.100.1', ...extra });
}

/** Runs a handshake up to the host's consent step or a refusal. */
function toConsent(ini: HandshakeInitiator, res: HandshakeResponder) {
  const s1 = res.receive(ini.next()!);
  if (s1.type === 'refused') return { refused: s1.error, res, ini };
  const s2 = ini.receive(res.next()!);
  if (s2.type !== 'send') throw new Error('expected send');
  const s3 = res.receive(ini.next()!);
  if (s3.type === 'refused') return { refused: s3.error, res, ini };
  if (s3.type !== 'consent') throw new Error('expected consent');
  return { request: s3.request, res, ini };
}

function fromInv(inv: Invitation, extra: { password?: string; requestMode?: 'view' | 'control'; ciphers?: InitiatorOptions['ciphers'] } = {}) {
  return HandshakeInitiator.fromInvitation(inv, { random, kdf: scryptKdf, ...extra });
}

function refusedCode(ini: HandshakeInitiator, res: HandshakeResponder): string {
  const bytes = res.next()!;
  const err = (() => { try { ini.receive(bytes); } catch (e) { return e; } })() as HandshakeError;
  return err.refusal;
}

t.test('a full handshake gives both sides matching keys, mode and welcome', async (t) => {
  const { store, invitation } = setup({ password: 'correct horse' });
  const ini = fromInv(invitation, { password: 'correct horse', ciphers: NODE_CIPHERS });
  const res = responder(store, { ciphers: [NodeChaCha20Poly1305, XSalsa20Poly1305] });
  const r = toConsent(ini, res);
  t.equal(r.request?.kind, 'ticket');
  t.equal(r.request?.ticketId, invitation.ticketIdHex);
  t.equal(r.request?.maxMode, 'control');
  t.equal(res.state, 'await-consent');
  res.accept({ mode: 'control', width: 1024, height: 768, codecs: { tile: 64, lossy: true, q: 'balanced' } });
  t.same(ini.receive(res.next()!), { type: 'done' });
  const a = ini.finish(), b = res.finish();
  t.same(a.keys.send, b.keys.receive);
  t.same(a.keys.receive, b.keys.send);
  t.same(a.keys.handshakeHash, b.keys.handshakeHash);
  t.equal(a.cipher.name, 'chacha20-poly1305', 'host preference among shared ciphers');
  t.equal(a.mode, 'control');
  t.same({ ...a.welcome.codecs }, { tile: 64, lossy: true, q: 'balanced' });
  t.equal(a.welcome.width, 1024);
  t.same(b.protector.open(a.protector.seal(Uint8Array.of(1, 2, 3))), Uint8Array.of(1, 2, 3));
  t.same(a.protector.open(b.protector.seal(Uint8Array.of(4))), Uint8Array.of(4));
  t.equal(store.get(invitation.ticketIdHex)?.uses, 1);
  for (const out of [inspect(a), inspect(b.keys), JSON.stringify(a.keys), inspect(ini), inspect(res)]) {
    t.notOk(out.includes(toHex(a.keys.send)) || out.includes(toHex(a.keys.receive)), 'no key bytes in inspect');
  }
  t.throws(() => ini.finish(), { code: 'TESSERA_ERR_BAD_STATE' }, 'finish only once');
  t.throws(() => res.receive(new Uint8Array(3)), { code: 'TESSERA_ERR_BAD_STATE' });
});

t.test('granted mode is the least of policy, invitation, helper request and user answer', async (t) => {
  const cases: { policy: 'view' | 'control'; inv: 'view' | 'control'; req: 'view' | 'control'; user: 'view' | 'control'; want: string }[] = [
    { policy: 'control', inv: 'control', req: 'control', user: 'control', want: 'control' },
    { policy: 'view', inv: 'control', req: 'control', user: 'control', want: 'view' },
    { policy: 'control', inv: 'view', req: 'control', user: 'control', want: 'view' },
    { policy: 'control', inv: 'control', req: 'view', user: 'control', want: 'view' },
    { policy: 'control', inv: 'control', req: 'control', user: 'view', want: 'view' },
  ];
  for (const c of cases) {
    const { store, invitation } = setup({ mode: c.inv });
    const ini = fromInv(invitation, { requestMode: c.req });
    const res = responder(store, { policy: parsePolicy({ solicited: { permit: c.policy } }) });
    toConsent(ini, res);
    res.accept({ mode: c.user, width: 1, height: 1 });
    ini.receive(res.next()!);
    t.equal(ini.finish().mode, c.want, JSON.stringify(c));
  }
});

t.test('each refusal code is reached', async (t) => {
  // TICKET_UNKNOWN
  {
    const { invitation } = setup();
    const r = toConsent(fromInv(invitation), responder(new MemoryTicketStore()));
    t.equal(r.refused?.refusal, 'TICKET_UNKNOWN');
    t.equal(refusedCode(r.ini, r.res), 'TICKET_UNKNOWN');
  }
  // TICKET_EXPIRED: valid in form, the host clock says it is over.
  {
    const { store, invitation } = setup({ minutes: 1 });
    const saved = now;
    now = invitation.expiresMs;
    const r = toConsent(fromInv(invitation), responder(store));
    now = saved;
    t.equal(refusedCode(r.ini, r.res), 'TICKET_EXPIRED');
  }
  // TICKET_REVOKED
  {
    const { store, invitation } = setup();
    store.revoke(invitation.ticketIdHex);
    const r = toConsent(fromInv(invitation), responder(store));
    t.equal(refusedCode(r.ini, r.res), 'TICKET_REVOKED');
  }
  // BAD_PROOF: wrong password; missing password; wrong secret.
  {
    const { store, invitation } = setup({ password: 'right' });
    const r = toConsent(fromInv(invitation, { password: 'wrong' }), responder(store));
    t.equal(refusedCode(r.ini, r.res), 'BAD_PROOF');
    const forged = new HandshakeInitiator({ hostKey: hostKey.publicKey, auth: { kind: 'ticket', ticketId: invitation.ticketId, secret: random(32) }, random });
    const r2 = toConsent(forged, responder(store));
    t.equal(refusedCode(r2.ini, r2.res), 'BAD_PROOF');
    t.throws(() => fromInv(invitation), { code: 'TESSERA_ERR_BAD_STATE' }, 'a password invitation needs a password');
  }
  // THROTTLED
  {
    const { store, invitation } = setup();
    const throttle = new Throttle({ clock });
    for (let i = 0; i < 5; i++) throttle.recordFailure(invitation.ticketIdHex, `x${i}`);
    const r = toConsent(fromInv(invitation), responder(store, { throttle }));
    t.equal(refusedCode(r.ini, r.res), 'THROTTLED');
  }
  // POLICY_DENIED: solicited disabled.
  {
    const { store, invitation } = setup();
    const r = toConsent(fromInv(invitation), responder(store, { policy: parsePolicy({ solicited: { enabled: false } }) }));
    t.equal(refusedCode(r.ini, r.res), 'POLICY_DENIED');
  }
  // USER_DECLINED
  {
    const { store, invitation } = setup();
    const r = toConsent(fromInv(invitation), responder(store));
    const err = r.res.decline();
    t.equal(err.refusal, 'USER_DECLINED');
    t.equal(err.wire, 7);
    t.equal(refusedCode(r.ini, r.res), 'USER_DECLINED');
    t.equal(r.res.outcome?.decision, 'refused');
  }
  // VERSION_MISMATCH
  {
    const { store } = setup();
    const res = responder(store);
    const step = res.receive(encodeClientHello({ version: 2, ephemeral: random(32), ciphers: [1] }));
    t.equal(step.type === 'refused' && step.error.refusal, 'VERSION_MISMATCH');
    t.same(res.next(), Uint8Array.of(0x7f, 0, 8));
  }
  // HOST_KEY_MISMATCH: the invitation pins another key.
  {
    const { store, invitation } = setup();
    const other = dhKeyPair(random(32));
    const ini = new HandshakeInitiator({ hostKey: other.publicKey, auth: { kind: 'ticket', ticketId: invitation.ticketId, secret: invitation.secret }, random });
    const res = responder(store);
    res.receive(ini.next()!);
    const err = t.throws(() => ini.receive(res.next()!)) as HandshakeError;
    t.equal(err.refusal, 'HOST_KEY_MISMATCH');
    t.equal(err.code, 'TESSERA_ERR_HANDSHAKE_REFUSED');
    t.equal(ini.state, 'failed');
    t.throws(() => ini.receive(new Uint8Array(1)), { code: 'TESSERA_ERR_BAD_STATE' }, 'failed stays failed');
  }
});

t.test('offers: allow-list by user or group, POLICY_DENIED otherwise', async (t) => {
  const alice = nacl.sign.keyPair(), bob = nacl.sign.keyPair(), eve = nacl.sign.keyPair();
  const helpers = parseHelpers({ users: { alice: [toHex(alice.publicKey)], bob: [toHex(bob.publicKey)] }, groups: { support: ['bob'] } });
  const policy = parsePolicy({ offer: { enabled: true, permit: 'view', helpers: ['group:support'] } });
  const offer = (id: nacl.SignKeyPair, p = policy) => {
    const ini = new HandshakeInitiator({ hostKey: hostKey.publicKey, auth: { kind: 'offer', identity: id }, random });
    return toConsent(ini, responder(new MemoryTicketStore(), { policy: p, helpers }));
  };
  const ok = offer(bob);
  t.equal(ok.request?.helper, 'bob');
  t.equal(ok.request?.maxMode, 'view');
  ok.res.accept({ mode: 'control', width: 2, height: 2 });
  ok.ini.receive(ok.res.next()!);
  t.equal(ok.ini.finish().mode, 'view');
  t.equal(ok.res.finish().peer.helper, 'bob');
  t.equal(offer(alice).refused?.refusal, 'POLICY_DENIED', 'known user outside the allow-list');
  t.equal(offer(eve).refused?.refusal, 'POLICY_DENIED', 'unknown key');
  t.equal(offer(bob, parsePolicy({})).refused?.refusal, 'POLICY_DENIED', 'offer disabled');
});

t.test('a replayed Auth from a recorded handshake is refused', async (t) => {
  const { store, invitation } = setup();
  const ini = fromInv(invitation);
  const res = responder(store);
  const m1 = ini.next()!;
  res.receive(m1);
  ini.receive(res.next()!);
  const m3 = ini.next()!;
  res.receive(m3);
  // The attacker replays m1 and m3 to a fresh responder.
  const res2 = responder(store);
  t.equal(res2.receive(m1).type, 'send');
  const step = res2.receive(m3);
  t.equal(step.type === 'refused' && step.error.refusal, 'BAD_PROOF');
});

t.test('malformed messages fail the machine with a ProtocolError, never a crash', async (t) => {
  const { store, invitation } = setup();
  const res = responder(store);
  t.throws(() => res.receive(Uint8Array.of(1, 1)), { code: 'TESSERA_ERR_TRUNCATED' });
  t.equal(res.state, 'failed');
  const ini = fromInv(invitation);
  ini.next();
  t.throws(() => ini.receive(Uint8Array.of(4, 0)), { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' });
  const ini2 = fromInv(invitation);
  const res2 = responder(store);
  res2.receive(ini2.next()!);
  const m2 = res2.next()!;
  m2[33] = 9; // a cipher that was not offered
  t.throws(() => ini2.receive(m2), { code: 'TESSERA_ERR_INVALID_FIELD' });
});

t.test('AEAD protector: altered, replayed, reordered and dropped frames fail to open', async (t) => {
  for (const suite of NODE_CIPHERS) {
    const k1 = random(32), k2 = random(32);
    const a = new AeadFrameProtector(suite, k1, k2);
    const body = (n: number) => new Uint8Array(100).fill(n);
    const sealed = [0, 1, 2, 3].map((i) => a.seal(body(i)));
    t.equal(sealed[0]!.byteLength, 116, `${suite.name} overhead`);
    const open = () => new AeadFrameProtector(suite, k2, k1);
    const b = open();
    t.same(b.open(sealed[0]!), body(0));
    t.throws(() => b.open(sealed[0]!), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, `${suite.name} replay`);
    t.throws(() => b.open(sealed[1]!), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, 'stays failed');
    const c = open();
    t.throws(() => c.open(sealed[1]!), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, `${suite.name} reorder/drop`);
    const d = open();
    const altered = sealed[0]!.slice();
    altered[5] = altered[5]! ^ 1;
    t.throws(() => d.open(altered), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, `${suite.name} altered`);
    t.throws(() => open().open(new Uint8Array(3)), { code: 'TESSERA_ERR_DECRYPT_FAILED' }, 'short body');
    const e = open();
    for (let i = 0; i < 4; i++) t.same(e.open(sealed[i]!), body(i));
    t.equal(e.received, 4);
  }
});
