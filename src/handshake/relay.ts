/**
 * The relay's messages (spec/relay.md): what a host, a helper and a relay say to each other before the relay
 * splices two sockets, the registration proof (possession of the host's X25519 key, shown by Diffie-Hellman),
 * and the rendezvous id of an invitation. Pure and browser-safe: bytes in, bytes out; the clock, randomness and
 * sockets belong to the caller (src/relay). Every decoder is bounded and total: hostile bytes give a
 * ProtocolError with a code, never an allocation larger than the message.
 */
import { ByteReader, ByteWriter, ErrorCode, ProtocolError, TesseraError, toHex } from '../core/index.js';
import { dh, hkdf, hmacSha512, sha512, utf8, toBase64Url, fromBase64 } from './crypto.js';

/** Version of the relay protocol (spec/relay.md §1). */
export const RELAY_VERSION = 1;
/** Bytes of a rendezvous id (128 bits). */
export const RENDEZVOUS_ID_BYTES = 16;
/** Bytes of a one-time pairing token. */
export const PAIRING_TOKEN_BYTES = 16;
/** Bytes of the relay's registration nonce. */
export const RELAY_NONCE_BYTES = 32;
/** Bytes of the registration MAC (HMAC-SHA-512). */
export const RELAY_MAC_BYTES = 64;
/** Most rendezvous ids one host serves at once. */
export const MAX_SERVED_IDS = 1024;
/** Largest relay message (a Serve with MAX_SERVED_IDS ids, plus its header). */
export const MAX_RELAY_MESSAGE_BYTES = 3 + MAX_SERVED_IDS * RENDEZVOUS_ID_BYTES;
/** Most characters of the helper's address in an Incoming message ("ip:port", "[v6]:port"). */
export const MAX_PEER_CHARS = 64;
const PEER_RE = /^[\x21-\x7e]{1,64}$/;
/** Label of the registration key (HKDF info). */
export const RELAY_REGISTER_LABEL = 'tessera relay register v1';
/** Label of a ticket's rendezvous id (HKDF info). */
export const RENDEZVOUS_LABEL = 'tessera/1 rendezvous';
/** Label of a host's offer rendezvous id (HKDF info). */
export const OFFER_RENDEZVOUS_LABEL = 'tessera/1 offer rendezvous';
/** Most characters of the relay URL in a Redirect message. */
export const MAX_REDIRECT_URL_CHARS = 255;
const REDIRECT_RE = /^wss?:\/\/[\x21-\x7e]{1,249}$/;

/** WebSocket paths of the relay (spec/relay.md §2). */
export const RelayPath = {
  /** A host's control connection: challenge, register, serve, incoming. */
  Host: '/tessera-relay/1/host',
  /** A host's data connection for one pairing: accept, paired, then spliced bytes. */
  Data: '/tessera-relay/1/data',
  /** A helper: connect, paired, then spliced bytes. */
  Connect: '/tessera-relay/1/connect',
} as const;

/** The WebSocket URL of a relay path: `ws://relay.example:8080` + `/tessera-relay/1/host` (a path prefix is kept). */
export function relayEndpoint(relayUrl: string, path: string): string {
  const u = new URL(relayUrl);
  u.pathname = u.pathname.replace(/\/+$/, '') + path;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/**
 * The browser viewer on a relay's origin (`tessera relay --web`) with the invitation in the fragment, which a browser
 * never sends to a server: `wss://relay.example/base` gives `https://relay.example/base/#<URI-encoded tessera:// URL>`
 * (`ws://` gives `http://`). The invitation never goes into the path or the query.
 */
export function relayViewerUrl(relayUrl: string, invitationUrl: string): string {
  const u = new URL(relayUrl);
  const base = `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}${u.pathname.replace(/\/+$/, '')}/`;
  return `${base}#${encodeURIComponent(invitationUrl)}`;
}

/** Message types (the first byte). */
export const RelayMessageType = {
  Challenge: 1,
  Register: 2,
  Registered: 3,
  Serve: 4,
  Incoming: 5,
  Connect: 6,
  Accept: 7,
  Paired: 8,
  Refused: 9,
  Redirect: 10,
} as const;

/** Why the relay refused (the byte in a Refused message). */
export const RelayRefusal = {
  Malformed: 1,
  HostNotAllowed: 2,
  BadProof: 3,
  UnknownId: 4,
  UnknownToken: 5,
  Busy: 6,
  PairingTimeout: 7,
  HostGone: 8,
  Replaced: 9,
} as const;
export type RelayRefusal = (typeof RelayRefusal)[keyof typeof RelayRefusal];

const REFUSAL_NAMES: Readonly<Record<number, string>> = {
  1: 'MALFORMED',
  2: 'HOST_NOT_ALLOWED',
  3: 'BAD_PROOF',
  4: 'UNKNOWN_ID',
  5: 'UNKNOWN_TOKEN',
  6: 'BUSY',
  7: 'PAIRING_TIMEOUT',
  8: 'HOST_GONE',
  9: 'REPLACED',
};

/** The name of a relay refusal code ("UNKNOWN_ID"), or "UNKNOWN_<n>" for a code this build does not know. */
export function relayRefusalName(code: number): string {
  return REFUSAL_NAMES[code] ?? `UNKNOWN_${code}`;
}

/** One relay message. */
export type RelayMessage =
  | { readonly type: 'challenge'; readonly nonce: Uint8Array; readonly relayKey: Uint8Array }
  | { readonly type: 'register'; readonly hostKey: Uint8Array; readonly mac: Uint8Array }
  | { readonly type: 'registered' }
  | { readonly type: 'serve'; readonly ids: readonly Uint8Array[] }
  | { readonly type: 'incoming'; readonly token: Uint8Array; readonly peer: string }
  | { readonly type: 'connect'; readonly id: Uint8Array }
  | { readonly type: 'accept'; readonly token: Uint8Array }
  | { readonly type: 'paired' }
  | { readonly type: 'refused'; readonly code: number }
  | { readonly type: 'redirect'; readonly url: string };

/** A relay refused, or a relay message was not as expected: TESSERA_ERR_RELAY_REFUSED with the refusal's name. */
export class RelayError extends TesseraError {
  /** The relay's refusal code name (UNKNOWN_ID, BAD_PROOF, ...), when the relay sent one. */
  readonly refusal: string | undefined;
  constructor(code: ErrorCode, message: string, refusal?: string, detail: { cause?: unknown } = {}) {
    super(code, message, { context: 'relay', ...detail });
    this.refusal = refusal;
  }
}

/** Encodes one relay message (one WebSocket message). */
export function encodeRelayMessage(m: RelayMessage): Uint8Array {
  const w = new ByteWriter(64);
  switch (m.type) {
    case 'challenge':
      w.u8(RelayMessageType.Challenge).u8(RELAY_VERSION).bytes(fixed(m.nonce, RELAY_NONCE_BYTES, 'nonce')).bytes(fixed(m.relayKey, 32, 'relayKey'));
      break;
    case 'register':
      w.u8(RelayMessageType.Register).u8(RELAY_VERSION).bytes(fixed(m.hostKey, 32, 'hostKey')).bytes(fixed(m.mac, RELAY_MAC_BYTES, 'mac'));
      break;
    case 'registered':
      w.u8(RelayMessageType.Registered);
      break;
    case 'serve':
      if (m.ids.length > MAX_SERVED_IDS) throw new ProtocolError(ErrorCode.LimitExceeded, `a host serves at most ${MAX_SERVED_IDS} rendezvous ids`, { context: 'relay', field: 'ids' });
      w.u8(RelayMessageType.Serve).u16(m.ids.length);
      for (const id of m.ids) w.bytes(fixed(id, RENDEZVOUS_ID_BYTES, 'id'));
      break;
    case 'incoming':
      w.u8(RelayMessageType.Incoming).bytes(fixed(m.token, PAIRING_TOKEN_BYTES, 'token'));
      if (!PEER_RE.test(m.peer)) throw new ProtocolError(ErrorCode.InvalidField, `relay peer must be 1 to ${MAX_PEER_CHARS} printable ascii characters`, { context: 'relay', field: 'peer' });
      w.u8(m.peer.length).utf8(m.peer);
      break;
    case 'connect':
      w.u8(RelayMessageType.Connect).u8(RELAY_VERSION).bytes(fixed(m.id, RENDEZVOUS_ID_BYTES, 'id'));
      break;
    case 'accept':
      w.u8(RelayMessageType.Accept).u8(RELAY_VERSION).bytes(fixed(m.token, PAIRING_TOKEN_BYTES, 'token'));
      break;
    case 'paired':
      w.u8(RelayMessageType.Paired);
      break;
    case 'refused':
      if (!(Number.isInteger(m.code) && m.code >= 1 && m.code <= 255)) throw new ProtocolError(ErrorCode.InvalidField, 'refusal code must be 1..255', { context: 'relay', field: 'code' });
      w.u8(RelayMessageType.Refused).u8(m.code);
      break;
    case 'redirect':
      if (!isRedirectUrl(m.url)) throw new ProtocolError(ErrorCode.InvalidField, `a redirect names a ws:// or wss:// url of at most ${MAX_REDIRECT_URL_CHARS} printable ascii characters`, { context: 'relay', field: 'url' });
      w.u8(RelayMessageType.Redirect).u8(m.url.length).utf8(m.url);
      break;
  }
  return w.toBytes();
}

/**
 * Decodes one relay message, strictly: exact lengths, known type, known version, no trailing bytes.
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNKNOWN_MESSAGE, TESSERA_ERR_UNSUPPORTED_VERSION,
 *   TESSERA_ERR_TRAILING_BYTES, TESSERA_ERR_LIMIT_EXCEEDED, TESSERA_ERR_INVALID_FIELD
 */
export function decodeRelayMessage(bytes: Uint8Array): RelayMessage {
  if (bytes.byteLength > MAX_RELAY_MESSAGE_BYTES) {
    throw new ProtocolError(ErrorCode.LimitExceeded, `relay message of ${bytes.byteLength} bytes is over ${MAX_RELAY_MESSAGE_BYTES}`, { context: 'relay', received: bytes.byteLength, expected: MAX_RELAY_MESSAGE_BYTES });
  }
  const r = new ByteReader(bytes, 'relay');
  const type = r.u8('type');
  let m: RelayMessage;
  switch (type) {
    case RelayMessageType.Challenge:
      version(r);
      m = { type: 'challenge', nonce: r.bytesCopy(RELAY_NONCE_BYTES, 'nonce'), relayKey: r.bytesCopy(32, 'relayKey') };
      break;
    case RelayMessageType.Register:
      version(r);
      m = { type: 'register', hostKey: r.bytesCopy(32, 'hostKey'), mac: r.bytesCopy(RELAY_MAC_BYTES, 'mac') };
      break;
    case RelayMessageType.Registered:
      m = { type: 'registered' };
      break;
    case RelayMessageType.Serve: {
      const n = r.u16('count');
      if (n > MAX_SERVED_IDS) throw new ProtocolError(ErrorCode.LimitExceeded, `serve lists ${n} ids, over ${MAX_SERVED_IDS}`, { context: 'relay', field: 'count', received: n, expected: MAX_SERVED_IDS });
      r.need(n * RENDEZVOUS_ID_BYTES, 'ids');
      const ids: Uint8Array[] = [];
      for (let i = 0; i < n; i++) ids.push(r.bytesCopy(RENDEZVOUS_ID_BYTES, 'id'));
      m = { type: 'serve', ids };
      break;
    }
    case RelayMessageType.Incoming:
    {
      const token = r.bytesCopy(PAIRING_TOKEN_BYTES, 'token');
      const n = r.u8('peerLength');
      if (n < 1 || n > MAX_PEER_CHARS) throw new ProtocolError(ErrorCode.InvalidField, `relay peer must be 1 to ${MAX_PEER_CHARS} characters`, { context: 'relay', field: 'peer', received: n });
      const peer = r.utf8(n, 'peer');
      if (!PEER_RE.test(peer)) throw new ProtocolError(ErrorCode.InvalidField, 'relay peer must be printable ascii', { context: 'relay', field: 'peer' });
      m = { type: 'incoming', token, peer };
    }
      break;
    case RelayMessageType.Connect:
      version(r);
      m = { type: 'connect', id: r.bytesCopy(RENDEZVOUS_ID_BYTES, 'id') };
      break;
    case RelayMessageType.Accept:
      version(r);
      m = { type: 'accept', token: r.bytesCopy(PAIRING_TOKEN_BYTES, 'token') };
      break;
    case RelayMessageType.Paired:
      m = { type: 'paired' };
      break;
    case RelayMessageType.Refused: {
      const code = r.u8('code');
      if (code === 0) throw new ProtocolError(ErrorCode.InvalidField, 'relay refusal code 0', { context: 'relay', field: 'code' });
      m = { type: 'refused', code };
      break;
    }
    case RelayMessageType.Redirect: {
      const n = r.u8('urlLength');
      const url = r.utf8(n, 'url');
      if (!isRedirectUrl(url)) throw new ProtocolError(ErrorCode.InvalidField, 'a redirect must name a ws:// or wss:// url in printable ascii', { context: 'relay', field: 'url', received: n });
      m = { type: 'redirect', url };
      break;
    }
    default:
      throw new ProtocolError(ErrorCode.UnknownMessage, `unknown relay message type ${type}`, { context: 'relay', field: 'type', received: type });
  }
  r.end();
  return m;
}

/** The registration key: HKDF-SHA-512(salt = nonce, ikm = X25519 shared secret, info = RELAY_REGISTER_LABEL, 32). */
function registrationKey(shared: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdf(nonce, shared, utf8(RELAY_REGISTER_LABEL), 32);
}

/**
 * The host's registration proof: HMAC-SHA-512(key, nonce ‖ relayKey ‖ hostPublicKey) with the registration key
 * from DH(hostSecret, relayKey). Only the holder of the host key's secret can compute it.
 * @throws {ProtocolError} TESSERA_ERR_INVALID_FIELD when the relay key is of low order
 */
export function relayRegisterMac(hostSecretKey: Uint8Array, hostPublicKey: Uint8Array, nonce: Uint8Array, relayKey: Uint8Array): Uint8Array {
  const key = registrationKey(dh(hostSecretKey, relayKey, 'relay challenge'), nonce);
  return hmacSha512(key, nonce, relayKey, hostPublicKey);
}

/** The relay's check of a registration proof, with DH(relayEphemeralSecret, hostPublicKey); constant time. */
export function verifyRelayRegisterMac(relaySecretKey: Uint8Array, relayKey: Uint8Array, nonce: Uint8Array, hostPublicKey: Uint8Array, mac: Uint8Array): boolean {
  if (mac.byteLength !== RELAY_MAC_BYTES || hostPublicKey.byteLength !== 32) return false;
  let shared: Uint8Array;
  try {
    shared = dh(relaySecretKey, hostPublicKey, 'relay register');
  } catch {
    return false;
  }
  const want = hmacSha512(registrationKey(shared, nonce), nonce, relayKey, hostPublicKey);
  let diff = 0;
  for (let i = 0; i < RELAY_MAC_BYTES; i++) diff |= want[i]! ^ mac[i]!;
  return diff === 0;
}

/**
 * The rendezvous id of a ticket: HKDF-SHA-512(salt = ticketId, ikm = hostSecretKey, info = RENDEZVOUS_LABEL, 16).
 * Unguessable without the host's secret, independent of the ticket secret and the password, and recomputed by the
 * host from its ticket store, so nothing new is stored.
 */
export function rendezvousId(hostSecretKey: Uint8Array, ticketId: Uint8Array): Uint8Array {
  return hkdf(ticketId, hostSecretKey, utf8(RENDEZVOUS_LABEL), RENDEZVOUS_ID_BYTES);
}

/**
 * The offer rendezvous id of a host: HKDF-SHA-512(salt = "", ikm = hostPublicKey, info = OFFER_RENDEZVOUS_LABEL, 16).
 * Anyone who knows the host key (an allow-listed helper offering help) computes it; a relay reserves it for the host
 * that proved that key, so nobody else can serve it (spec/relay.md §5.1).
 */
export function offerRendezvousId(hostPublicKey: Uint8Array): Uint8Array {
  return hkdf(new Uint8Array(0), fixed(hostPublicKey, 32, 'hostKey'), utf8(OFFER_RENDEZVOUS_LABEL), RENDEZVOUS_ID_BYTES);
}

/** Whether a text is a relay URL a Redirect may carry: ws:// or wss://, printable ASCII, at most 255 characters. */
export function isRedirectUrl(url: string): boolean {
  if (typeof url !== 'string' || url.length > MAX_REDIRECT_URL_CHARS || !REDIRECT_RE.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname !== '' && u.username === '' && u.password === '' && u.hash === '' && u.search === '';
  } catch {
    return false;
  }
}

/** A short, non-reversible tag of an id or key for logs: the first 6 bytes of SHA-512, hex. */
export function shortHash(bytes: Uint8Array): string {
  return toHex(sha512(bytes).subarray(0, 6));
}

/** base64url of a rendezvous id. */
export function formatRendezvousId(id: Uint8Array): string {
  return toBase64Url(id);
}

/** Parses a base64url rendezvous id; undefined when it is not 16 bytes. */
export function parseRendezvousId(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return undefined;
  const b = fromBase64(text);
  return b && b.byteLength === RENDEZVOUS_ID_BYTES ? b : undefined;
}

/** Hex of bytes, for map keys. */
export function idKey(id: Uint8Array): string {
  return toHex(id);
}

function version(r: ByteReader): void {
  const v = r.u8('version');
  if (v !== RELAY_VERSION) throw new ProtocolError(ErrorCode.UnsupportedVersion, `unsupported relay protocol version ${v}`, { context: 'relay', field: 'version', received: v, expected: RELAY_VERSION });
}

function fixed(b: Uint8Array, n: number, field: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.byteLength !== n) throw new ProtocolError(ErrorCode.InvalidField, `relay ${field} must be ${n} bytes`, { context: 'relay', field });
  return b;
}
