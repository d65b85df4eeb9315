import { invalidField, trailing, truncated } from './errors.js';

/**
 * A bounded big-endian reader over one complete message.
 * Every read names its field and is checked first, so short input becomes a ProtocolError
 * with code TESSERA_ERR_TRUNCATED and never an engine RangeError.
 */
export class ByteReader {
  #pos = 0;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly context: string;

  constructor(bytes: Uint8Array, context: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.context = context;
  }

  /** Current read offset from the start of the message. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  /**
   * Throws TESSERA_ERR_TRUNCATED unless `n` more bytes are available.
   * A negative or fractional `n` (usually a length computed from a peer's fields) is TESSERA_ERR_INVALID_FIELD.
   */
  need(n: number, field: string): void {
    if (!(Number.isInteger(n) && n >= 0)) throw invalidField(this.context, field, this.#pos, 'is not a valid length', String(n));
    this.#need(n, field);
  }

  /** The check for fixed-size reads, where `n` is a small non-negative integer constant. */
  #need(n: number, field: string): void {
    if (!(n <= this.#bytes.byteLength - this.#pos)) throw truncated(this.context, field, this.#pos, n, this.remaining);
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#bytes[this.#pos++]!;
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a u64 as a bigint. */
  u64(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    return v;
  }

  i16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getInt16(this.#pos);
    this.#pos += 2;
    return v;
  }

  i32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getInt32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /**
   * Reads an unsigned LEB128 varint of at most 5 bytes (values up to 2^32-1).
   * Only the shortest encoding is accepted: a last byte of 0x00 after a continuation byte is
   * TESSERA_ERR_INVALID_FIELD, so every value has exactly one encoding.
   */
  varuint(field: string): number {
    let result = 0;
    let shift = 0;
    const start = this.#pos;
    for (let i = 0; i < 5; i++) {
      const b = this.u8(field);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffffffff) throw invalidField(this.context, field, start, 'is larger than 2^32-1');
        if (b === 0 && i > 0) throw invalidField(this.context, field, start, 'is not the shortest varint encoding');
        return result;
      }
      shift += 7;
    }
    throw invalidField(this.context, field, start, 'is a varint longer than 5 bytes');
  }

  /** A zero-copy view valid as long as the input buffer is. */
  bytesView(n: number, field: string): Uint8Array {
    this.need(n, field);
    return this.#bytes.subarray(this.#pos, (this.#pos += n));
  }

  /** A copy that may outlive the input buffer. */
  bytesCopy(n: number, field: string): Uint8Array {
    return this.bytesView(n, field).slice();
  }

  /** Reads `n` bytes of UTF-8; invalid UTF-8 is TESSERA_ERR_INVALID_FIELD. */
  utf8(n: number, field: string): string {
    const at = this.#pos;
    const view = this.bytesView(n, field);
    try {
      return UTF8_STRICT.decode(view);
    } catch {
      throw invalidField(this.context, field, at, 'is not valid utf-8');
    }
  }

  /** Skips `n` bytes. */
  skip(n: number, field: string): void {
    this.need(n, field);
    this.#pos += n;
  }

  /** The rest of the input as a view. */
  rest(): Uint8Array {
    return this.bytesView(this.remaining, 'rest');
  }

  /** Throws TESSERA_ERR_TRAILING_BYTES unless every byte was read. */
  end(): void {
    if (this.remaining !== 0) throw trailing(this.context, this.#pos, this.remaining);
  }
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });
