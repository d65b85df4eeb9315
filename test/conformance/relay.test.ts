/**
 * Replays spec/vectors/relay.json both ways (spec/relay.md): each message decodes to its fields and its fields
 * encode to its bytes; the registration proof from the fixed keys is the vector's MAC and the relay's check accepts
 * it (and only it); the rendezvous ids derive from the host secret and ticket id; the relay invitation reads from
 * its text and URL to the vector's binary form, and is rebuilt byte for byte from the same inputs.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../src/core/index.js';
import { decodeInvitationBinary, decodeRelayMessage, dhKeyPair, encodeRelayMessage, offerRendezvousId, readInvitation, relayRegisterMac, rendezvousId, verifyRelayRegisterMac } from '../../src/handshake/index.js';
import { buildRelayVectors, fromJsonMessage, toJsonMessage, type RelayVectors } from './relay-vectors.js';

const v = JSON.parse(readFileSync(new URL('../../spec/vectors/relay.json', import.meta.url), 'utf8')) as RelayVectors;
const hex = (s: string) => fromHex(s)!;

t.test('every message: bytes to fields and fields to bytes', async (t) => {
  t.ok(v.messages.length >= 10);
  for (const m of v.messages) {
    t.same(toJsonMessage(decodeRelayMessage(hex(m.hex))), m.message, `${m.name}: decodes`);
    t.equal(toHex(encodeRelayMessage(fromJsonMessage(m.message))), m.hex, `${m.name}: encodes`);
  }
  const types = new Set(v.messages.map((m) => m.message.type));
  for (const type of ['challenge', 'register', 'registered', 'serve', 'incoming', 'connect', 'accept', 'paired', 'refused', 'redirect']) t.ok(types.has(type), `covers ${type}`);
});

t.test('the registration proof', async (t) => {
  const p = v.proof;
  const host = dhKeyPair(hex(p.hostSecret));
  const relay = dhKeyPair(hex(p.relaySecret));
  t.equal(toHex(host.publicKey), p.hostPublic);
  t.equal(toHex(relay.publicKey), p.relayPublic);
  t.equal(toHex(relayRegisterMac(host.secretKey, host.publicKey, hex(p.nonce), relay.publicKey)), p.mac, 'the host computes the vector MAC');
  t.ok(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, hex(p.nonce), host.publicKey, hex(p.mac)), 'the relay accepts it');
  const other = hex(p.mac);
  other[0]! ^= 0x80;
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, hex(p.nonce), host.publicKey, other), 'and nothing else');
  const register = v.messages.find((m) => m.message.type === 'register')!;
  t.equal(register.message.mac, p.mac, 'the register vector carries this proof');
});

t.test('rendezvous ids', async (t) => {
  for (const r of v.rendezvous) t.equal(toHex(rendezvousId(hex(r.hostSecret), hex(r.ticketId))), r.id);
});

t.test('offer rendezvous ids (from the host public key)', async (t) => {
  t.ok(v.offer.length >= 2);
  for (const o of v.offer) t.equal(toHex(offerRendezvousId(hex(o.hostPublic))), o.id);
});

t.test('an invitation naming a relay', async (t) => {
  const inv = v.invitation;
  for (const form of [inv.text, inv.url]) t.equal(toHex(readInvitation(form, { now: inv.now }).toBinary()), inv.binary);
  const decoded = decodeInvitationBinary(hex(inv.binary));
  t.equal(decoded.relay?.url, inv.relayUrl);
  t.same(decoded.addresses, []);
  t.equal(toHex(decoded.relay!.id), toHex(rendezvousId(hex(inv.hostSecret), decoded.ticketId)), 'its id is the ticket\'s rendezvous id');
  t.equal(decoded.toText(), inv.text);
  t.equal(decoded.toUrl(), inv.url);
  const rebuilt = buildRelayVectors();
  t.same(rebuilt, v, 'the generator reproduces the whole file from its fixed inputs');
});
