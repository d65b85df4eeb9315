import { ErrorCode, ProtocolError, StateError } from '../core/index.js';
import { ABSOLUTE_MAX_BODY_BYTES, FRAME_HEADER_BYTES, MIN_BODY_BYTES, PRE_AUTH_MAX_BODY_BYTES } from './constants.js';
import { parseBody, type Frame } from './frame.js';
import { NullProtector, type FrameProtector } from './protector.js';
import { copyBytes } from './alloc.js';

/** Options of a Deframer. */
export interface DeframerOptions {
  /** Largest body accepted, checked before any allocation. Default PRE_AUTH_MAX_BODY_BYTES (8 KiB). */
  readonly maxBodyBytes?: number;
}

/**
 * Incremental, sans-IO frame parser (spec/framing.md §2.1, §2.5).
 * Push any split of the byte stream with `push`; take whole frames with `next`.
 * It holds at most one frame's worth of bytes beyond what it was given (header + maxBodyBytes) and
 * checks every length against the cap before allocating. After an error it stays failed.
 */
export class Deframer {
  #maxBodyBytes: number;
  #protector: FrameProtector = NullProtector;
  /** Receive buffer; compacted with copyWithin, grown only up to header + maxBodyBytes. */
  #buf: Uint8Array = new Uint8Array(1024);
  #start = 0;
  #end = 0;
  #failed: ProtocolError | undefined;
  /** Stream offset of #buf[#start], for error messages. */
  #streamOffset = 0;

  constructor(options: DeframerOptions = {}) {
    this.#maxBodyBytes = checkLimit(options.maxBodyBytes ?? PRE_AUTH_MAX_BODY_BYTES);
  }

  /** Current cap on a body. */
  get maxBodyBytes(): number {
    return this.#maxBodyBytes;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Changes the body cap (raised after the handshake). Applies to frames not yet started. */
  setMaxBodyBytes(n: number): void {
    this.#maxBodyBytes = checkLimit(n);
  }

  /** Installs the open stage for all later frames (called once the handshake has keys). */
  setProtector(p: FrameProtector): void {
    this.#protector = p;
  }

  /**
   * Appends received bytes; call `next()` until it returns undefined before pushing again.
   * Bytes are copied, so the caller may reuse `chunk`. Drained that way, the buffer never holds more
   * than one partial frame (at most header + maxBodyBytes) plus one chunk.
   * @throws {ProtocolError} TESSERA_ERR_FRAME_TOO_LARGE as soon as a header announces a body over the cap
   */
  push(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    this.#append(chunk);
    if (this.#end - this.#start >= FRAME_HEADER_BYTES) this.#headerLength();
  }

  /**
   * Returns the next whole frame, or undefined when more bytes are needed.
   * The payload is a copy the caller owns.
   * @throws {ProtocolError} TESSERA_ERR_FRAME_TOO_LARGE, TESSERA_ERR_TRUNCATED, TESSERA_ERR_UNKNOWN_CHANNEL, TESSERA_ERR_DECRYPT_FAILED
   */
  next(): Frame | undefined {
    if (this.#failed) throw this.#failed;
    try {
      const size = this.peekSize();
      if (size === undefined) return undefined;
      const frameOffset = this.#streamOffset;
      const bodyStart = this.#start + FRAME_HEADER_BYTES;
      const sealed = copyBytes(this.#buf.subarray(bodyStart, bodyStart + size));
      this.#start = bodyStart + size;
      this.#streamOffset += FRAME_HEADER_BYTES + size;
      if (this.#start === this.#end) this.#start = this.#end = 0;
      let body: Uint8Array;
      try {
        body = this.#protector.open(sealed);
      } catch (err) {
        // A protector must throw ProtocolError(DECRYPT_FAILED); anything else it throws still means
        // the body could not be opened, and must not escape as an engine error.
        if (err instanceof ProtocolError) throw err;
        throw new ProtocolError(ErrorCode.DecryptFailed, `frame at stream offset ${frameOffset} could not be opened`, {
          context: 'frame-body',
          offset: frameOffset,
          cause: err,
        });
      }
      return parseBody(body);
    } catch (err) {
      this.#failed = err instanceof ProtocolError ? err : new ProtocolError(ErrorCode.InvalidField, 'frame could not be parsed', { cause: err });
      throw this.#failed;
    }
  }

  /**
   * Answers "how big is the next body?" without consuming: undefined = need more bytes,
   * a number = body size (whole body buffered).
   * @throws {ProtocolError} when the header announces a body over the cap or under the minimum
   */
  peekSize(): number | undefined {
    if (this.#failed) throw this.#failed;
    const have = this.#end - this.#start;
    if (have < FRAME_HEADER_BYTES) return undefined;
    const size = this.#headerLength();
    if (have < FRAME_HEADER_BYTES + size) return undefined;
    return size;
  }

  #headerLength(): number {
    const b = this.#buf;
    const s = this.#start;
    const size = ((b[s]! << 24) >>> 0) + (b[s + 1]! << 16) + (b[s + 2]! << 8) + b[s + 3]!;
    if (size > this.#maxBodyBytes) {
      this.#failed = new ProtocolError(
        ErrorCode.FrameTooLarge,
        `frame at stream offset ${this.#streamOffset} announces a ${size}-byte body, over the ${this.#maxBodyBytes}-byte limit`,
        { context: 'frame-header', field: 'length', offset: this.#streamOffset, expected: this.#maxBodyBytes, received: size },
      );
      throw this.#failed;
    }
    if (size < MIN_BODY_BYTES + this.#protector.overhead) {
      this.#failed = new ProtocolError(
        ErrorCode.Truncated,
        `frame at stream offset ${this.#streamOffset} announces a ${size}-byte body, under the ${MIN_BODY_BYTES + this.#protector.overhead}-byte minimum`,
        { context: 'frame-header', field: 'length', offset: this.#streamOffset, expected: MIN_BODY_BYTES + this.#protector.overhead, received: size },
      );
      throw this.#failed;
    }
    return size;
  }

  #append(bytes: Uint8Array): void {
    const n = bytes.byteLength;
    if (this.#end + n > this.#buf.byteLength) {
      const live = this.#end - this.#start;
      if (live + n <= this.#buf.byteLength && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let size = this.#buf.byteLength;
        while (size < live + n) size *= 2;
        const next = new Uint8Array(size);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += n;
  }
}

function checkLimit(n: number): number {
  if (!(Number.isInteger(n) && n >= MIN_BODY_BYTES && n <= ABSOLUTE_MAX_BODY_BYTES)) {
    throw new StateError(`maxBodyBytes must be an integer from ${MIN_BODY_BYTES} to ${ABSOLUTE_MAX_BODY_BYTES}, got ${n}`);
  }
  return n;
}
