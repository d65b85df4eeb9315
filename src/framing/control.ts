/**
 * Control-channel messages (channel 1); implements spec/framing.md §2.6 (Control messages).
 *
 * A control message is one msgpack map with a string `t` (the message type) and typed fields.
 * Each message type is declared once with `defineControlMessage(type, schema)`; the table
 * `CONTROL_MESSAGES` lists the ones this version speaks, and `createControlCodec` turns any such
 * table into an encoder/decoder, so a part that needs more messages adds a line to a table.
 *
 * Decoding is strict and bounded.
 * A short structural scan runs first with our own bounded reader: it checks the msgpack is one
 * well-formed map of string keys and scalar values, that every str is valid UTF-8 (the msgpack
 * library's own decoder would silently repair it) and that no key repeats; it also records each
 * value's msgpack type, so an integer field sent as a float is refused.
 * Only then does @msgpack/msgpack's Decoder build the values, with its max*Length options set to
 * the message cap so it never allocates more than the input could hold.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { ByteReader, ErrorCode, invalidField, ProtocolError, StateError } from '../core/index.js';

/** Largest encoded control message; larger is TESSERA_ERR_LIMIT_EXCEEDED. spec/framing.md §2.6.1 */
export const MAX_CONTROL_MESSAGE_BYTES = 4096;
/** Most entries in a control message map, `t` included; more is TESSERA_ERR_LIMIT_EXCEEDED. spec/framing.md §2.6.1 */
export const MAX_CONTROL_FIELDS = 16;
/** Largest screen edge a `screen` message may announce, in pixels. spec/framing.md §2.6.3 */
export const MAX_SCREEN_EDGE_PX = 16384;
/** Highest feature version a `features` message may name. spec/session.md §6.8 */
export const MAX_FEATURE_VERSION = 255;
/** Largest `file-offer.name`, in UTF-8 bytes. spec/transfer.md §3 */
export const MAX_FILE_NAME_BYTES = 255;
/** Bytes of a SHA-256 digest (`file-offer.sha256`). spec/transfer.md §3 */
export const SHA256_BYTES = 32;
/** Why a transfer was refused or stopped, carried by `file-reject.code` and `file-cancel.code`. spec/transfer.md §4 */
export const TRANSFER_CODES = ['declined', 'disabled', 'too-large', 'busy', 'integrity', 'io', 'cancelled', 'timeout'] as const;
/** One of TRANSFER_CODES. */
export type TransferCode = (typeof TRANSFER_CODES)[number];
/** Largest `close.message`, in UTF-8 bytes. spec/framing.md §2.6.3 */
export const MAX_CLOSE_MESSAGE_BYTES = 200;
/** Largest unsigned 32-bit value. */
const U32_MAX = 0xffffffff;

// ---------------------------------------------------------------------------------------------
// Schema description

/** An unsigned integer field: a msgpack int within `min..max` (both inclusive). */
export interface UintField<O extends boolean = boolean> {
  readonly kind: 'uint';
  readonly min: number;
  readonly max: number;
  readonly optional: O;
}
/** A text field: a msgpack str of valid UTF-8, at most `maxBytes` bytes. */
export interface StringField<O extends boolean = boolean> {
  readonly kind: 'string';
  readonly maxBytes: number;
  readonly optional: O;
}
/** A boolean field: msgpack true or false. */
export interface BoolField<O extends boolean = boolean> {
  readonly kind: 'bool';
  readonly optional: O;
}
/** A binary field: a msgpack bin of at most `maxBytes` bytes. */
export interface BytesField<O extends boolean = boolean> {
  readonly kind: 'bytes';
  readonly maxBytes: number;
  readonly optional: O;
}
/** A string drawn from a fixed set. */
export interface EnumField<V extends string = string, O extends boolean = boolean> {
  readonly kind: 'enum';
  readonly values: readonly V[];
  readonly optional: O;
}
/** Any field description. */
export type FieldSpec = UintField | StringField | BoolField | BytesField | EnumField;
/** The fields of one message type, `t` excluded. */
export type ControlSchema = Readonly<Record<string, FieldSpec>>;

type Optional<F extends FieldSpec> = Omit<F, 'optional'> & { readonly optional: true };

/** Builders for field descriptions, used in `defineControlMessage` schemas. */
export const field = {
  /** An unsigned integer in `min..max` (defaults 0 and Number.MAX_SAFE_INTEGER). */
  uint(range: { readonly min?: number; readonly max?: number } = {}): UintField<false> {
    const min = range.min ?? 0;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min >= 0 && min <= max)) {
      throw new StateError(`uint field range ${min}..${max} is not a range of safe non-negative integers`);
    }
    return { kind: 'uint', min, max, optional: false };
  },
  /** UTF-8 text of at most `maxBytes` bytes. */
  string(maxBytes: number): StringField<false> {
    return { kind: 'string', maxBytes: checkMax(maxBytes), optional: false };
  },
  /** true or false. */
  bool(): BoolField<false> {
    return { kind: 'bool', optional: false };
  },
  /** Binary of at most `maxBytes` bytes (decoded as a copy the caller owns). */
  bytes(maxBytes: number): BytesField<false> {
    return { kind: 'bytes', maxBytes: checkMax(maxBytes), optional: false };
  },
  /** One of the given strings. */
  enum<const V extends string>(values: readonly V[]): EnumField<V, false> {
    if (values.length === 0) throw new StateError('enum field needs at least one value');
    return { kind: 'enum', values: Object.freeze([...values]), optional: false };
  },
  /** Makes a field optional: absent from the map when the message does not carry it. */
  optional<F extends FieldSpec>(spec: F): Optional<F> {
    return { ...spec, optional: true } as Optional<F>;
  },
} as const;

function checkMax(maxBytes: number): number {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0 && maxBytes <= MAX_CONTROL_MESSAGE_BYTES)) {
    throw new StateError(`field maxBytes must be 0..${MAX_CONTROL_MESSAGE_BYTES}, got ${maxBytes}`);
  }
  return maxBytes;
}

/** The TypeScript value of a field description. */
export type FieldValue<F> = F extends { readonly kind: 'uint' }
  ? number
  : F extends { readonly kind: 'string' }
    ? string
    : F extends { readonly kind: 'bool' }
      ? boolean
      : F extends { readonly kind: 'bytes' }
        ? Uint8Array
        : F extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
          ? V
          : never;

type RequiredKeys<S> = { [K in keyof S]: S[K] extends { readonly optional: true } ? never : K }[keyof S];
type OptionalKeys<S> = { [K in keyof S]: S[K] extends { readonly optional: true } ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The message object described by type `T` and schema `S`. */
export type MessageOf<T extends string, S extends ControlSchema> = Simplify<
  { readonly t: T } & { readonly [K in RequiredKeys<S>]: FieldValue<S[K]> } & {
    readonly [K in OptionalKeys<S>]?: FieldValue<S[K]>;
  }
>;

/** One message type: its `t` value and its fields. */
export interface ControlMessageDef<T extends string = string, S extends ControlSchema = ControlSchema> {
  readonly type: T;
  readonly schema: S;
}

/** The message object type of a definition (distributes over unions of definitions). */
export type MessageOfDef<D> = D extends ControlMessageDef<infer T, infer S> ? MessageOf<T, S> : never;

/**
 * Declares one control message type.
 * @param type the `t` value on the wire: lowercase letters, digits and '-', 1..32 characters
 * @param schema the fields besides `t`
 * @throws {StateError} TESSERA_ERR_BAD_STATE for a malformed type name or a field named `t`
 */
export function defineControlMessage<const T extends string, const S extends ControlSchema>(type: T, schema: S): ControlMessageDef<T, S> {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(type)) throw new StateError(`control message type '${type}' is not a lowercase name of 1..32 characters`);
  if (Object.hasOwn(schema, 't')) throw new StateError(`control message '${type}' declares a field named t`);
  const fields = Object.keys(schema);
  if (fields.length + 1 > MAX_CONTROL_FIELDS) throw new StateError(`control message '${type}' has more than ${MAX_CONTROL_FIELDS - 1} fields`);
  return Object.freeze({ type, schema: Object.freeze({ ...schema }) }) as ControlMessageDef<T, S>;
}

// ---------------------------------------------------------------------------------------------
// The messages of this version (spec/framing.md §2.6.3)

/** Why a session ended, carried by `close.reason`. spec/framing.md §2.6.3 */
export const CLOSE_REASONS = [
  'normal',
  'host-ended',
  'helper-left',
  'protocol-error',
  'timeout',
  'source-error',
  'connection-lost',
] as const;
/** One of CLOSE_REASONS (the session layer names them in its CloseReason table). */
export type CloseReasonCode = (typeof CLOSE_REASONS)[number];

/** Session modes carried by `control-grant.mode`. */
export const CONTROL_MODES = ['view', 'control'] as const;

/** The control messages of this protocol version, in spec order. */
export const CONTROL_MESSAGES = [
  defineControlMessage('ping', { n: field.uint({ max: U32_MAX }), ts: field.uint() }),
  defineControlMessage('pong', { n: field.uint({ max: U32_MAX }), ts: field.uint() }),
  defineControlMessage('ack', { seq: field.uint({ max: U32_MAX }), decoded: field.uint({ max: U32_MAX }) }),
  defineControlMessage('control-request', {}),
  defineControlMessage('control-grant', { mode: field.enum(CONTROL_MODES) }),
  defineControlMessage('control-revoke', {}),
  defineControlMessage('pause', { paused: field.bool() }),
  defineControlMessage('close', {
    reason: field.enum(CLOSE_REASONS),
    message: field.optional(field.string(MAX_CLOSE_MESSAGE_BYTES)),
  }),
  defineControlMessage('screen', {
    width: field.uint({ min: 1, max: MAX_SCREEN_EDGE_PX }),
    height: field.uint({ min: 1, max: MAX_SCREEN_EDGE_PX }),
  }),
  // spec/session.md §6.8: the features the helper takes, each with the version it speaks (1..255).
  defineControlMessage('features', {
    cursor: field.optional(field.uint({ min: 1, max: MAX_FEATURE_VERSION })),
    transfer: field.optional(field.uint({ min: 1, max: MAX_FEATURE_VERSION })),
  }),
  // spec/transfer.md §3: file transfer, once the `transfer` feature is on. The sender of a file sends file-offer,
  // file-done and file-cancel; its receiver sends file-accept, file-ack, file-reject and file-saved.
  defineControlMessage('file-offer', {
    id: field.uint({ max: U32_MAX }),
    name: field.string(MAX_FILE_NAME_BYTES),
    size: field.uint(),
    sha256: field.bytes(SHA256_BYTES),
  }),
  defineControlMessage('file-accept', { id: field.uint({ max: U32_MAX }), offset: field.uint() }),
  defineControlMessage('file-ack', { id: field.uint({ max: U32_MAX }), offset: field.uint() }),
  defineControlMessage('file-done', { id: field.uint({ max: U32_MAX }) }),
  defineControlMessage('file-saved', { id: field.uint({ max: U32_MAX }) }),
  defineControlMessage('file-reject', { id: field.uint({ max: U32_MAX }), code: field.enum(TRANSFER_CODES) }),
  defineControlMessage('file-cancel', { id: field.uint({ max: U32_MAX }), code: field.enum(TRANSFER_CODES) }),
] as const;

/** Any control message of this version (a union discriminated by `t`). */
export type ControlMessage = MessageOfDef<(typeof CONTROL_MESSAGES)[number]>;
/** The `t` values of this version. */
export type ControlMessageType = ControlMessage['t'];

// ---------------------------------------------------------------------------------------------
// Codec

/** Options of a ControlCodec. */
export interface ControlCodecOptions {
  /** Largest encoded message accepted or produced. Default MAX_CONTROL_MESSAGE_BYTES (4096). */
  readonly maxMessageBytes?: number;
}

/** msgpack value kinds a control message may hold, as recorded by the scan. */
type ScalarKind = 'nil' | 'bool' | 'int' | 'float' | 'str' | 'bin';

interface ScannedEntry {
  readonly kind: ScalarKind;
  /** Byte offset of the value's first byte, for error details. */
  readonly offset: number;
}

const CONTEXT = 'control-message';

/**
 * Encodes and decodes one table of control message types.
 * Stateless apart from reusable msgpack buffers; one instance may serve many sessions.
 */
export class ControlCodec<M extends { readonly t: string }> {
  readonly #defs: ReadonlyMap<string, ControlMessageDef>;
  readonly #maxMessageBytes: number;
  readonly #encoder = new Encoder({ ignoreUndefined: true, initialBufferSize: 256 });
  readonly #decoder: Decoder;

  constructor(defs: readonly ControlMessageDef[], options: ControlCodecOptions = {}) {
    const table = new Map<string, ControlMessageDef>();
    for (const def of defs) {
      if (table.has(def.type)) throw new StateError(`control message type '${def.type}' is defined twice`);
      table.set(def.type, def);
    }
    this.#defs = table;
    const max = options.maxMessageBytes ?? MAX_CONTROL_MESSAGE_BYTES;
    if (!(Number.isSafeInteger(max) && max >= 1 && max <= 1024 * 1024)) throw new StateError(`maxMessageBytes must be 1..1048576, got ${max}`);
    this.#maxMessageBytes = max;
    this.#decoder = new Decoder({
      maxStrLength: max,
      maxBinLength: max,
      maxArrayLength: 0,
      maxMapLength: MAX_CONTROL_FIELDS,
      maxExtLength: 0,
      useBigInt64: false,
    });
  }

  /** The `t` values this codec knows. */
  get types(): readonly string[] {
    return [...this.#defs.keys()];
  }

  /**
   * Encodes a message as a msgpack map: `t` first, then the schema's fields in declaration order.
   * @returns a new buffer the caller owns
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the message does not match its schema (our bug, not the peer's)
   */
  encode(message: M): Uint8Array {
    const def = this.#defs.get(message.t);
    if (def === undefined) throw new StateError(`cannot encode unknown control message type '${String(message.t)}'`);
    const source = message as unknown as Readonly<Record<string, unknown>>;
    for (const key of Object.keys(source)) {
      if (key !== 't' && !Object.hasOwn(def.schema, key) && source[key] !== undefined) {
        throw new StateError(`cannot encode ${def.type}: ${key} is not a field of it`, { context: def.type, field: key });
      }
    }
    const out: Record<string, unknown> = { t: def.type };
    for (const [name, spec] of Object.entries(def.schema)) {
      const value = source[name];
      if (value === undefined) {
        if (spec.optional) continue;
        throw new StateError(`cannot encode ${def.type}: ${name} is missing`, { context: def.type, field: name });
      }
      const fault = checkValue(spec, value);
      if (fault !== undefined) throw new StateError(`cannot encode ${def.type}: ${name} ${fault.why}`, { context: def.type, field: name });
      out[name] = value;
    }
    const bytes = this.#encoder.encode(out);
    if (!(bytes.byteLength <= this.#maxMessageBytes)) {
      throw new StateError(`cannot encode ${def.type}: ${bytes.byteLength} bytes is over the ${this.#maxMessageBytes}-byte limit`);
    }
    return bytes;
  }

  /**
   * Decodes and validates one control message (the whole payload of a control frame).
   * @returns a fresh message object; `bytes` fields are copies
   * @throws {ProtocolError} TESSERA_ERR_LIMIT_EXCEEDED (message, string or bytes too long, too many fields),
   *   TESSERA_ERR_TRUNCATED, TESSERA_ERR_TRAILING_BYTES, TESSERA_ERR_INVALID_FIELD (malformed msgpack,
   *   not a map, bad or repeated key, missing, unknown or mistyped field, value out of range),
   *   TESSERA_ERR_UNKNOWN_MESSAGE (unknown `t`)
   */
  decode(bytes: Uint8Array): M {
    if (!(bytes.byteLength <= this.#maxMessageBytes)) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `control message of ${bytes.byteLength} bytes is over the ${this.#maxMessageBytes}-byte limit`, {
        context: CONTEXT,
        expected: this.#maxMessageBytes,
        received: bytes.byteLength,
      });
    }
    const entries = scanMap(bytes);
    const typeEntry = entries.get('t');
    if (typeEntry === undefined) throw invalidField(CONTEXT, 't', 0, 'is missing');
    if (typeEntry.kind !== 'str') throw invalidField(CONTEXT, 't', typeEntry.offset, 'is not a string');

    let raw: unknown;
    try {
      raw = this.#decoder.decode(bytes);
    } catch (err) {
      // The scan accepted these bytes, so the library should too; if it does not, the bytes are still the peer's fault.
      throw new ProtocolError(ErrorCode.InvalidField, 'control message is not msgpack this decoder accepts', { context: CONTEXT, cause: err });
    }
    const record = raw as Readonly<Record<string, unknown>>;
    const type = record['t'] as string;
    const def = this.#defs.get(type);
    if (def === undefined) {
      throw new ProtocolError(ErrorCode.UnknownMessage, `unknown control message type '${truncateForMessage(type)}'`, {
        context: CONTEXT,
        field: 't',
        offset: typeEntry.offset,
        received: truncateForMessage(type),
      });
    }
    const context = `${def.type} message`;
    for (const [key, entry] of entries) {
      if (key !== 't' && !Object.hasOwn(def.schema, key)) {
        throw invalidField(context, truncateForMessage(key), entry.offset, `is not a field of ${def.type}`);
      }
    }
    const out: Record<string, unknown> = { t: def.type };
    for (const [name, spec] of Object.entries(def.schema)) {
      const entry = entries.get(name);
      if (entry === undefined) {
        if (spec.optional) continue;
        throw invalidField(context, name, 0, 'is missing');
      }
      if (entry.kind !== KIND_OF[spec.kind]) {
        throw invalidField(context, name, entry.offset, `must be ${DESCRIPTION_OF[spec.kind]}, got msgpack ${entry.kind}`);
      }
      const value = record[name];
      const fault = checkValue(spec, value);
      if (fault !== undefined) {
        if (fault.limit) {
          throw new ProtocolError(ErrorCode.LimitExceeded, `invalid ${context}: ${name} at offset ${entry.offset} ${fault.why}`, {
            context,
            field: name,
            offset: entry.offset,
          });
        }
        throw invalidField(context, name, entry.offset, fault.why);
      }
      // The library returns bin values as views of the input; hand out copies that outlive it.
      out[name] = value instanceof Uint8Array ? value.slice() : value;
    }
    return out as unknown as M;
  }
}

/** The msgpack kind each field kind must arrive as. */
const KIND_OF: Readonly<Record<FieldSpec['kind'], ScalarKind>> = {
  uint: 'int',
  string: 'str',
  bool: 'bool',
  bytes: 'bin',
  enum: 'str',
};
const DESCRIPTION_OF: Readonly<Record<FieldSpec['kind'], string>> = {
  uint: 'an unsigned integer',
  string: 'a string',
  bool: 'a boolean',
  bytes: 'binary',
  enum: 'a string',
};

/** Checks a value against its field; returns why it fails, `limit` set for over-long strings and bytes. */
function checkValue(spec: FieldSpec, value: unknown): { why: string; limit: boolean } | undefined {
  switch (spec.kind) {
    case 'uint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return { why: 'must be an unsigned integer', limit: false };
      if (!(value >= spec.min && value <= spec.max)) return { why: `must be ${spec.min}..${spec.max}, got ${value}`, limit: false };
      return undefined;
    case 'string': {
      if (typeof value !== 'string') return { why: 'must be a string', limit: false };
      const n = utf8Length(value);
      if (n < 0) return { why: 'must be well-formed unicode', limit: false };
      if (!(n <= spec.maxBytes)) return { why: `is ${n} utf-8 bytes, over the ${spec.maxBytes}-byte limit`, limit: true };
      return undefined;
    }
    case 'bool':
      return typeof value === 'boolean' ? undefined : { why: 'must be a boolean', limit: false };
    case 'bytes':
      if (!(value instanceof Uint8Array)) return { why: 'must be binary', limit: false };
      if (!(value.byteLength <= spec.maxBytes)) return { why: `is ${value.byteLength} bytes, over the ${spec.maxBytes}-byte limit`, limit: true };
      return undefined;
    case 'enum':
      if (typeof value !== 'string') return { why: 'must be a string', limit: false };
      if (!spec.values.includes(value)) return { why: `must be one of ${spec.values.join(', ')}`, limit: false };
      return undefined;
  }
}

/** UTF-8 length of a string, or -1 when it holds a lone surrogate (not encodable). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}

/** Keeps peer-chosen text in error messages short. */
function truncateForMessage(s: string): string {
  return s.length <= 40 ? s : `${s.slice(0, 40)}...`;
}

/**
 * Checks the structure of a control message and records each top-level value's kind.
 * spec/framing.md §2.6.1: one msgpack map, string keys (valid UTF-8, no repeats), scalar values
 * (nil, bool, int, float, str of valid UTF-8, bin), nothing after it.
 */
function scanMap(bytes: Uint8Array): Map<string, ScannedEntry> {
  const r = new ByteReader(bytes, CONTEXT);
  const head = r.u8('map header');
  let count: number;
  if ((head & 0xf0) === 0x80) count = head & 0x0f;
  else if (head === 0xde) count = r.u16('map length');
  else if (head === 0xdf) count = r.u32('map length');
  else throw invalidField(CONTEXT, 'message', 0, 'is not a msgpack map');
  if (!(count <= MAX_CONTROL_FIELDS)) {
    throw new ProtocolError(ErrorCode.LimitExceeded, `control message map has ${count} entries, over the ${MAX_CONTROL_FIELDS}-entry limit`, {
      context: CONTEXT,
      field: 'map length',
      offset: 0,
      expected: MAX_CONTROL_FIELDS,
      received: count,
    });
  }
  const entries = new Map<string, ScannedEntry>();
  for (let i = 0; i < count; i++) {
    const keyOffset = r.offset;
    const keyHead = r.u8('key');
    let keyLength: number;
    if ((keyHead & 0xe0) === 0xa0) keyLength = keyHead & 0x1f;
    else if (keyHead === 0xd9) keyLength = r.u8('key length');
    else if (keyHead === 0xda) keyLength = r.u16('key length');
    else if (keyHead === 0xdb) keyLength = r.u32('key length');
    else throw invalidField(CONTEXT, 'key', keyOffset, 'is not a msgpack string');
    const key = r.utf8(keyLength, 'key');
    if (entries.has(key)) throw invalidField(CONTEXT, truncateForMessage(key), keyOffset, 'appears twice');
    const offset = r.offset;
    entries.set(key, { kind: scanScalar(r, key), offset });
  }
  r.end();
  return entries;
}

/** Reads past one scalar value and returns its kind; refuses arrays, maps, ext and the reserved byte. */
function scanScalar(r: ByteReader, name: string): ScalarKind {
  const field = truncateForMessage(name);
  const at = r.offset;
  const head = r.u8(field);
  if (head <= 0x7f || head >= 0xe0) return 'int';
  if ((head & 0xe0) === 0xa0) {
    r.utf8(head & 0x1f, field);
    return 'str';
  }
  switch (head) {
    case 0xc0:
      return 'nil';
    case 0xc2:
    case 0xc3:
      return 'bool';
    case 0xc4:
      r.skip(r.u8(field), field);
      return 'bin';
    case 0xc5:
      r.skip(r.u16(field), field);
      return 'bin';
    case 0xc6:
      r.skip(r.u32(field), field);
      return 'bin';
    case 0xca:
      r.skip(4, field);
      return 'float';
    case 0xcb:
      r.skip(8, field);
      return 'float';
    case 0xcc:
    case 0xd0:
      r.skip(1, field);
      return 'int';
    case 0xcd:
    case 0xd1:
      r.skip(2, field);
      return 'int';
    case 0xce:
    case 0xd2:
      r.skip(4, field);
      return 'int';
    case 0xcf:
    case 0xd3:
      r.skip(8, field);
      return 'int';
    case 0xd9:
      r.utf8(r.u8(field), field);
      return 'str';
    case 0xda:
      r.utf8(r.u16(field), field);
      return 'str';
    case 0xdb:
      r.utf8(r.u32(field), field);
      return 'str';
    case 0xc1:
      throw invalidField(CONTEXT, field, at, 'uses the reserved msgpack byte 0xc1');
    default:
      // 0x80-0x9f, 0xdc-0xdf: arrays and maps; 0xc7-0xc9, 0xd4-0xd8: ext.
      throw invalidField(CONTEXT, field, at, 'is a msgpack array, map or ext, which control messages do not use');
  }
}

/**
 * Creates a codec for a table of message definitions.
 * @param defs the message types, e.g. `[...CONTROL_MESSAGES, defineControlMessage('chat-typing', {})]`
 */
export function createControlCodec<const D extends readonly ControlMessageDef[]>(
  defs: D,
  options: ControlCodecOptions = {},
): ControlCodec<MessageOfDef<D[number]>> {
  return new ControlCodec<MessageOfDef<D[number]>>(defs, options);
}

/** The codec for this version's CONTROL_MESSAGES. */
export const controlCodec: ControlCodec<ControlMessage> = createControlCodec(CONTROL_MESSAGES);

/**
 * Encodes one control message of this version.
 * @throws {StateError} TESSERA_ERR_BAD_STATE when `message` does not match its schema
 */
export function encodeControl(message: ControlMessage): Uint8Array {
  return controlCodec.encode(message);
}

/**
 * Decodes one control message of this version.
 * @throws {ProtocolError} see ControlCodec.decode
 */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  return controlCodec.decode(bytes);
}
