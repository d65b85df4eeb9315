/**
 * An invitation is spent once (spec/handshake.md §2.5) and refusals after ServerHello are sealed (§3.5, §3.6):
 * the sans-IO machines and both ticket stores.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ErrorCode, ProtocolError, toHex } from '../../../src/core/index.js';
import {
  HandshakeError, HandshakeInitiator, HandshakeResponder, MemoryTicketStore, MessageType, createInvitation, dhKeyPair, encodeRefusal, holderFingerprint,
  newHolderKey, parsePolicy, toBase64, type ConsentRequest, type HolderKey, type Invitation, type Policy, type TicketStore,
} from '../../../src/handshake/index.js';
import { FileTicketStore } from '../../../src/node/index.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
let now = 1_800_000_000_000;
const clock = () => now;
const hostKey = dhKeyPair(random(32));
const answer = { mode: 'control' as const, width: 10, height: 10 };

function setup(o: { uses?: number; policy?: Policy; store?: TicketStore } = {}) {
  const store = o.store ?? new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({
    hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: 60, units: 'minutes' }, name: 'Host', now: clock, random,
    ...(o.uses !== undefined ? { uses: o.uses } : {}), ...(o.policy ? { policy: o.policy } : {}),
  });
  store.add(ticket);
  return { store, invitation, ticket };
}

const responder = (store: TicketStore, policy?: Policy) =>
  new HandshakeResponder({ staticKey: hostKey, tickets: store, clock, random, peer: '198.51.100.7', ...(policy ? { policy } : {}) });

const initiator = (inv: Invitation, holder?: HolderKey) => HandshakeInitiator.fromInvitation(inv, { random, ...(holder ? { holder } : {}) });

/** Runs ClientHello, ServerHello and Auth; returns the host's step after Auth. */
function toAuth(ini: HandshakeInitiator, res: HandshakeResponder) {
  res.receive(ini.next()!);
  ini.receive(res.next()!);
  return res.receive(ini.next()!);
}

/** What the helper makes of the host's next message. */
function helperSees(ini: HandshakeInitiator, bytes: Uint8Array): unknown {
  try {
    return ini.receive(bytes);
  } catch (err) {
    return err;
  }
}

/** A whole accepted handshake with `holder`; returns the consent request it raised. */
function admit(store: TicketStore, inv: Invitation, holder: HolderKey, policy?: Policy): ConsentRequest {
  const ini = initiator(inv, holder);
  const res = responder(store, policy);
  const step = toAuth(ini, res);
  if (step.type !== 'consent') throw new Error(`expected consent, got ${step.type}${step.type === 'refused' ? ` ${step.error.refusal}` : ''}`);
  if (res.accept(answer) !== undefined) throw new Error('refused at accept');
  const welcome = helperSees(ini, res.next()!);
  if ((welcome as { type?: string }).type !== 'done') throw new Error('no welcome');
  return step.request;
}

function refusedAtAuth(store: TicketStore, inv: Invitation, holder: HolderKey, policy?: Policy): HandshakeError {
  const ini = initiator(inv, holder);
  const res = responder(store, policy);
  const step = toAuth(ini, res);
  if (step.type !== 'refused') throw new Error(`expected a refusal, got ${step.type}`);
  const seen = helperSees(ini, res.next()!);
  if (!(seen instanceof HandshakeError)) throw new Error(`the helper saw ${String(seen)}`);
  return seen;
}

t.test('one helper per invitation: the same holder comes back, another is refused TICKET_IN_USE', async (t) => {
  const { store, invitation } = setup();
  const first = newHolderKey(random);
  const r1 = admit(store, invitation, first);
  t.equal(r1.previousUses, 0, 'first use');
  t.equal(r1.returning, false);
  t.equal(r1.maxUses, 1);
  t.equal(r1.holderFingerprint, holderFingerprint(first.publicKey));
  t.match(r1.holderFingerprint!, /^[0-9a-f]{4}( [0-9a-f]{4}){3}$/);
  t.same(store.get(invitation.ticketIdHex)?.holders?.map((h) => toHex(h.key)), [toHex(first.publicKey)], 'the holder key is recorded');

  now += 60_000;
  const r2 = admit(store, invitation, first);
  t.equal(r2.returning, true, 'the same holder is a reconnection');
  t.equal(r2.previousUses, 1);
  t.equal(r2.lastUsedMs, now - 60_000, 'the last use is reported');

  const err = refusedAtAuth(store, invitation, newHolderKey(random));
  t.equal(err.refusal, 'TICKET_IN_USE');
  t.equal(err.authenticated, true, 'the helper reads it as the host word');
  t.equal(store.get(invitation.ticketIdHex)?.uses, 2, 'a refusal records no use');
});

t.test('uses: N admits N different holders, then refuses; the policy caps N at creation and at each handshake', async (t) => {
  const { store, invitation } = setup({ uses: 2 });
  const [a, b, c] = [newHolderKey(random), newHolderKey(random), newHolderKey(random)];
  admit(store, invitation, a);
  const rb = admit(store, invitation, b);
  t.equal(rb.holders, 1, 'one helper before');
  t.equal(rb.maxUses, 2);
  t.equal(refusedAtAuth(store, invitation, c).refusal, 'TICKET_IN_USE');
  t.equal(admit(store, invitation, a).returning, true, 'the first helper still comes back');

  const capped = createInvitation({ hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: 1, units: 'hours' }, name: 'H', now: clock, random, uses: 50, policy: parsePolicy({ solicited: { maxUses: 3 } }) });
  t.equal(capped.ticket.maxUses, 3, 'creation is capped by policy');
  t.equal(capped.capped, true);

  const later = setup({ uses: 3 });
  const strict = parsePolicy({ solicited: { maxUses: 1 } });
  admit(later.store, later.invitation, a, strict);
  t.equal(refusedAtAuth(later.store, later.invitation, b, strict).refusal, 'TICKET_IN_USE', 'a policy lowered later caps a ticket made before');
  t.throws(() => createInvitation({ hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: 1, units: 'hours' }, name: 'H', now: clock, random, uses: 0 }), /uses must be a positive integer/);
});

t.test('two new helpers asked for at once: the one accepted second is refused TICKET_IN_USE instead of Welcome', async (t) => {
  const { store, invitation } = setup();
  const ini1 = initiator(invitation, newHolderKey(random));
  const ini2 = initiator(invitation, newHolderKey(random));
  const res1 = responder(store);
  const res2 = responder(store);
  t.equal(toAuth(ini1, res1).type, 'consent');
  t.equal(toAuth(ini2, res2).type, 'consent', 'both are asked: neither has the place yet');
  t.equal(res1.accept(answer), undefined);
  const refused = res2.accept(answer);
  t.equal(refused?.refusal, 'TICKET_IN_USE');
  t.equal(res2.state, 'failed');
  t.equal(res2.outcome?.decision, 'refused');
  const seen = helperSees(ini2, res2.next()!);
  t.ok(seen instanceof HandshakeError && seen.refusal === 'TICKET_IN_USE' && seen.authenticated);
  t.equal(store.get(invitation.ticketIdHex)?.holders?.length, 1);
});

t.test('a holder proof that does not verify is BAD_PROOF', async (t) => {
  const { store, invitation } = setup();
  const real = newHolderKey(random);
  // Claims a holder key whose secret it does not have: signs with another key.
  const forged: HolderKey = { publicKey: real.publicKey, secretKey: newHolderKey(random).secretKey };
  admit(store, invitation, real);
  t.equal(refusedAtAuth(store, invitation, forged).refusal, 'BAD_PROOF');
});

t.test('the outcome says reconnected for a returning holder, and names the holder by fingerprint', async (t) => {
  const { store, invitation } = setup();
  const holder = newHolderKey(random);
  const ini = initiator(invitation, holder);
  const res = responder(store);
  toAuth(ini, res);
  res.accept(answer);
  t.equal(res.outcome?.decision, 'accepted');
  t.equal(res.outcome?.helper, `holder:${holderFingerprint(holder.publicKey).replace(/ /g, '')}`);
  const res2 = responder(store);
  toAuth(initiator(invitation, holder), res2);
  res2.accept(answer);
  t.equal(res2.outcome?.decision, 'reconnected');
});

t.test('refusals after ServerHello are sealed; in the clear only before', async (t) => {
  const { store, invitation } = setup();
  store.revoke(invitation.ticketIdHex);
  const ini = initiator(invitation);
  const res = responder(store);
  const step = toAuth(ini, res);
  t.equal(step.type, 'refused');
  const bytes = res.next()!;
  t.equal(bytes[0], MessageType.SealedRefusal);
  t.equal(bytes.byteLength, 19);
  t.not(toHex(bytes).slice(2, 6), '0003', 'the code is not in the clear');
  const err = helperSees(ini, bytes) as HandshakeError;
  t.equal(err.refusal, 'TICKET_REVOKED');
  t.equal(err.authenticated, true);

  // Declined after consent: sealed too.
  const b = setup();
  const ini2 = initiator(b.invitation);
  const res2 = responder(b.store);
  toAuth(ini2, res2);
  t.equal(res2.decline().authenticated, true);
  const declined = helperSees(ini2, res2.next()!) as HandshakeError;
  t.equal(declined.refusal, 'USER_DECLINED');
  t.equal(declined.authenticated, true);

  // THROTTLED at ClientHello goes in the clear: the helper reports it as unauthenticated.
  const throttled = new HandshakeResponder({
    staticKey: hostKey, tickets: b.store, clock, random, peer: '198.51.100.9',
    throttle: { isThrottled: () => true, recordFailure: () => undefined } as never,
  });
  const ini3 = initiator(b.invitation);
  t.equal(throttled.receive(ini3.next()!).type, 'refused');
  const clear = throttled.next()!;
  t.equal(clear[0], MessageType.Refusal);
  const e3 = helperSees(ini3, clear) as HandshakeError;
  t.equal(e3.refusal, 'THROTTLED');
  t.equal(e3.authenticated, false);
  t.match(e3.message, /something on the way/);
});

t.test('a refusal in the clear after ServerHello is a protocol error; a forged sealed one fails to open', async (t) => {
  const { store, invitation } = setup();
  const ini = initiator(invitation);
  const res = responder(store);
  toAuth(ini, res);
  const injected = helperSees(ini, encodeRefusal(3));
  t.ok(injected instanceof ProtocolError && !(injected instanceof HandshakeError), 'not a refusal');
  t.equal((injected as ProtocolError).code, ErrorCode.UnexpectedMessage);
  t.equal(ini.state, 'failed');

  const ini2 = initiator(invitation);
  const res2 = responder(store);
  toAuth(ini2, res2);
  const forged = new Uint8Array(19);
  forged[0] = MessageType.SealedRefusal;
  forged.set(random(18), 1);
  const e = helperSees(ini2, forged);
  t.equal((e as ProtocolError).code, ErrorCode.DecryptFailed);
  t.notOk(e instanceof HandshakeError);

  // A sealed refusal before ServerHello is unexpected.
  const ini3 = initiator(invitation);
  ini3.next();
  t.equal((helperSees(ini3, forged) as ProtocolError).code, ErrorCode.UnexpectedMessage);
});

t.test('the file store records holders as public keys, and reads a file written before uses were limited', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tessera-uses-')), 'state');
  const store = new FileTicketStore(dir);
  const { invitation, ticket } = setup({ uses: 2, store });
  const holder = newHolderKey(random);
  t.equal(store.recordUse(ticket.id, 5, holder.publicKey, 2), 'new');
  t.equal(new FileTicketStore(dir).recordUse(ticket.id, 6, holder.publicKey, 2), 'again', 'another instance sees the holder');
  t.equal(store.recordUse(ticket.id, 7, newHolderKey(random).publicKey, 2), 'new');
  t.equal(store.recordUse(ticket.id, 8, newHolderKey(random).publicKey, 2), 'full');
  t.equal(store.recordUse('0'.repeat(32), 8, holder.publicKey, 2), 'unknown');
  const text = readFileSync(store.path, 'utf8');
  t.ok(text.includes(toBase64(holder.publicKey)), 'the holder key is stored');
  t.notOk(text.includes(toBase64(holder.secretKey.subarray(0, 32))), 'never the holder secret');
  const back = new FileTicketStore(dir).get(ticket.id)!;
  t.equal(back.maxUses, 2);
  t.equal(back.uses, 3);
  t.same(back.holders?.map((h) => [h.firstUsedMs, h.lastUsedMs, h.uses]), [[5, 6, 2], [7, 7, 1]]);

  // A tickets.json written before: no maxUses, no holders; it stays readable and admits one helper.
  const old = JSON.parse(text) as { tickets: Record<string, unknown>[] };
  for (const x of old.tickets) {
    delete x.maxUses;
    delete x.holders;
  }
  writeFileSync(store.path, JSON.stringify(old));
  const legacy = new FileTicketStore(dir);
  t.equal(legacy.get(ticket.id)?.holders, undefined);
  const first = newHolderKey(random);
  admit(legacy, invitation, first);
  t.equal(refusedAtAuth(legacy, invitation, newHolderKey(random)).refusal, 'TICKET_IN_USE', 'an old ticket admits one helper');

  writeFileSync(store.path, JSON.stringify({ version: 1, tickets: [{ ...old.tickets[0], holders: [{ key: 'nope', first: 1, last: 1, uses: 1 }] }] }));
  t.throws(() => new FileTicketStore(dir), /holders\[0\]\.key/);
  writeFileSync(store.path, JSON.stringify({ version: 1, tickets: [{ ...old.tickets[0], maxUses: 0 }] }));
  t.throws(() => new FileTicketStore(dir), /maxUses/);
});

t.test('policy: solicited.maxUses is validated strictly', async (t) => {
  t.equal(parsePolicy({}).solicited.maxUses, 10);
  t.equal(parsePolicy({ solicited: { maxUses: 1 } }).solicited.maxUses, 1);
  for (const bad of [0, 101, 1.5, '3', null]) t.throws(() => parsePolicy({ solicited: { maxUses: bad } }), /solicited\.maxUses must be an integer from 1 to 100/);
});
