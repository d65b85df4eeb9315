/**
 * The relay's conformance vectors (spec/vectors/relay.json, spec/relay.md): every message with its bytes, the
 * registration proof from fixed keys and nonce, the rendezvous id of a ticket, and an invitation that names a relay.
 * `buildRelayVectors()` computes them from fixed inputs; the conformance test replays the file both ways.
 * Regenerate: node --import tsx test/conformance/relay-vectors.ts > spec/vectors/relay.json
 */
import { toHex, fromHex } from '../../src/core/index.js';
import { createInvitation, dhKeyPair, encodeRelayMessage, offerRendezvousId, relayRegisterMac, rendezvousId, type RelayMessage } from '../../src/handshake/index.js';

/** A message in JSON: byte fields as hex. */
export type JsonMessage = Record<string, string | number | string[]>;

export interface RelayVectors {
  readonly version: 1;
  readonly messages: { name: string; message: JsonMessage; hex: string }[];
  readonly proof: { hostSecret: string; hostPublic: string; relaySecret: string; relayPublic: string; nonce: string; mac: string };
  readonly rendezvous: { hostSecret: string; ticketId: string; id: string }[];
  readonly offer: { hostPublic: string; id: string }[];
  readonly invitation: { now: number; hostSecret: string; random: string; relayUrl: string; addresses: string[]; name: string; text: string; url: string; binary: string };
}

const fill = (n: number, start: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

export function toJsonMessage(m: RelayMessage): JsonMessage {
  const out: JsonMessage = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? toHex(v) : Array.isArray(v) ? v.map((x: Uint8Array) => toHex(x)) : (v as string | number);
  return out;
}

export function fromJsonMessage(j: JsonMessage): RelayMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) {
    if (k === 'type' || k === 'peer' || k === 'code' || k === 'url') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.map((x) => fromHex(x)!);
    else out[k] = fromHex(String(v))!;
  }
  return out as unknown as RelayMessage;
}

export function buildRelayVectors(): RelayVectors {
  const host = dhKeyPair(fill(32, 0x10));
  const relay = dhKeyPair(fill(32, 0x80));
  const nonce = fill(32, 0x40);
  const mac = relayRegisterMac(host.secretKey, host.publicKey, nonce, relay.publicKey);
  const messages: [string, RelayMessage][] = [
    ['challenge', { type: 'challenge', nonce, relayKey: relay.publicKey }],
    ['register', { type: 'register', hostKey: host.publicKey, mac }],
    ['registered', { type: 'registered' }],
    ['serve two ids', { type: 'serve', ids: [fill(16, 0xa0), fill(16, 0xb0)] }],
    ['serve none', { type: 'serve', ids: [] }],
    ['incoming from ipv4', { type: 'incoming', token: fill(16, 0xc0), peer: '192.0.2.7:50000' }],
    ['incoming from ipv6', { type: 'incoming', token: fill(16, 0xc8), peer: '[2001:db8::7]:443' }],
    ['connect', { type: 'connect', id: fill(16, 0xa0) }],
    ['accept', { type: 'accept', token: fill(16, 0xc0) }],
    ['paired', { type: 'paired' }],
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((code): [string, RelayMessage] => [`refused ${code}`, { type: 'refused', code }]),
    ['redirect', { type: 'redirect', url: 'wss://relay-a.example:8443/t' }],
  ];
  const other = dhKeyPair(fill(32, 0x30));
  const tickets = [fill(16, 0x00), fill(16, 0x61)];
  let counter = 0x21;
  const random = (n: number) => new Uint8Array(n).fill(counter++ & 0xff);
  const now = 1_900_000_000_000;
  const relayUrl = 'wss://relay.example:8443';
  const { invitation } = createInvitation({
    hostKey: host.publicKey, addresses: [], expires: { value: 2, units: 'hours' }, name: 'Relay Vector Host', now: () => now, random,
    relayUrl, relayId: (id) => rendezvousId(host.secretKey, id),
  });
  return {
    version: 1,
    messages: messages.map(([name, m]) => ({ name, message: toJsonMessage(m), hex: toHex(encodeRelayMessage(m)) })),
    proof: { hostSecret: toHex(host.secretKey), hostPublic: toHex(host.publicKey), relaySecret: toHex(relay.secretKey), relayPublic: toHex(relay.publicKey), nonce: toHex(nonce), mac: toHex(mac) },
    rendezvous: tickets.map((ticketId) => ({ hostSecret: toHex(host.secretKey), ticketId: toHex(ticketId), id: toHex(rendezvousId(host.secretKey, ticketId)) })),
    offer: [host.publicKey, other.publicKey].map((k) => ({ hostPublic: toHex(k), id: toHex(offerRendezvousId(k)) })),
    invitation: {
      now, hostSecret: toHex(host.secretKey), random: 'each call fills its bytes with one counter value, from 0x21 upwards', relayUrl, addresses: [], name: 'Relay Vector Host',
      text: invitation.toText(), url: invitation.toUrl(), binary: toHex(invitation.toBinary()),
    },
  };
}

if (process.argv[1] && /relay-vectors\.ts$/.test(process.argv[1])) process.stdout.write(JSON.stringify(buildRelayVectors(), null, 2) + '\n');
