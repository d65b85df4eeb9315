/**
 * Handshake message layouts, byte by byte (spec/handshake.md §3). All integers big-endian.
 * Each message is the payload of one frame on Channel.Handshake (0). Decoders are total: any input either
 * decodes or throws a ProtocolError with a code.
 */
import { decode as mpDecode, encode as mpEncode } from '@msgpack/msgpack';
import { ByteReader, ByteWriter, ErrorCode, ProtocolError, invalidField } from '../core/index.js';
import {
  AuthKind,
  DH_BYTES,
  HANDSHAKE_VERSION,
  MAX_CAPS_BYTES,
  MAX_CIPHERS,
  MAX_SCREEN_PX,
  MessageType,
  MODE_WIRE,
  SIGNATURE_BYTES,
  SIGN_PUBLIC_BYTES,
  TAG_BYTES,
  TICKET_ID_BYTES,
  modeFromWire,
  type Mode,
} from './constants.js';
import { WIRE_REFUSALS, refusalFromWire, type Refusal } from './refusal.js';

/** Codec capabilities carried in Welcome: a small map filled by the session layer. */
export type CodecCaps = Readonly<Record<string, number | string | boolean>>;
/** Most entries in CodecCaps. */
export const MAX_CAPS_ENTRIES = 32;

/** ClientHello: type, version, ephemeral key, offered ciphers. */
export interface ClientHello {
  readonly version: number;
  readonly ephemeral: Uint8Array;
  readonly ciphers: readonly number[];
}
/** ServerHello: type, ephemeral key, chosen cipher, confirmation tag. */
export interface ServerHello {
  readonly ephemeral: Uint8Array;
  readonly cipher: number;
  readonly tag: Uint8Array;
}
/** Auth payload (sent encrypted). */
export type AuthPayload =
  | {
      readonly kind: 'ticket';
      readonly mode: Mode;
      readonly ticketId: Uint8Array;
      /** The helper's holder key for this invitation (Ed25519 public key, §3.3). */
      readonly holder: Uint8Array;
      readonly ticketSig: Uint8Array;
      readonly holderSig: Uint8Array;
      readonly passwordSig?: Uint8Array | undefined;
    }
  | { readonly kind: 'offer'; readonly mode: Mode; readonly identity: Uint8Array; readonly signature: Uint8Array };
/** Welcome payload (sent encrypted). */
export interface WelcomePayload {
  readonly mode: Mode;
  readonly width: number;
  readonly height: number;
  readonly codecs: CodecCaps;
}

/** Fixed part of ClientHello before the cipher list. */
const CLIENT_HELLO_FIXED = 1 /* type */ + 1 /* version */ + DH_BYTES /* ephemeral */ + 1; /* cipherCount */
/** ServerHello size. */
export const SERVER_HELLO_BYTES = 1 /* type */ + DH_BYTES /* ephemeral */ + 1 /* cipher */ + TAG_BYTES; /* tag */
/** Refusal size. */
export const REFUSAL_BYTES = 1 /* type */ + 2; /* code */
/** Sealed refusal size: type, then the sealed code. */
export const SEALED_REFUSAL_BYTES = 1 /* type */ + 2 /* code */ + TAG_BYTES;

/** The type byte of a handshake message. @throws {ProtocolError} on empty input */
export function messageType(bytes: Uint8Array): number {
  return new ByteReader(bytes, 'handshake-message').u8('type');
}

export function encodeClientHello(m: ClientHello): Uint8Array {
  const w = new ByteWriter(CLIENT_HELLO_FIXED + m.ciphers.length);
  w.u8(MessageType.ClientHello).u8(m.version).bytes(m.ephemeral).u8(m.ciphers.length);
  for (const c of m.ciphers) w.u8(c);
  return w.toBytes();
}

/**
 * Decodes ClientHello. A version other than 1 is TESSERA_ERR_UNSUPPORTED_VERSION, checked before the rest
 * (later versions may lay the rest out differently).
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNEXPECTED_MESSAGE, TESSERA_ERR_UNSUPPORTED_VERSION,
 *   TESSERA_ERR_INVALID_FIELD, TESSERA_ERR_TRAILING_BYTES
 */
export function decodeClientHello(bytes: Uint8Array): ClientHello {
  const r = new ByteReader(bytes, 'client-hello');
  expectType(r, MessageType.ClientHello, 'client-hello');
  const version = r.u8('version');
  if (version !== HANDSHAKE_VERSION) {
    throw new ProtocolError(ErrorCode.UnsupportedVersion, `unsupported handshake version ${version}`, {
      context: 'client-hello',
      field: 'version',
      offset: 1,
      expected: HANDSHAKE_VERSION,
      received: version,
    });
  }
  const ephemeral = r.bytesCopy(DH_BYTES, 'ephemeral');
  const countAt = r.offset;
  const count = r.u8('cipherCount');
  if (count < 1 || count > MAX_CIPHERS) throw invalidField('client-hello', 'cipherCount', countAt, `must be 1 to ${MAX_CIPHERS}`, count);
  const ciphers: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const c = r.u8('cipher');
    if (c === 0 || ciphers.includes(c)) throw invalidField('client-hello', 'cipher', at, 'must be non-zero and not repeated', c);
    ciphers.push(c);
  }
  r.end();
  return { version, ephemeral, ciphers };
}

export function encodeServerHello(m: ServerHello): Uint8Array {
  return new ByteWriter(SERVER_HELLO_BYTES).u8(MessageType.ServerHello).bytes(m.ephemeral).u8(m.cipher).bytes(m.tag).toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNEXPECTED_MESSAGE, TESSERA_ERR_TRAILING_BYTES */
export function decodeServerHello(bytes: Uint8Array): ServerHello {
  const r = new ByteReader(bytes, 'server-hello');
  expectType(r, MessageType.ServerHello, 'server-hello');
  r.need(SERVER_HELLO_BYTES - 1, 'body');
  const ephemeral = r.bytesCopy(DH_BYTES, 'ephemeral');
  const cipher = r.u8('cipher');
  const tag = r.bytesCopy(TAG_BYTES, 'tag');
  r.end();
  return { ephemeral, cipher, tag };
}

/** Auth and Welcome: type byte then ciphertext (at least the 16-byte tag). */
export function encodeSealed(type: number, ciphertext: Uint8Array): Uint8Array {
  return new ByteWriter(1 + ciphertext.byteLength).u8(type).bytes(ciphertext).toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNEXPECTED_MESSAGE */
export function decodeSealed(bytes: Uint8Array, type: number, context: string): Uint8Array {
  const r = new ByteReader(bytes, context);
  expectType(r, type, context);
  r.need(TAG_BYTES, 'ciphertext');
  return r.bytesCopy(r.remaining, 'ciphertext');
}

export function encodeAuthPayload(p: AuthPayload): Uint8Array {
  const w = new ByteWriter(256);
  w.u8(p.kind === 'ticket' ? AuthKind.Ticket : AuthKind.Offer).u8(MODE_WIRE[p.mode]);
  if (p.kind === 'ticket') {
    w.bytes(p.ticketId).u8(p.passwordSig ? 1 : 0).bytes(p.holder).bytes(p.ticketSig).bytes(p.holderSig);
    if (p.passwordSig) w.bytes(p.passwordSig);
  } else {
    w.bytes(p.identity).bytes(p.signature);
  }
  return w.toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_INVALID_FIELD, TESSERA_ERR_TRAILING_BYTES */
export function decodeAuthPayload(bytes: Uint8Array): AuthPayload {
  const r = new ByteReader(bytes, 'auth');
  const kind = r.u8('kind');
  const mode = readMode(r, 'auth');
  let p: AuthPayload;
  if (kind === AuthKind.Ticket) {
    const ticketId = r.bytesCopy(TICKET_ID_BYTES, 'ticketId');
    const flagsAt = r.offset;
    const flags = r.u8('flags');
    if (flags & ~1) throw invalidField('auth', 'flags', flagsAt, 'has unknown bits set', flags);
    const holder = r.bytesCopy(SIGN_PUBLIC_BYTES, 'holder');
    const ticketSig = r.bytesCopy(SIGNATURE_BYTES, 'ticketSignature');
    const holderSig = r.bytesCopy(SIGNATURE_BYTES, 'holderSignature');
    const passwordSig = flags & 1 ? r.bytesCopy(SIGNATURE_BYTES, 'passwordSignature') : undefined;
    p = { kind: 'ticket', mode, ticketId, holder, ticketSig, holderSig, passwordSig };
  } else if (kind === AuthKind.Offer) {
    const identity = r.bytesCopy(SIGN_PUBLIC_BYTES, 'identity');
    const signature = r.bytesCopy(SIGNATURE_BYTES, 'signature');
    p = { kind: 'offer', mode, identity, signature };
  } else {
    throw invalidField('auth', 'kind', 0, 'must be 1 (ticket) or 2 (offer)', kind);
  }
  r.end();
  return p;
}

/** @throws {ProtocolError} TESSERA_ERR_INVALID_FIELD when the caps are too large or of the wrong shape */
export function encodeWelcomePayload(p: WelcomePayload): Uint8Array {
  const caps = encodeCaps(p.codecs);
  return new ByteWriter(7 + caps.byteLength).u8(MODE_WIRE[p.mode]).u16(p.width).u16(p.height).u16(caps.byteLength).bytes(caps).toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_INVALID_FIELD, TESSERA_ERR_TRAILING_BYTES */
export function decodeWelcomePayload(bytes: Uint8Array): WelcomePayload {
  const r = new ByteReader(bytes, 'welcome');
  const mode = readMode(r, 'welcome');
  const width = r.u16('width');
  const height = r.u16('height');
  if (width > MAX_SCREEN_PX || height > MAX_SCREEN_PX) throw invalidField('welcome', 'width', 1, `must be at most ${MAX_SCREEN_PX} per edge`);
  const capsAt = r.offset;
  const capsLen = r.u16('capsLength');
  if (capsLen > MAX_CAPS_BYTES) throw invalidField('welcome', 'capsLength', capsAt, `must be at most ${MAX_CAPS_BYTES}`, capsLen);
  const codecs = decodeCaps(r.bytesView(capsLen, 'caps'), capsAt + 2);
  r.end();
  return { mode, width, height, codecs };
}

export function encodeRefusal(wire: number): Uint8Array {
  return new ByteWriter(REFUSAL_BYTES).u8(MessageType.Refusal).u16(wire).toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_INVALID_FIELD (unknown code), TESSERA_ERR_TRAILING_BYTES */
export function decodeRefusal(bytes: Uint8Array): Refusal {
  const r = new ByteReader(bytes, 'refusal');
  expectType(r, MessageType.Refusal, 'refusal');
  const refusal = readRefusalCode(r, 'refusal', 1);
  r.end();
  return refusal;
}

/** The plaintext of a sealed refusal: the code (u16). */
export function encodeRefusalCode(wire: number): Uint8Array {
  return new ByteWriter(2).u16(wire).toBytes();
}

/** @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_INVALID_FIELD (unknown code), TESSERA_ERR_TRAILING_BYTES */
export function decodeRefusalCode(bytes: Uint8Array): Refusal {
  const r = new ByteReader(bytes, 'sealed-refusal');
  const refusal = readRefusalCode(r, 'sealed-refusal', 0);
  r.end();
  return refusal;
}

/**
 * The sealed refusal's ciphertext (exactly the code and its tag, §3.6).
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNEXPECTED_MESSAGE, TESSERA_ERR_TRAILING_BYTES
 */
export function decodeSealedRefusal(bytes: Uint8Array): Uint8Array {
  const r = new ByteReader(bytes, 'sealed-refusal');
  expectType(r, MessageType.SealedRefusal, 'sealed-refusal');
  const ct = r.bytesCopy(SEALED_REFUSAL_BYTES - 1, 'ciphertext');
  r.end();
  return ct;
}

function readRefusalCode(r: ByteReader, context: string, at: number): Refusal {
  const code = r.u16('code');
  const refusal = refusalFromWire(code);
  if (refusal === undefined || !WIRE_REFUSALS.has(code)) throw invalidField(context, 'code', at, 'is not a known refusal code', code);
  return refusal;
}

function expectType(r: ByteReader, type: number, context: string): void {
  const got = r.u8('type');
  if (got !== type) {
    throw new ProtocolError(ErrorCode.UnexpectedMessage, `expected ${context} (type ${type}), got type ${got}`, {
      context,
      field: 'type',
      offset: 0,
      expected: type,
      received: got,
    });
  }
}

function readMode(r: ByteReader, context: string): Mode {
  const at = r.offset;
  const n = r.u8('mode');
  const mode = modeFromWire(n);
  if (mode === undefined) throw invalidField(context, 'mode', at, 'must be 1 (view) or 2 (control)', n);
  return mode;
}

function encodeCaps(caps: CodecCaps): Uint8Array {
  const keys = Object.keys(caps);
  if (keys.length > MAX_CAPS_ENTRIES) throw invalidField('welcome', 'caps', 0, `must have at most ${MAX_CAPS_ENTRIES} entries`);
  const bytes = mpEncode(caps);
  if (bytes.byteLength > MAX_CAPS_BYTES) throw invalidField('welcome', 'caps', 0, `must encode to at most ${MAX_CAPS_BYTES} bytes`);
  return bytes;
}

function decodeCaps(bytes: Uint8Array, at: number): CodecCaps {
  let v: unknown;
  try {
    v = mpDecode(bytes, { maxStrLength: 256, maxBinLength: 0, maxArrayLength: 0, maxMapLength: MAX_CAPS_ENTRIES, maxExtLength: 0 });
  } catch {
    throw invalidField('welcome', 'caps', at, 'is not a valid msgpack map');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw invalidField('welcome', 'caps', at, 'must be a msgpack map');
  const out: Record<string, number | string | boolean> = Object.create(null);
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k.length > 64 || !(typeof val === 'number' || typeof val === 'string' || typeof val === 'boolean')) {
      throw invalidField('welcome', 'caps', at, 'entries must map short strings to numbers, strings or booleans');
    }
    out[k] = val;
  }
  return Object.freeze(out);
}
