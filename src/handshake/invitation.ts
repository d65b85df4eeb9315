/**
 * Invitations (spec/handshake.md §2): what the host gives a helper, in three forms:
 * the object (`Invitation`), a versioned text file (`*.tessera`), and a `tessera://HOST:PORT/#...` URL
 * whose fragment is base64url of a compact binary form. Pure: the clock and randomness are injected.
 */
import { ByteReader, ByteWriter, ErrorCode, INSPECT, TesseraError, ConfigError, toHex, fromHex, type Clock, type Random, type ErrorCode as Code } from '../core/index.js';
import {
  DEFAULT_PORT,
  INVITATION_VERSION,
  PASSWORD_SALT_BYTES,
  TICKET_ID_BYTES,
  TICKET_SECRET_BYTES,
  DH_BYTES,
  leastMode,
  type Mode,
} from './constants.js';
import { fromBase64, sha512, toBase64Url } from './crypto.js';
import { RENDEZVOUS_ID_BYTES, shortHash } from './relay.js';
import { DEFAULT_POLICY, durationMs, parseDuration, type Duration, type Policy } from './policy.js';
import { passwordVerifier, ticketVerifier, type PasswordKdf, type TicketRecord } from './ticket.js';

/** Where a helper may connect. */
export interface InvitationAddress {
  /** Host name, IPv4 address, or IPv6 address (without brackets). */
  readonly host: string;
  readonly port: number;
}

/** A relay where the host waits (spec/relay.md): its WebSocket URL and the invitation's rendezvous id. */
export interface InvitationRelay {
  /** `ws://` or `wss://` URL of the relay (at most 200 characters, no fragment, no credentials). */
  readonly url: string;
  /** 16 bytes: the rendezvous id the host registered for this invitation. */
  readonly id: Uint8Array;
}

/** Fields of an invitation. */
export interface InvitationFields {
  readonly ticketId: Uint8Array;
  readonly hostKey: Uint8Array;
  readonly secret: Uint8Array;
  readonly addresses: readonly InvitationAddress[];
  readonly createdMs: number;
  readonly expiresMs: number;
  readonly mode: Mode;
  readonly passwordSalt?: Uint8Array | undefined;
  readonly name: string;
  /** The relay, when the host also waits at one; then `addresses` may be empty. */
  readonly relay?: InvitationRelay | undefined;
}

/** Invitation errors: TESSERA_ERR_INVALID_INVITATION, TESSERA_ERR_UNSUPPORTED_VERSION, TESSERA_ERR_INVITATION_EXPIRED. */
export class InvitationError extends TesseraError {}

/** Most addresses in one invitation. */
export const MAX_ADDRESSES = 8;
/** Most UTF-8 bytes in a display name. */
export const MAX_NAME_BYTES = 96;
/** Most characters of a relay URL. */
export const MAX_RELAY_URL_CHARS = 200;
/** Most characters accepted by readInvitation. */
export const MAX_INVITATION_CHARS = 8192;
const HEADER = 'tessera-invitation';
const URL_SCHEME = 'tessera://';
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^(?=.{2,45}$)[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
const MAX_TICKET_LIFETIME_MS = 30 * 86_400_000;

/** An invitation. Its util.inspect and toJSON omit the secret. */
export class Invitation implements InvitationFields {
  readonly version = INVITATION_VERSION;
  readonly ticketId: Uint8Array;
  readonly hostKey: Uint8Array;
  readonly secret: Uint8Array;
  readonly addresses: readonly InvitationAddress[];
  readonly createdMs: number;
  readonly expiresMs: number;
  readonly mode: Mode;
  readonly passwordSalt: Uint8Array | undefined;
  readonly name: string;
  readonly relay: InvitationRelay | undefined;

  /** @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION when a field is out of range */
  constructor(f: InvitationFields) {
    check(f.ticketId.byteLength === TICKET_ID_BYTES, 'ticket id must be 16 bytes');
    check(f.hostKey.byteLength === DH_BYTES, 'host key must be 32 bytes');
    check(f.secret.byteLength === TICKET_SECRET_BYTES, 'secret must be 32 bytes');
    check(f.passwordSalt === undefined || f.passwordSalt.byteLength === PASSWORD_SALT_BYTES, 'password salt must be 16 bytes');
    if (f.relay !== undefined) checkRelay(f.relay);
    const minAddresses = f.relay ? 0 : 1;
    check(f.addresses.length >= minAddresses && f.addresses.length <= MAX_ADDRESSES, `must list ${minAddresses} to ${MAX_ADDRESSES} addresses`);
    for (const a of f.addresses) checkAddress(a);
    check(Number.isInteger(f.createdMs / 1000) && f.createdMs >= 0 && f.createdMs <= 0xffffffff * 1000, 'creation time must be whole seconds within 1970..2106');
    check(Number.isInteger(f.expiresMs / 1000) && f.expiresMs <= 0xffffffff * 1000, 'expiry must be whole seconds within 1970..2106');
    check(f.expiresMs > f.createdMs, 'expiry must be after creation');
    check(f.expiresMs - f.createdMs <= MAX_TICKET_LIFETIME_MS, 'lifetime must be at most 30 days');
    check(f.mode === 'view' || f.mode === 'control', 'mode must be view or control');
    checkName(f.name);
    this.ticketId = f.ticketId.slice();
    this.hostKey = f.hostKey.slice();
    this.secret = f.secret.slice();
    this.addresses = Object.freeze(f.addresses.map((a) => Object.freeze({ host: a.host, port: a.port })));
    this.createdMs = f.createdMs;
    this.expiresMs = f.expiresMs;
    this.mode = f.mode;
    this.passwordSalt = f.passwordSalt?.slice();
    this.name = f.name;
    this.relay = f.relay ? Object.freeze({ url: f.relay.url, id: f.relay.id.slice() }) : undefined;
    Object.freeze(this);
  }

  /** True when the helper must also know a password. */
  get passwordRequired(): boolean {
    return this.passwordSalt !== undefined;
  }

  /** Ticket id as 32 hex digits (the id used by ticket stores and the audit log). */
  get ticketIdHex(): string {
    return toHex(this.ticketId);
  }

  /** The versioned text form (a `*.tessera` file). */
  toText(): string {
    const lines = [
      `${HEADER} ${INVITATION_VERSION}`,
      `name: ${this.name}`,
      `ticket: ${toHex(this.ticketId)}`,
      `host-key: ${toBase64Url(this.hostKey)}`,
      `secret: ${toBase64Url(this.secret)}`,
      `mode: ${this.mode}`,
      `password: ${this.passwordSalt ? `required ${toBase64Url(this.passwordSalt)}` : 'none'}`,
      `created: ${iso(this.createdMs)}`,
      `expires: ${iso(this.expiresMs)}`,
      ...this.addresses.map((a) => `address: ${formatAddress(a)}`),
      ...(this.relay ? [`relay: ${this.relay.url}`, `rendezvous: ${toBase64Url(this.relay.id)}`] : []),
    ];
    return lines.join('\n') + '\n';
  }

  /** The compact binary form (spec/handshake.md §2.3). */
  toBinary(): Uint8Array {
    const w = new ByteWriter(256);
    w.u8(INVITATION_VERSION);
    w.u8((this.mode === 'control' ? 1 : 0) | (this.passwordSalt ? 2 : 0) | (this.relay ? 4 : 0));
    w.bytes(this.ticketId).bytes(this.hostKey).bytes(this.secret);
    w.u32(this.createdMs / 1000).u32(this.expiresMs / 1000);
    if (this.passwordSalt) w.bytes(this.passwordSalt);
    w.u8(this.addresses.length);
    for (const a of this.addresses) {
      w.u8(a.host.length);
      w.utf8(a.host);
      w.u16(a.port);
    }
    const name = new TextEncoder().encode(this.name);
    w.u8(name.byteLength).bytes(name);
    if (this.relay) {
      w.u8(this.relay.url.length);
      w.utf8(this.relay.url);
      w.bytes(this.relay.id);
    }
    return w.toBytes();
  }

  /** The URL form `tessera://HOST:PORT/#<base64url(binary)>`; HOST:PORT is the first address, else the relay's. */
  toUrl(): string {
    return `${URL_SCHEME}${formatAddress(this.addresses[0] ?? relayAuthority(this.relay!.url))}/#${toBase64Url(this.toBinary())}`;
  }

  /** Same as describeInvitation(this). */
  describe(): string {
    return describeInvitation(this);
  }

  [INSPECT](): string {
    return `Invitation ${JSON.stringify(this.toJSON(), null, 2)}`;
  }

  /** A JSON view without the secret. */
  toJSON(): object {
    return {
      version: this.version,
      name: this.name,
      ticketId: this.ticketIdHex,
      hostKey: toBase64Url(this.hostKey),
      addresses: this.addresses.map(formatAddress),
      ...(this.relay ? { relay: this.relay.url, rendezvous: shortHash(this.relay.id) } : {}),
      mode: this.mode,
      passwordRequired: this.passwordRequired,
      created: iso(this.createdMs),
      expires: iso(this.expiresMs),
    };
  }
}

/** Options of createInvitation. */
export interface CreateInvitationOptions {
  /** The host's static X25519 public key. */
  readonly hostKey: Uint8Array;
  /** "host", "host:port", "[v6]:port" or address objects; the default port is 3389. */
  readonly addresses: readonly (string | InvitationAddress)[];
  /** Lifetime; capped by policy.solicited.maxTicketTime. */
  readonly expires: Duration;
  /** Mode offered (default control); capped by policy.solicited.permit. */
  readonly mode?: Mode;
  /** When set, the helper must also know this password. Needs `kdf`. */
  readonly password?: string;
  /** Display name shown to the helper (host or user name). */
  readonly name: string;
  /** The relay where the host also waits; the rendezvous id comes from `relayId(ticketId)`. */
  readonly relayUrl?: string;
  /** The rendezvous id for a ticket (src/handshake/relay.ts rendezvousId with the host's secret). */
  readonly relayId?: (ticketId: Uint8Array) => Uint8Array;
  readonly policy?: Policy;
  readonly now: Clock;
  readonly random: Random;
  /** Password KDF (src/node: scryptKdf); required when `password` is set. */
  readonly kdf?: PasswordKdf;
  /** Most different helpers the invitation admits (default 1); capped by policy.solicited.maxUses. */
  readonly uses?: number;
}

/** What createInvitation returns: the invitation for the helper and the ticket for the host's store. */
export interface CreatedInvitation {
  readonly invitation: Invitation;
  /** Store this in the host's TicketStore; it holds no secret. */
  readonly ticket: TicketRecord;
  /** True when the policy shortened the lifetime, lowered the mode or the uses. */
  readonly capped: boolean;
}

/**
 * Creates an invitation and its ticket record. Times are whole seconds.
 * @throws {ConfigError} when solicited help is disabled by policy or an option is invalid
 */
export function createInvitation(o: CreateInvitationOptions): CreatedInvitation {
  const policy = o.policy ?? DEFAULT_POLICY;
  if (!policy.solicited.enabled) throw new ConfigError('policy: solicited help is disabled', { field: 'solicited.enabled' });
  const wanted = durationMs(parseDuration(o.expires, 'invitation: expires'));
  const capMs = durationMs(policy.solicited.maxTicketTime);
  const lifetime = Math.min(wanted, capMs);
  const requestedMode = o.mode ?? 'control';
  if (requestedMode !== 'view' && requestedMode !== 'control') throw new ConfigError('invitation: mode must be view or control', { field: 'mode' });
  const mode = leastMode(requestedMode, policy.solicited.permit);
  const wantedUses = o.uses ?? 1;
  if (!(Number.isSafeInteger(wantedUses) && wantedUses >= 1)) throw new ConfigError('invitation: uses must be a positive integer', { field: 'uses' });
  const maxUses = Math.min(wantedUses, policy.solicited.maxUses);
  const createdMs = Math.floor(o.now() / 1000) * 1000;
  const ticketId = o.random(TICKET_ID_BYTES).slice(0, TICKET_ID_BYTES);
  const secret = o.random(TICKET_SECRET_BYTES).slice(0, TICKET_SECRET_BYTES);
  let passwordSalt: Uint8Array | undefined;
  let pwVerifier: Uint8Array | undefined;
  if (o.password !== undefined) {
    if (o.password.length === 0 || o.password.length > 1024) throw new ConfigError('invitation: password must be 1 to 1024 characters', { field: 'password' });
    if (!o.kdf) throw new ConfigError('invitation: a password needs a kdf', { field: 'kdf' });
    passwordSalt = o.random(PASSWORD_SALT_BYTES).slice(0, PASSWORD_SALT_BYTES);
    pwVerifier = passwordVerifier(o.kdf(o.password, passwordSalt), ticketId);
  }
  let addresses: InvitationAddress[];
  try {
    addresses = o.addresses.map((a) => (typeof a === 'string' ? parseAddress(a) : a));
  } catch (err) {
    throw new ConfigError(`invitation: ${(err as Error).message}`, { field: 'addresses', cause: err });
  }
  let invitation: Invitation;
  try {
    if (o.relayUrl !== undefined && !o.relayId) throw new ConfigError('invitation: a relay needs a rendezvous id', { field: 'relayId' });
    const relay = o.relayUrl !== undefined ? { url: o.relayUrl, id: o.relayId!(ticketId) } : undefined;
    invitation = new Invitation({ ticketId, hostKey: o.hostKey, secret, addresses, createdMs, expiresMs: createdMs + lifetime, mode, passwordSalt, name: o.name, relay });
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
  const ticket: TicketRecord = {
    id: toHex(ticketId),
    verifier: ticketVerifier(secret, ticketId),
    passwordVerifier: pwVerifier,
    passwordSalt,
    mode,
    createdMs,
    expiresMs: invitation.expiresMs,
    revoked: false,
    uses: 0,
    name: o.name,
    maxUses,
    holders: [],
  };
  return { invitation, ticket, capped: lifetime < wanted || mode !== requestedMode || maxUses < wantedUses };
}

/** Options of readInvitation. */
export interface ReadInvitationOptions {
  /** The current time (ms) or a clock; an invitation at or past its expiry is refused. */
  readonly now: number | Clock;
}

/**
 * Reads an invitation from its text form or its URL (spec/handshake.md §2), strictly.
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION (malformed), TESSERA_ERR_UNSUPPORTED_VERSION,
 *   TESSERA_ERR_INVITATION_EXPIRED (the message shows the expiry)
 */
export function readInvitation(input: string, options: ReadInvitationOptions): Invitation {
  if (typeof input !== 'string') throw invalid('input must be a string');
  if (input.length > MAX_INVITATION_CHARS) throw invalid(`input is longer than ${MAX_INVITATION_CHARS} characters`);
  const text = input.replace(/^\uFEFF/, '');
  const trimmed = text.trim();
  let inv: Invitation;
  if (trimmed.startsWith(URL_SCHEME)) inv = parseUrl(trimmed);
  else if (trimmed.startsWith(HEADER)) inv = parseText(text);
  // Not damage but the wrong thing altogether: its own context, so a reader can tell the two apart.
  else throw new InvitationError(ErrorCode.InvalidInvitation, 'invalid invitation: not a tessera invitation (expected a .tessera file or a tessera:// link)', { context: 'input' });
  const now = typeof options.now === 'function' ? options.now() : options.now;
  if (!(now < inv.expiresMs)) {
    throw new InvitationError(ErrorCode.InvitationExpired, `invitation expired at ${iso(inv.expiresMs)}`, {
      context: 'invitation',
      field: 'expires',
      expected: iso(inv.expiresMs),
    });
  }
  return inv;
}

/** Decodes the compact binary form (no expiry check). */
export function decodeInvitationBinary(bytes: Uint8Array): Invitation {
  try {
    const r = new ByteReader(bytes, 'invitation');
    const version = r.u8('version');
    if (version !== INVITATION_VERSION) throw unsupported(version);
    const flags = r.u8('flags');
    if (flags & ~7) throw invalid('flags has unknown bits set');
    const ticketId = r.bytesCopy(TICKET_ID_BYTES, 'ticketId');
    const hostKey = r.bytesCopy(DH_BYTES, 'hostKey');
    const secret = r.bytesCopy(TICKET_SECRET_BYTES, 'secret');
    const createdMs = r.u32('created') * 1000;
    const expiresMs = r.u32('expires') * 1000;
    const passwordSalt = flags & 2 ? r.bytesCopy(PASSWORD_SALT_BYTES, 'passwordSalt') : undefined;
    const count = r.u8('addressCount');
    const minAddresses = flags & 4 ? 0 : 1;
    if (count < minAddresses || count > MAX_ADDRESSES) throw invalid(`address count must be ${minAddresses} to ${MAX_ADDRESSES}`);
    const addresses: InvitationAddress[] = [];
    for (let i = 0; i < count; i++) {
      const host = r.utf8(r.u8('hostLength'), 'host');
      addresses.push({ host, port: r.u16('port') });
    }
    const name = r.utf8(r.u8('nameLength'), 'name');
    let relay: InvitationRelay | undefined;
    if (flags & 4) {
      const url = r.utf8(r.u8('relayUrlLength'), 'relayUrl');
      relay = { url, id: r.bytesCopy(RENDEZVOUS_ID_BYTES, 'rendezvous') };
    }
    r.end();
    return new Invitation({ ticketId, hostKey, secret, addresses, createdMs, expiresMs, mode: flags & 1 ? 'control' : 'view', passwordSalt, name, relay });
  } catch (err) {
    if (err instanceof InvitationError) throw err;
    throw invalid(err instanceof TesseraError ? err.message : 'binary form could not be decoded', err);
  }
}

/** A printable summary without the secret. */
export function describeInvitation(inv: Invitation): string {
  return [
    `Invitation from ${JSON.stringify(inv.name)}`,
    `  ticket:   ${inv.ticketIdHex}`,
    `  host key: ${toBase64Url(inv.hostKey)}`,
    `  connect:  ${inv.addresses.length > 0 ? inv.addresses.map(formatAddress).join(', ') : '(relay only)'}`,
    ...(inv.relay ? [`  relay:    ${inv.relay.url} (rendezvous ${shortHash(inv.relay.id)})`] : []),
    `  mode:     ${inv.mode}${inv.passwordRequired ? ', password required' : ''}`,
    `  created:  ${iso(inv.createdMs)}`,
    `  expires:  ${iso(inv.expiresMs)}`,
  ].join('\n');
}

/** A short fingerprint of a public key: the first 10 bytes of SHA-512, hex in groups of four. */
export function fingerprint(key: Uint8Array): string {
  return toHex(sha512(key).subarray(0, 10)).replace(/(.{4})(?!$)/g, '$1:');
}

/**
 * Parses "host", "host:port", "[v6]" or "[v6]:port"; the default port is 3389.
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION
 */
export function parseAddress(text: string): InvitationAddress {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (!IPV6_RE.test(host)) throw invalid('address has an invalid ipv6 host');
  } else {
    const at = text.lastIndexOf(':');
    host = at < 0 ? text : text.slice(0, at);
    portText = at < 0 ? undefined : text.slice(at + 1);
  }
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) throw invalid('address port must be 1 to 65535');
    port = Number(portText);
  }
  const a = { host, port };
  checkAddress(a);
  return a;
}

/** "host:port", with brackets around IPv6 hosts. */
export function formatAddress(a: InvitationAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** ISO 8601 UTC with whole seconds. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseIso(s: string, field: string): number {
  const m = ISO_RE.exec(s);
  if (!m) throw invalid(`${field} must be an ISO 8601 UTC time like 2030-01-31T12:00:00Z`);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (!Number.isFinite(ms) || iso(ms) !== s) throw invalid(`${field} is not a valid time`);
  return ms;
}

const TEXT_KEYS = ['name', 'ticket', 'host-key', 'secret', 'mode', 'password', 'created', 'expires', 'address', 'relay', 'rendezvous'] as const;
const OPTIONAL_KEYS: readonly string[] = ['address', 'relay', 'rendezvous'];

function parseText(text: string): Invitation {
  const lines = text.split(/\r?\n/);
  const first = lines[0]!.trim();
  const hm = /^tessera-invitation ([0-9]{1,6})$/.exec(first);
  if (!hm) throw invalid('line 1 must be "tessera-invitation 1"');
  const version = Number(hm[1]);
  if (version !== INVITATION_VERSION) throw unsupported(version);
  const seen = new Map<string, string>();
  const addresses: InvitationAddress[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(': ');
    const key = colon < 0 ? '' : line.slice(0, colon);
    if (!(TEXT_KEYS as readonly string[]).includes(key)) throw invalid(`line ${i + 1} is not a known "key: value" line`);
    const value = line.slice(colon + 2);
    if (key === 'address') {
      if (addresses.length >= MAX_ADDRESSES) throw invalid(`more than ${MAX_ADDRESSES} addresses`);
      addresses.push(parseAddress(value.trim()));
      continue;
    }
    if (seen.has(key)) throw invalid(`line ${i + 1} repeats ${key}`);
    seen.set(key, key === 'name' ? value : value.trim());
  }
  for (const k of TEXT_KEYS) if (!OPTIONAL_KEYS.includes(k) && !seen.has(k)) throw invalid(`missing ${k}`);
  if (seen.has('relay') !== seen.has('rendezvous')) throw invalid('relay and rendezvous go together');
  let relay: InvitationRelay | undefined;
  if (seen.has('relay')) {
    const id = /^[A-Za-z0-9_-]{22}$/.test(seen.get('rendezvous')!) ? fromBase64(seen.get('rendezvous')!) : undefined;
    if (!id || id.byteLength !== RENDEZVOUS_ID_BYTES) throw invalid('rendezvous must be 16 bytes in base64url');
    relay = { url: seen.get('relay')!, id };
  }
  if (addresses.length === 0 && !relay) throw invalid('missing address');
  const ticketId = fromHex(seen.get('ticket')!);
  if (!ticketId || ticketId.byteLength !== TICKET_ID_BYTES || !/^[0-9a-f]+$/.test(seen.get('ticket')!)) throw invalid('ticket must be 32 lowercase hex digits');
  const hostKey = fromBase64(seen.get('host-key')!);
  if (!hostKey || hostKey.byteLength !== DH_BYTES) throw invalid('host-key must be 32 bytes in base64url');
  const secret = fromBase64(seen.get('secret')!);
  if (!secret || secret.byteLength !== TICKET_SECRET_BYTES) throw invalid('secret must be 32 bytes in base64url');
  const mode = seen.get('mode');
  if (mode !== 'view' && mode !== 'control') throw invalid('mode must be view or control');
  const pw = seen.get('password')!;
  let passwordSalt: Uint8Array | undefined;
  if (pw !== 'none') {
    const pm = /^required ([A-Za-z0-9_-]+)$/.exec(pw);
    passwordSalt = pm ? fromBase64(pm[1]!) : undefined;
    if (!passwordSalt || passwordSalt.byteLength !== PASSWORD_SALT_BYTES) throw invalid('password must be "none" or "required <16-byte salt in base64url>"');
  }
  return build({
    ticketId,
    hostKey,
    secret,
    addresses,
    createdMs: parseIso(seen.get('created')!, 'created'),
    expiresMs: parseIso(seen.get('expires')!, 'expires'),
    mode,
    passwordSalt,
    name: seen.get('name')!,
    relay,
  });
}

function parseUrl(url: string): Invitation {
  const m = /^tessera:\/\/([^/#?]+)\/#([A-Za-z0-9_-]+)$/.exec(url);
  if (!m) throw invalid('url must be tessera://HOST:PORT/#DATA');
  const authority = parseAddress(m[1]!);
  const bytes = fromBase64(m[2]!);
  if (!bytes) throw invalid('url fragment is not base64url');
  const inv = decodeInvitationBinary(bytes);
  const first = inv.addresses[0] ?? relayAuthority(inv.relay!.url);
  if (first.host.toLowerCase() !== authority.host.toLowerCase() || first.port !== authority.port) {
    throw invalid('url host does not match the first address in the fragment');
  }
  return inv;
}

function build(f: InvitationFields): Invitation {
  try {
    return new Invitation(f);
  } catch (err) {
    if (err instanceof InvitationError) throw err;
    throw invalid('fields are out of range', err);
  }
}

function checkAddress(a: InvitationAddress): void {
  check(typeof a.host === 'string' && (HOSTNAME_RE.test(a.host) || IPV6_RE.test(a.host)), 'address host must be a host name, ipv4 or ipv6 address');
  check(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, 'address port must be 1 to 65535');
}

/** Checks a relay: a ws:// or wss:// URL with a host, no credentials, no fragment, at most 200 ASCII characters. */
function checkRelay(relay: InvitationRelay): void {
  check(relay.id instanceof Uint8Array && relay.id.byteLength === RENDEZVOUS_ID_BYTES, 'rendezvous id must be 16 bytes');
  check(typeof relay.url === 'string' && relay.url.length <= MAX_RELAY_URL_CHARS && /^[\x21-\x7e]+$/.test(relay.url), `relay url must be at most ${MAX_RELAY_URL_CHARS} printable ascii characters`);
  relayAuthority(relay.url);
}

/** The host and port of a relay URL (443 for wss, 80 for ws). */
export function relayAuthority(url: string): InvitationAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('relay url is not a url');
  }
  check(u.protocol === 'ws:' || u.protocol === 'wss:', 'relay url must start with ws:// or wss://');
  check(u.username === '' && u.password === '' && u.hash === '' && !url.includes('#'), 'relay url must not hold credentials or a fragment');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const a = { host, port: u.port === '' ? (u.protocol === 'wss:' ? 443 : 80) : Number(u.port) };
  checkAddress(a);
  return a;
}

function checkName(name: string): void {
  check(typeof name === 'string', 'name must be a string');
  check(new TextEncoder().encode(name).byteLength <= MAX_NAME_BYTES, `name must be at most ${MAX_NAME_BYTES} utf-8 bytes`);
  // eslint-disable-next-line no-control-regex
  check(!/[\u0000-\u001f\u007f]/.test(name) && name.trim() === name, 'name must not contain control characters or edge spaces');
}

function check(ok: boolean, why: string): void {
  if (!ok) throw invalid(why);
}

function invalid(why: string, cause?: unknown): InvitationError {
  return new InvitationError(ErrorCode.InvalidInvitation, `invalid invitation: ${why}`, cause === undefined ? { context: 'invitation' } : { context: 'invitation', cause });
}

function unsupported(version: number): InvitationError {
  return new InvitationError(ErrorCode.UnsupportedVersion as Code, `unsupported invitation version ${version} (this build reads version ${INVITATION_VERSION})`, {
    context: 'invitation',
    field: 'version',
    expected: INVITATION_VERSION,
    received: version,
  });
}
