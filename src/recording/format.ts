/**
 * Session recordings for audit (spec/recording.md): a hash chain of length-prefixed records (varint lengths and time
 * deltas, a 16-byte truncation of the SHA-256 chain value stored per record), sealed by an Ed25519 signature over the
 * full chain value, optionally encrypted to an auditor's X25519 key in chunks. Pure and browser-safe: the writer hands its
 * bytes to a sink, the reader takes a whole file as bytes; files, clocks and keys on disk are src/node/recording-file.ts.
 */
import nacl from 'tweetnacl';
import { decode as mpDecode, encode as mpEncode } from '@msgpack/msgpack';
import { ErrorCode, StateError, TesseraError } from '../core/errors.js';
import { sha256 } from '../handshake/scrypt.js';
import { decodeInputBatch, encodeInputBatch } from '../input/input-batch.js';
import type { InputEvent } from '../input/events.js';
import type { DropReason } from '../input/input-gate.js';
import { decodeCursorMessage, type CursorMessage } from '../session/cursor.js';

/** spec/recording.md §2: the first 8 bytes of a plain recording (and of the plaintext inside an encrypted one). */
export const PLAIN_MAGIC = new Uint8Array([0x54, 0x53, 0x52, 0x45, 0x43, 0x30, 0x32, 0x0a]); // "TSREC02\n"
/** spec/recording.md §5: the first 8 bytes of a recording encrypted to an auditor. */
export const SEALED_MAGIC = new Uint8Array([0x54, 0x53, 0x52, 0x45, 0x43, 0x58, 0x31, 0x0a]); // "TSRECX1\n"
/** Largest record body: a display update of 16 MiB plus its header and slack (spec/recording.md §3). */
export const MAX_RECORD_BODY_BYTES = 16 * 1024 * 1024 + 64 * 1024;
/** The chain value each record extends: SHA-256, 32 bytes (the seal signs it whole). */
const HASH_BYTES = 32;
/** What each record stores of its chain value: the first 16 bytes (spec/recording.md §3). */
export const RECORD_TAG_BYTES = 16;
/** The most bytes a record's length varint may take (2^28 > MAX_RECORD_BODY_BYTES). */
const LENGTH_VARINT_MAX_BYTES = 4;
/** The most bytes a time delta or sequence number varint may take (2^56 > 2^53). */
const VALUE_VARINT_MAX_BYTES = 8;
/** Largest encrypted chunk's plaintext: one record with its length and tag. */
export const MAX_CHUNK_BYTES = MAX_RECORD_BODY_BYTES + LENGTH_VARINT_MAX_BYTES + RECORD_TAG_BYTES;
/** Most records a reader accepts in one file. */
export const MAX_RECORDS = 50_000_000;
/**
 * Largest MessagePack record (header, close, file step), in bytes: each is a few hundred bytes, and MessagePack can
 * build far more objects than it has bytes (an array of a million empty arrays is a megabyte), so a larger one is
 * refused before it is decoded.
 */
export const MAX_MSGPACK_RECORD_BYTES = 64 * 1024;
const SIG_BYTES = 64;
/** The smallest record body: type 1 + a one-byte time delta. */
const MIN_RECORD_BODY_BYTES = 2;
const SEAL_DOMAIN = new TextEncoder().encode('tessera-recording-seal-v1\0');
const SIGN_SEED_DOMAIN = new TextEncoder().encode('tessera-recording-signing-key-v1\0');
const BOX_KEY_DOMAIN = new TextEncoder().encode('tessera-recording-box-v1\0');
const MAX_TEXT_BYTES = 1024 * 1024;
const CONTEXT = 'recording';

/** Record types, spec/recording.md §4. */
export const RecordType = {
  Header: 0,
  Update: 1,
  Input: 2,
  InputDropped: 3,
  Mode: 4,
  Chat: 5,
  Clipboard: 6,
  Screen: 7,
  ControlRequest: 8,
  Close: 9,
  Cursor: 10,
  File: 11,
  Seal: 255,
} as const;

const DROP_REASONS: readonly DropReason[] = ['notControl', 'paused', 'outOfBounds', 'rateLimited', 'invalid'];

/** What happened to a file transfer, as the host's audit log says it (spec/transfer.md §7). */
export type FileEventKind = 'offered' | 'accepted' | 'refused' | 'saved' | 'failed';
const FILE_EVENTS: readonly FileEventKind[] = ['offered', 'accepted', 'refused', 'saved', 'failed'];

/** A file record's content: the transfer's metadata, never the file's bytes (spec/recording.md §4.3). */
export interface RecordedFile {
  readonly event: FileEventKind;
  /** "in": to the host; "out": to the helper. */
  readonly direction: 'in' | 'out';
  /** The name as offered (untrusted text: print it through printable()). */
  readonly name: string;
  readonly size: number;
  /** SHA-256 of the whole file, 32 bytes. */
  readonly sha256: Uint8Array;
  /** Bytes stored or sent when the event happened. */
  readonly bytes?: number;
  /** The refusal or failure code (spec/transfer.md §4). */
  readonly code?: string;
}

/** Who the helper is and what was granted: the header record (spec/recording.md §4.1). Never a secret. */
export interface RecordingHeader {
  readonly v: 1;
  /** Session id (hex), as in the audit log. */
  readonly session: string;
  /** The host's static X25519 public key (base64url). */
  readonly host: string;
  /** Ed25519 key that seals this file (base64url); derived from the host key (recordingSigningKey). */
  readonly signer: string;
  readonly kind: 'ticket' | 'offer';
  readonly ticketId?: string;
  /** Verified helper user name (offers). */
  readonly helper?: string;
  /** Fingerprint of the helper's identity key (offers). */
  readonly helperKey?: string;
  readonly peer: string;
  readonly path: 'direct' | 'relay';
  readonly mode: 'view' | 'control';
  readonly width: number;
  readonly height: number;
  readonly codec: number;
  readonly quality: string;
}

interface Base {
  /** Byte offset of the record in the (plaintext) file. */
  readonly offset: number;
  readonly index: number;
  /** Unix time in milliseconds. */
  readonly time: number;
}
/** One record read back. */
export type RecordingEvent = Base &
  (
    | { readonly type: 'header'; readonly header: RecordingHeader }
    | { readonly type: 'update'; readonly seq: number; readonly update: Uint8Array }
    | { readonly type: 'input'; readonly events: readonly InputEvent[] }
    | { readonly type: 'input-dropped'; readonly reason: DropReason; readonly events: readonly InputEvent[] }
    | { readonly type: 'mode'; readonly mode: 'view' | 'control'; readonly paused: boolean }
    | { readonly type: 'chat' | 'clipboard'; readonly from: 'host' | 'helper'; readonly text: string }
    | { readonly type: 'screen'; readonly width: number; readonly height: number }
    | { readonly type: 'control-request' }
    | { readonly type: 'close'; readonly reason: string; readonly message: string }
    | { readonly type: 'cursor'; readonly cursor: CursorMessage; readonly payload: Uint8Array }
    | { readonly type: 'file'; readonly file: RecordedFile }
    | { readonly type: 'seal'; readonly signature: Uint8Array }
  );

/** Chain step: SHA-256(prev || record bytes without the hash). Injectable so Node can use node:crypto. */
export type ChainHash = (prev: Uint8Array, record: Uint8Array) => Uint8Array;

/** The pure chain step (handshake/scrypt.ts's SHA-256). */
export const pureChainHash: ChainHash = (prev, record) => {
  const buf = new Uint8Array(prev.byteLength + record.byteLength);
  buf.set(prev, 0);
  buf.set(record, prev.byteLength);
  return sha256(buf);
};

/** The Ed25519 key pair that seals a host's recordings, derived from its static X25519 secret key. */
export function recordingSigningKey(hostSecretKey: Uint8Array): nacl.SignKeyPair {
  const seedInput = new Uint8Array(SIGN_SEED_DOMAIN.byteLength + hostSecretKey.byteLength);
  seedInput.set(SIGN_SEED_DOMAIN, 0);
  seedInput.set(hostSecretKey, SIGN_SEED_DOMAIN.byteLength);
  return nacl.sign.keyPair.fromSeed(sha256(seedInput));
}

/** The message the seal signs: domain, the chain hash before the seal, and how many records precede it. */
function sealMessage(chain: Uint8Array, count: number): Uint8Array {
  const m = new Uint8Array(SEAL_DOMAIN.byteLength + HASH_BYTES + 4);
  m.set(SEAL_DOMAIN, 0);
  m.set(chain, SEAL_DOMAIN.byteLength);
  new DataView(m.buffer).setUint32(SEAL_DOMAIN.byteLength + HASH_BYTES, count);
  return m;
}

/** Options of RecordingWriter. */
export interface RecordingWriterOptions {
  /** Receives the file's bytes in order; each call is whole records (or the magic). */
  readonly sink: (bytes: Uint8Array) => void;
  /** Ed25519 secret key (64 bytes) that seals the file. */
  readonly signSecretKey: Uint8Array;
  /** Encrypts the file to this auditor X25519 public key (spec/recording.md §5). */
  readonly auditorPublicKey?: Uint8Array;
  /** Randomness for the ephemeral key (32 bytes); required with auditorPublicKey. */
  readonly random?: (n: number) => Uint8Array;
  readonly chainHash?: ChainHash;
}

/**
 * Writes one recording. Each record goes to the sink as soon as it is added, so a file cut by a crash holds every
 * record written before it (spec/recording.md §6).
 */
export class RecordingWriter {
  readonly #sink: (bytes: Uint8Array) => void;
  readonly #signKey: Uint8Array;
  readonly #hash: ChainHash;
  #chain: Uint8Array = new Uint8Array(HASH_BYTES);
  #count = 0;
  /** The time of the last record: each record stores its delta from it, never negative. */
  #time = 0;
  #sealed = false;
  #box: { key: Uint8Array; counter: number } | undefined;
  #bytes = 0;

  constructor(options: RecordingWriterOptions) {
    if (options.signSecretKey.byteLength !== 64) throw new StateError('recording: the signing key must be a 64-byte Ed25519 secret key');
    this.#sink = options.sink;
    this.#signKey = options.signSecretKey;
    this.#hash = options.chainHash ?? pureChainHash;
    if (options.auditorPublicKey) {
      if (options.auditorPublicKey.byteLength !== 32) throw new StateError('recording: the auditor key must be a 32-byte X25519 public key');
      if (!options.random) throw new StateError('recording: encryption needs a random source');
      const eph = nacl.box.keyPair.fromSecretKey(options.random(32));
      const key = boxKey(nacl.scalarMult(eph.secretKey, options.auditorPublicKey), eph.publicKey, options.auditorPublicKey);
      eph.secretKey.fill(0);
      const head = new Uint8Array(SEALED_MAGIC.byteLength + 32);
      head.set(SEALED_MAGIC, 0);
      head.set(eph.publicKey, SEALED_MAGIC.byteLength);
      this.#emitRaw(head);
      this.#box = { key, counter: 0 };
    }
    this.#emit(PLAIN_MAGIC);
  }

  /** Bytes handed to the sink so far. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  get records(): number {
    return this.#count;
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  header(time: number, header: RecordingHeader): void {
    if (this.#count !== 0) throw new StateError('recording: the header must be the first record');
    this.#record(RecordType.Header, time, mpEncode(header));
  }

  /** A display update exactly as sent (its codec bytes, without the frame's sequence header). */
  update(time: number, seq: number, update: Uint8Array): void {
    this.#record(RecordType.Update, time, update, seq);
  }

  input(time: number, events: readonly InputEvent[]): void {
    this.#record(RecordType.Input, time, safeBatch(events));
  }

  inputDropped(time: number, reason: DropReason, event: InputEvent): void {
    const batch = safeBatch([event]);
    const p = new Uint8Array(1 + batch.byteLength);
    p[0] = DROP_REASONS.indexOf(reason);
    p.set(batch, 1);
    this.#record(RecordType.InputDropped, time, p);
  }

  mode(time: number, mode: 'view' | 'control', paused: boolean): void {
    this.#record(RecordType.Mode, time, new Uint8Array([mode === 'control' ? 1 : 0, paused ? 1 : 0]));
  }

  chat(time: number, from: 'host' | 'helper', text: string): void {
    this.#record(RecordType.Chat, time, textPayload(from, text));
  }

  clipboard(time: number, from: 'host' | 'helper', text: string): void {
    this.#record(RecordType.Clipboard, time, textPayload(from, text));
  }

  screen(time: number, width: number, height: number): void {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint16(0, width);
    new DataView(p.buffer).setUint16(2, height);
    this.#record(RecordType.Screen, time, p);
  }

  controlRequest(time: number): void {
    this.#record(RecordType.ControlRequest, time, new Uint8Array(0));
  }

  close(time: number, reason: string, message: string): void {
    this.#record(RecordType.Close, time, mpEncode({ reason, message }));
  }

  /**
   * A Cursor channel payload exactly as the session sent it (spec/session.md §6.9): a SHAPE when the helper lacked
   * it, a POSITION on every move.
   */
  cursor(time: number, payload: Uint8Array): void {
    this.#record(RecordType.Cursor, time, payload);
  }

  /** A file transfer's step: its metadata only, never the file's bytes. */
  file(time: number, file: RecordedFile): void {
    if (file.sha256.byteLength !== HASH_BYTES) throw new StateError('recording: a file hash must be a 32-byte SHA-256');
    const map: Record<string, unknown> = { event: file.event, direction: file.direction, name: file.name, size: file.size, sha256: file.sha256 };
    if (file.bytes !== undefined) map['bytes'] = file.bytes;
    if (file.code !== undefined) map['code'] = file.code;
    this.#record(RecordType.File, time, mpEncode(map));
  }

  /** Signs the chain and ends the file; later calls are ignored. */
  seal(time: number): void {
    if (this.#sealed) return;
    const sig = nacl.sign.detached(sealMessage(this.#chain, this.#count), this.#signKey);
    this.#record(RecordType.Seal, time, sig);
    this.#sealed = true;
  }

  #record(type: number, time: number, payload: Uint8Array, seq?: number): void {
    if (this.#sealed) return;
    if (this.#count === 0 && type !== RecordType.Header) throw new StateError('recording: the header must be the first record');
    // Time never goes back in a file: a clock stepped back gives a delta of 0.
    const at = Math.min(Number.MAX_SAFE_INTEGER, Math.max(this.#time, Math.floor(time)));
    const delta = at - this.#time;
    const seqBytes = seq === undefined ? 0 : varintBytes(seq >>> 0);
    const bodyLen = 1 + varintBytes(delta) + seqBytes + payload.byteLength;
    if (!(bodyLen <= MAX_RECORD_BODY_BYTES)) throw new StateError(`recording: a ${bodyLen}-byte record is over the cap`);
    const lenBytes = varintBytes(bodyLen);
    const rec = new Uint8Array(lenBytes + bodyLen + RECORD_TAG_BYTES);
    let off = writeVarint(rec, 0, bodyLen);
    rec[off++] = type;
    off = writeVarint(rec, off, delta);
    if (seq !== undefined) off = writeVarint(rec, off, seq >>> 0);
    rec.set(payload, off);
    off += payload.byteLength;
    this.#chain = this.#hash(this.#chain, rec.subarray(0, off));
    rec.set(this.#chain.subarray(0, RECORD_TAG_BYTES), off);
    this.#time = at;
    this.#count++;
    this.#emit(rec);
  }

  #emit(plain: Uint8Array): void {
    const box = this.#box;
    if (!box) return this.#emitRaw(plain);
    const sealed = nacl.secretbox(plain, chunkNonce(box.counter++), box.key);
    const out = new Uint8Array(4 + sealed.byteLength);
    new DataView(out.buffer).setUint32(0, sealed.byteLength);
    out.set(sealed, 4);
    this.#emitRaw(out);
  }

  #emitRaw(bytes: Uint8Array): void {
    this.#bytes += bytes.byteLength;
    this.#sink(bytes);
  }
}

/** Bytes of `v` (a non-negative safe integer) as an unsigned LEB128 varint. */
function varintBytes(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes `v` as an unsigned LEB128 varint (low 7 bits first, high bit = more) at `at`; returns the offset after it. */
function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 128) {
    out[at++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * Reads a minimal unsigned LEB128 varint of at most `maxBytes` bytes from `bytes[at..end)`.
 * @returns the value and the offset after it; 'short' when `end` comes first; 'bad' when it runs over `maxBytes`,
 *   is not minimal (a last byte of 0 after others) or is over 2^53 − 1
 */
function readVarint(bytes: Uint8Array, at: number, end: number, maxBytes: number): { value: number; next: number } | 'short' | 'bad' {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (at + i >= end) return 'short';
    const b = bytes[at + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) return 'bad';
      if (!(value <= Number.MAX_SAFE_INTEGER)) return 'bad';
      return { value, next: at + i + 1 };
    }
    scale *= 128;
  }
  return 'bad';
}

function safeBatch(events: readonly InputEvent[]): Uint8Array {
  try {
    return encodeInputBatch(events);
  } catch {
    // An event the gate dropped as invalid may not encode: the record keeps its reason without it.
    return encodeInputBatch([]);
  }
}

function textPayload(from: 'host' | 'helper', text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  const p = new Uint8Array(1 + utf8.byteLength);
  p[0] = from === 'host' ? 0 : 1;
  p.set(utf8, 1);
  return p;
}

function boxKey(shared: Uint8Array, ephemeral: Uint8Array, auditor: Uint8Array): Uint8Array {
  const input = new Uint8Array(BOX_KEY_DOMAIN.byteLength + 96);
  input.set(BOX_KEY_DOMAIN, 0);
  input.set(shared, BOX_KEY_DOMAIN.byteLength);
  input.set(ephemeral, BOX_KEY_DOMAIN.byteLength + 32);
  input.set(auditor, BOX_KEY_DOMAIN.byteLength + 64);
  return sha256(input);
}

function chunkNonce(counter: number): Uint8Array {
  const n = new Uint8Array(24);
  new DataView(n.buffer).setBigUint64(16, BigInt(counter));
  return n;
}

function fail(code: ErrorCode, message: string, offset: number, field: string, index?: number): TesseraError {
  return new TesseraError(code, message, { context: CONTEXT, field, offset, ...(index !== undefined ? { received: index } : {}) });
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  if (bytes.byteLength < magic.byteLength) return false;
  for (let i = 0; i < magic.byteLength; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

/** True when the bytes start as a recording encrypted to an auditor. */
export function isEncryptedRecording(bytes: Uint8Array): boolean {
  return startsWith(bytes, SEALED_MAGIC);
}

/**
 * Opens an encrypted recording with the auditor's X25519 secret key and returns the plaintext file.
 * A plaintext cut short at a chunk boundary is returned as is (the reader then reports it unsealed).
 * @throws {TesseraError} TESSERA_ERR_DECRYPT_FAILED (wrong key, changed or reordered chunk; `offset` is the chunk's),
 *   TESSERA_ERR_TRUNCATED, TESSERA_ERR_INVALID_FIELD, TESSERA_ERR_LIMIT_EXCEEDED
 */
export function decryptRecording(bytes: Uint8Array, auditorSecretKey: Uint8Array): Uint8Array {
  if (!startsWith(bytes, SEALED_MAGIC)) throw fail(ErrorCode.InvalidField, 'not an encrypted tessera recording', 0, 'magic');
  if (auditorSecretKey.byteLength !== 32) throw new StateError('recording: the auditor key must be a 32-byte X25519 secret key');
  if (bytes.byteLength < SEALED_MAGIC.byteLength + 32) throw fail(ErrorCode.Truncated, 'encrypted recording cut inside its ephemeral key', SEALED_MAGIC.byteLength, 'ephemeral');
  const eph = bytes.slice(SEALED_MAGIC.byteLength, SEALED_MAGIC.byteLength + 32);
  const auditorPublic = nacl.scalarMult.base(auditorSecretKey);
  const key = boxKey(nacl.scalarMult(auditorSecretKey, eph), eph, auditorPublic);
  const parts: Uint8Array[] = [];
  let total = 0;
  let off = SEALED_MAGIC.byteLength + 32;
  let counter = 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (off < bytes.byteLength) {
    if (bytes.byteLength - off < 4) throw fail(ErrorCode.Truncated, `encrypted recording cut inside chunk ${counter}'s length at byte ${off}`, off, 'chunk');
    const len = dv.getUint32(off);
    if (!(len >= nacl.secretbox.overheadLength && len <= MAX_CHUNK_BYTES + nacl.secretbox.overheadLength)) {
      throw fail(ErrorCode.LimitExceeded, `encrypted chunk ${counter} at byte ${off} has an impossible length ${len}`, off, 'chunk');
    }
    if (bytes.byteLength - off - 4 < len) throw fail(ErrorCode.Truncated, `encrypted recording cut inside chunk ${counter} at byte ${off}`, off, 'chunk');
    const plain = nacl.secretbox.open(bytes.subarray(off + 4, off + 4 + len), chunkNonce(counter), key);
    if (!plain) throw fail(ErrorCode.DecryptFailed, `chunk ${counter} at byte ${off} does not open: wrong key, or the chunk was changed or moved`, off, 'chunk');
    parts.push(plain);
    total += plain.byteLength;
    off += 4 + len;
    counter++;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** What reading a recording found. */
export interface RecordingReport {
  readonly header: RecordingHeader | undefined;
  /** The records read, in order, up to the first problem (the seal included when there is one). */
  readonly records: readonly RecordingEvent[];
  /** True when the file ends with a valid seal by `header.signer`. */
  readonly sealed: boolean;
  /** The first problem found: a changed, cut or reordered record, with its offset. Undefined for a good file. */
  readonly problem: TesseraError | undefined;
}

/** Options of readRecording. */
export interface ReadRecordingOptions {
  readonly chainHash?: ChainHash;
  /** Only parse, hash and check; keep no records (for --verify of a large file). */
  readonly keepRecords?: boolean;
}

/**
 * Reads and verifies a plaintext recording: every record's length, type, fields and chain hash, and the seal's
 * signature. Total: a bad file gives a report with `problem` set (a TesseraError whose `offset` is the record's byte
 * offset), never an exception; an unsealed file (a host that crashed) has `sealed: false` and no problem.
 */
export function readRecording(bytes: Uint8Array, options: ReadRecordingOptions = {}): RecordingReport {
  const hash = options.chainHash ?? pureChainHash;
  const keep = options.keepRecords ?? true;
  const records: RecordingEvent[] = [];
  let header: RecordingHeader | undefined;
  let sealed = false;
  const done = (problem?: TesseraError): RecordingReport => ({ header, records, sealed, problem });
  if (isEncryptedRecording(bytes)) return done(fail(ErrorCode.DecryptFailed, 'this recording is encrypted to an auditor: open it with the auditor key', 0, 'magic'));
  if (!startsWith(bytes, PLAIN_MAGIC)) return done(fail(ErrorCode.InvalidField, 'not a tessera recording (bad magic)', 0, 'magic'));
  let chain: Uint8Array = new Uint8Array(HASH_BYTES);
  let time = 0;
  let off = PLAIN_MAGIC.byteLength;
  let index = 0;
  const end = bytes.byteLength;
  while (off < end) {
    const at = off;
    if (sealed) return done(fail(ErrorCode.TrailingBytes, `${end - at} bytes after the seal at byte ${at}`, at, 'seal', index));
    if (index >= MAX_RECORDS) return done(fail(ErrorCode.LimitExceeded, `more than ${MAX_RECORDS} records`, at, 'records', index));
    const lv = readVarint(bytes, at, end, LENGTH_VARINT_MAX_BYTES);
    if (lv === 'short') return done(fail(ErrorCode.Truncated, `record ${index} at byte ${at} is cut short`, at, 'record', index));
    if (lv === 'bad' || !(lv.value >= MIN_RECORD_BODY_BYTES && lv.value <= MAX_RECORD_BODY_BYTES)) {
      return done(fail(ErrorCode.LimitExceeded, `record ${index} at byte ${at} has an impossible length`, at, 'length', index));
    }
    const bodyEnd = lv.next + lv.value;
    if (end - bodyEnd < RECORD_TAG_BYTES) return done(fail(ErrorCode.Truncated, `record ${index} at byte ${at} is cut short`, at, 'record', index));
    const next = hash(chain, bytes.subarray(at, bodyEnd));
    if (!equal(next.subarray(0, RECORD_TAG_BYTES), bytes.subarray(bodyEnd, bodyEnd + RECORD_TAG_BYTES))) {
      return done(fail(ErrorCode.InvalidField, `record ${index} at byte ${at} does not match the hash chain: changed, moved or inserted`, at, 'chain', index));
    }
    const type = bytes[lv.next]!;
    try {
      const dt = readVarint(bytes, lv.next + 1, bodyEnd, VALUE_VARINT_MAX_BYTES);
      if (typeof dt === 'string') throw new Error('its time delta is not a varint');
      if (!(time + dt.value <= Number.MAX_SAFE_INTEGER)) throw new Error('its time is past 2^53 ms');
      const payload = bytes.subarray(dt.next, bodyEnd);
      if (index === 0 && type !== RecordType.Header) throw new Error('the first record is not the header');
      if (index !== 0 && type === RecordType.Header) throw new Error('a second header');
      if (type === RecordType.Seal) {
        if (payload.byteLength !== SIG_BYTES) throw new Error('the seal is not a 64-byte signature');
        const signer = header ? fromB64url(header.signer) : undefined;
        if (!signer || signer.byteLength !== 32) throw new Error('the header names no valid signer');
        // The seal signs the full 32-byte chain value, of which each record stores only a truncation.
        if (!nacl.sign.detached.verify(sealMessage(chain, index), payload, signer)) {
          return done(fail(ErrorCode.InvalidField, `the seal at byte ${at} (record ${index}) is not a valid signature by the header's signer`, at, 'seal', index));
        }
        sealed = true;
      }
      const ev = decodeRecord(type, payload, { offset: at, index, time: time + dt.value });
      if (ev.type === 'header') header = ev.header;
      if (keep || ev.type === 'header') records.push(ev);
      time += dt.value;
    } catch (err) {
      const message = err instanceof TesseraError || err instanceof Error ? err.message : String(err);
      return done(fail(ErrorCode.InvalidField, `record ${index} at byte ${at} is malformed: ${message}`, at, 'record', index));
    }
    chain = next;
    off = bodyEnd + RECORD_TAG_BYTES;
    index++;
  }
  return done();
}

/** Like readRecording, but throws the problem (for the fuzz oracle and callers that want all or nothing). */
export function parseRecording(bytes: Uint8Array, options: ReadRecordingOptions = {}): RecordingReport {
  const report = readRecording(bytes, options);
  if (report.problem) throw report.problem;
  return report;
}

/** Decodes a MessagePack record payload, refusing one over MAX_MSGPACK_RECORD_BYTES first. */
function decodeSmallMap(p: Uint8Array): unknown {
  if (!(p.byteLength <= MAX_MSGPACK_RECORD_BYTES)) throw new Error(`a ${p.byteLength}-byte MessagePack record is over ${MAX_MSGPACK_RECORD_BYTES}`);
  return mpDecode(p);
}

function decodeRecord(type: number, p: Uint8Array, base: Base): RecordingEvent {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  switch (type) {
    case RecordType.Header:
      return { ...base, type: 'header', header: checkHeader(decodeSmallMap(p)) };
    case RecordType.Update: {
      const seq = readVarint(p, 0, p.byteLength, 5);
      if (typeof seq === 'string' || seq.value > 0xffffffff) throw new Error('an update without its sequence number');
      return { ...base, type: 'update', seq: seq.value, update: p.subarray(seq.next) };
    }
    case RecordType.Input:
      return { ...base, type: 'input', events: decodeInputBatch(p) };
    case RecordType.InputDropped: {
      const reason = DROP_REASONS[p[0] ?? 255];
      if (reason === undefined) throw new Error('an unknown drop reason');
      return { ...base, type: 'input-dropped', reason, events: decodeInputBatch(p.subarray(1)) };
    }
    case RecordType.Mode:
      if (p.byteLength !== 2 || p[0]! > 1 || p[1]! > 1) throw new Error('a mode record is 2 bytes of 0 or 1');
      return { ...base, type: 'mode', mode: p[0] === 1 ? 'control' : 'view', paused: p[1] === 1 };
    case RecordType.Chat:
    case RecordType.Clipboard: {
      if (p.byteLength < 1 || p[0]! > 1) throw new Error('a text record needs its direction');
      if (p.byteLength - 1 > MAX_TEXT_BYTES) throw new Error('text over 1 MiB');
      const text = new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(1));
      return { ...base, type: type === RecordType.Chat ? 'chat' : 'clipboard', from: p[0] === 0 ? 'host' : 'helper', text };
    }
    case RecordType.Screen:
      if (p.byteLength !== 4) throw new Error('a screen record is 4 bytes');
      return { ...base, type: 'screen', width: dv.getUint16(0), height: dv.getUint16(2) };
    case RecordType.ControlRequest:
      if (p.byteLength !== 0) throw new Error('a control request has no payload');
      return { ...base, type: 'control-request' };
    case RecordType.Close: {
      const v = decodeSmallMap(p) as { reason?: unknown; message?: unknown } | null;
      if (typeof v !== 'object' || v === null || typeof v.reason !== 'string' || v.reason.length > 64 || typeof v.message !== 'string') throw new Error('a close record is {reason, message}');
      return { ...base, type: 'close', reason: v.reason, message: v.message };
    }
    case RecordType.Cursor:
      // Checked as a helper checks it (bounded, total); the cache rule is the player's (RecordingPlayer).
      return { ...base, type: 'cursor', cursor: decodeCursorMessage(p), payload: p };
    case RecordType.File:
      return { ...base, type: 'file', file: checkFile(decodeSmallMap(p)) };
    case RecordType.Seal:
      return { ...base, type: 'seal', signature: p };
    default:
      throw new Error(`unknown record type ${type}`);
  }
}

function checkHeader(v: unknown): RecordingHeader {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new Error('the header is not a map');
  const h = v as Record<string, unknown>;
  const str = (k: string, optional = false): void => {
    if (optional && h[k] === undefined) return;
    if (typeof h[k] !== 'string' || (h[k] as string).length > 1024) throw new Error(`header field ${k} must be a short string`);
  };
  if (h['v'] !== 1) throw new Error('header version is not 1');
  for (const k of ['session', 'host', 'signer', 'peer', 'quality']) str(k);
  for (const k of ['ticketId', 'helper', 'helperKey']) str(k, true);
  if (h['kind'] !== 'ticket' && h['kind'] !== 'offer') throw new Error('header kind must be ticket or offer');
  if (h['path'] !== 'direct' && h['path'] !== 'relay') throw new Error('header path must be direct or relay');
  if (h['mode'] !== 'view' && h['mode'] !== 'control') throw new Error('header mode must be view or control');
  for (const k of ['width', 'height', 'codec']) if (!Number.isInteger(h[k]) || (h[k] as number) < 0 || (h[k] as number) > 65535) throw new Error(`header field ${k} must be a small integer`);
  return h as unknown as RecordingHeader;
}

function checkFile(v: unknown): RecordedFile {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new Error('a file record is not a map');
  const f = v as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!['event', 'direction', 'name', 'size', 'sha256', 'bytes', 'code'].includes(k)) throw new Error(`a file record has an unknown field ${k.slice(0, 32)}`);
  if (!FILE_EVENTS.includes(f['event'] as FileEventKind)) throw new Error('a file record event must be offered, accepted, refused, saved or failed');
  if (f['direction'] !== 'in' && f['direction'] !== 'out') throw new Error('a file record direction must be in or out');
  if (typeof f['name'] !== 'string' || f['name'].length > 1024) throw new Error('a file record name must be a short string');
  const count = (k: string): boolean => Number.isSafeInteger(f[k]) && (f[k] as number) >= 0;
  if (!count('size')) throw new Error('a file record size must be a whole number of bytes');
  if (f['bytes'] !== undefined && !count('bytes')) throw new Error('a file record bytes must be a whole number');
  if (!(f['sha256'] instanceof Uint8Array) || f['sha256'].byteLength !== HASH_BYTES) throw new Error('a file record sha256 must be 32 bytes');
  if (f['code'] !== undefined && (typeof f['code'] !== 'string' || f['code'].length > 64)) throw new Error('a file record code must be a short string');
  return f as unknown as RecordedFile;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let d = 0;
  for (let i = 0; i < a.byteLength; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** base64url without padding (as every key in tessera). */
export function toB64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes base64url; undefined when it is not. */
export function fromB64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length > 4096) return undefined;
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}
