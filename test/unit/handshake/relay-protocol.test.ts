import t from 'tap';
import { randomBytes } from 'node:crypto';
import { TesseraError, isErrorCode, toHex } from '../../../src/core/index.js';
import {
  MAX_SERVED_IDS, RelayRefusal, createInvitation, decodeInvitationBinary, decodeRelayMessage, dhKeyPair, encodeRelayMessage, readInvitation,
  relayRegisterMac, rendezvousId, verifyRelayRegisterMac, type RelayMessage, toBase64Url, toBase64,
} from '../../../src/handshake/index.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const NOW = 1_800_000_000_000;

t.test('every relay message round-trips and a truncated or extended one is refused with a code', async (t) => {
  const messages: RelayMessage[] = [
    { type: 'challenge', nonce: random(32), relayKey: random(32) },
    { type: 'register', hostKey: random(32), mac: random(64) },
    { type: 'registered' },
    { type: 'serve', ids: [random(16), random(16)] },
    { type: 'serve', ids: [] },
    { type: 'incoming', token: random(16), peer: '192.0.2.4:50123' },
    { type: 'incoming', token: random(16), peer: '[2001:db8::1]:443' },
    { type: 'connect', id: random(16) },
    { type: 'accept', token: random(16) },
    { type: 'paired' },
    { type: 'refused', code: RelayRefusal.UnknownId },
  ];
  for (const m of messages) {
    const bytes = encodeRelayMessage(m);
    t.same(decodeRelayMessage(bytes), m, m.type);
    t.throws(() => decodeRelayMessage(new Uint8Array([...bytes, 0])), { code: 'TESSERA_ERR_TRAILING_BYTES' });
    if (bytes.length > 1) {
      try {
        decodeRelayMessage(bytes.subarray(0, bytes.length - 1));
        t.fail('truncated accepted');
      } catch (err) {
        t.ok(err instanceof TesseraError && isErrorCode(err.code), `${m.type} truncated: ${(err as TesseraError).code}`);
      }
    }
  }
  t.throws(() => decodeRelayMessage(new Uint8Array([0x7f])), { code: 'TESSERA_ERR_UNKNOWN_MESSAGE' });
  t.throws(() => decodeRelayMessage(new Uint8Array([])), { code: 'TESSERA_ERR_TRUNCATED' });
  t.throws(() => decodeRelayMessage(new Uint8Array([6, 2, ...random(16)])), { code: 'TESSERA_ERR_UNSUPPORTED_VERSION' });
  // A count over the cap is refused before anything is read or allocated for it.
  t.throws(() => decodeRelayMessage(new Uint8Array([4, 0xff, 0xff])), { code: 'TESSERA_ERR_LIMIT_EXCEEDED' });
  t.throws(() => decodeRelayMessage(new Uint8Array([4, 0, 3, ...random(32)])), { code: 'TESSERA_ERR_TRUNCATED' });
  t.throws(() => encodeRelayMessage({ type: 'serve', ids: Array.from({ length: MAX_SERVED_IDS + 1 }, () => random(16)) }), { code: 'TESSERA_ERR_LIMIT_EXCEEDED' });
});

t.test('the registration proof verifies only for the holder of the host key, the nonce and the relay key', async (t) => {
  const host = dhKeyPair(random(32));
  const other = dhKeyPair(random(32));
  const relay = dhKeyPair(random(32));
  const nonce = random(32);
  const mac = relayRegisterMac(host.secretKey, host.publicKey, nonce, relay.publicKey);
  t.equal(mac.byteLength, 64);
  t.ok(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, nonce, host.publicKey, mac), 'right key verifies');
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, nonce, other.publicKey, mac), 'claimed for another host key');
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, random(32), host.publicKey, mac), 'replayed with another nonce');
  const forged = relayRegisterMac(other.secretKey, host.publicKey, nonce, relay.publicKey);
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, nonce, host.publicKey, forged), 'computed without the host secret');
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, nonce, new Uint8Array(32), mac), 'low-order key refused');
  const flipped = mac.slice();
  flipped[5]! ^= 1;
  t.notOk(verifyRelayRegisterMac(relay.secretKey, relay.publicKey, nonce, host.publicKey, flipped), 'flipped bit');
});

t.test('an invitation carries its relay in every form, and reveals neither secret in the rendezvous id', async (t) => {
  const host = dhKeyPair(random(32));
  const { invitation } = createInvitation({
    hostKey: host.publicKey, addresses: [], expires: { value: 1, units: 'hours' }, name: 'Relay Host', now: () => NOW, random,
    relayUrl: 'ws://127.0.0.1:8080', relayId: (id) => rendezvousId(host.secretKey, id),
  });
  t.equal(invitation.addresses.length, 0, 'relay only');
  t.same(invitation.relay!.id, rendezvousId(host.secretKey, invitation.ticketId), 'the host recomputes the id from the ticket');
  t.equal(invitation.relay!.id.byteLength, 16);
  t.match(invitation.toText(), /\nrelay: ws:\/\/127\.0\.0\.1:8080\nrendezvous: [A-Za-z0-9_-]{22}\n/);
  t.match(invitation.toUrl(), /^tessera:\/\/127\.0\.0\.1:8080\/#/, 'the url names the relay when there is no address');
  for (const form of [invitation.toText(), invitation.toUrl()]) {
    const back = readInvitation(form, { now: NOW });
    t.same(back.toBinary(), invitation.toBinary());
    t.same(back.relay, invitation.relay);
  }
  t.same(decodeInvitationBinary(invitation.toBinary()).relay, invitation.relay);
  const id = invitation.relay!.id;
  for (const f of [invitation.secret, invitation.ticketId]) {
    t.not(toHex(id), toHex(f.subarray(0, 16)));
  }
  const json = JSON.stringify(invitation.toJSON());
  t.notOk(json.includes(toBase64Url(id)) || json.includes(toBase64(id)), 'toJSON shows only a short hash of the rendezvous id');
  t.match(invitation.describe(), /relay: {4}ws:\/\/127\.0\.0\.1:8080 \(rendezvous [0-9a-f]{12}\)/);
  // With addresses too, the url keeps the first address.
  const both = createInvitation({
    hostKey: host.publicKey, addresses: ['192.0.2.1:4000'], expires: { value: 1, units: 'hours' }, name: 'H', now: () => NOW, random,
    relayUrl: 'wss://relay.example/', relayId: (i) => rendezvousId(host.secretKey, i),
  }).invitation;
  t.match(both.toUrl(), /^tessera:\/\/192\.0\.2\.1:4000\/#/);
  t.same(readInvitation(both.toUrl(), { now: NOW }).relay, both.relay);
});

t.test('bad relay fields are refused', async (t) => {
  const host = dhKeyPair(random(32));
  const base = createInvitation({ hostKey: host.publicKey, addresses: ['192.0.2.1'], expires: { value: 1, units: 'hours' }, name: 'H', now: () => NOW, random }).invitation.toText();
  const id = toBase64Url(random(16));
  for (const extra of [`relay: ws://r.example\n`, `rendezvous: ${id}\n`, `relay: http://r.example\nrendezvous: ${id}\n`, `relay: ws://u:p@r.example\nrendezvous: ${id}\n`, `relay: ws://r.example\nrendezvous: abc\n`, `relay: ws://r.example\nrelay: ws://r.example\nrendezvous: ${id}\n`]) {
    t.throws(() => readInvitation(base + extra, { now: NOW }), { code: 'TESSERA_ERR_INVALID_INVITATION' }, JSON.stringify(extra));
  }
  t.ok(readInvitation(base + `relay: wss://r.example:8443/x\nrendezvous: ${id}\n`, { now: NOW }).relay, 'a good relay line reads');
  // Without a relay, an invitation still needs an address.
  t.throws(() => readInvitation(base.replace(/address: .*\n/, ''), { now: NOW }), { code: 'TESSERA_ERR_INVALID_INVITATION' });
});
