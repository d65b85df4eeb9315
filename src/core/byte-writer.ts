import { StateError } from './errors.js';

const UTF8 = new TextEncoder();

/**
 * A growable big-endian writer. It doubles its buffer as needed and can be reset and reused,
 * so a hot path allocates only when a message is larger than any before it.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  readonly #maxBytes: number;

  /**
   * @param initialBytes starting capacity
   * @param maxBytes hard cap; writing past it throws StateError (a bug on our side, not the peer's)
   */
  constructor(initialBytes = 256, maxBytes = 0x7fffffff) {
    this.#buf = new Uint8Array(Math.max(16, Math.min(initialBytes, maxBytes)));
    this.#view = new DataView(this.#buf.buffer);
    this.#maxBytes = maxBytes;
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#pos;
  }

  /** Forgets what was written; keeps the buffer. */
  reset(): this {
    this.#pos = 0;
    return this;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.#pos + n;
    if (!(Number.isInteger(n) && n >= 0)) throw new StateError(`byte writer cannot make room for ${n} bytes`);
    if (need <= this.#buf.byteLength) return;
    if (need > this.#maxBytes) throw new StateError(`byte writer would exceed its ${this.#maxBytes}-byte cap`);
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    size = Math.min(size, this.#maxBytes);
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Writes one byte; `v` must be an integer 0..255 (StateError otherwise, never a silent wrap). */
  u8(v: number): this {
    if ((v & 0xff) !== v) throw outOfRange('u8', v);
    this.ensure(1);
    this.#buf[this.#pos++] = v;
    return this;
  }

  /** Writes a big-endian u16; `v` must be an integer 0..65535. */
  u16(v: number): this {
    if ((v & 0xffff) !== v) throw outOfRange('u16', v);
    this.ensure(2);
    this.#view.setUint16(this.#pos, v);
    this.#pos += 2;
    return this;
  }

  /** Writes a big-endian u32; `v` must be an integer 0..2^32-1. */
  u32(v: number): this {
    if (v >>> 0 !== v) throw outOfRange('u32', v);
    this.ensure(4);
    this.#view.setUint32(this.#pos, v);
    this.#pos += 4;
    return this;
  }

  /** Writes a big-endian u64; `v` must be 0..2^64-1. */
  u64(v: bigint): this {
    if (!(v >= 0n && v <= 0xffffffffffffffffn)) throw outOfRange('u64', v);
    this.ensure(8);
    this.#view.setBigUint64(this.#pos, v);
    this.#pos += 8;
    return this;
  }

  /** Writes a big-endian i16; `v` must be an integer -32768..32767. */
  i16(v: number): this {
    if ((v << 16) >> 16 !== v) throw outOfRange('i16', v);
    this.ensure(2);
    this.#view.setInt16(this.#pos, v);
    this.#pos += 2;
    return this;
  }

  /** Writes a big-endian i32; `v` must be an integer -2^31..2^31-1. */
  i32(v: number): this {
    if ((v | 0) !== v) throw outOfRange('i32', v);
    this.ensure(4);
    this.#view.setInt32(this.#pos, v);
    this.#pos += 4;
    return this;
  }

  /** Unsigned LEB128, for values 0..2^32-1. */
  varuint(v: number): this {
    if (v >>> 0 !== v) throw outOfRange('varuint', v);
    this.ensure(5);
    while (v >= 0x80) {
      this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#pos++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.byteLength);
    this.#buf.set(b, this.#pos);
    this.#pos += b.byteLength;
    return this;
  }

  /** Writes UTF-8 bytes (no length prefix) and returns the number of bytes written. */
  utf8(s: string): number {
    this.ensure(s.length * 3);
    const { written } = UTF8.encodeInto(s, this.#buf.subarray(this.#pos));
    this.#pos += written;
    return written;
  }

  /** Overwrites a u32 at an earlier offset (for length fields written after their body). */
  patchU32(offset: number, v: number): void {
    if (!(Number.isInteger(offset) && offset >= 0 && offset + 4 <= this.#pos)) throw new StateError('patch outside written bytes');
    if (v >>> 0 !== v) throw outOfRange('u32', v);
    this.#view.setUint32(offset, v);
  }

  /** A view of the written bytes, valid until the next write or reset. */
  viewShared(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** A copy of the written bytes. */
  toBytes(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

function outOfRange(kind: string, v: number | bigint): StateError {
  return new StateError(`${kind} value out of range: ${String(v)}`, { field: kind, received: String(v) });
}
