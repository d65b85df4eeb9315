/**
 * Pluggable back-ends of the tile codec: the session deflate stream, its inflater, and the lossy image codec.
 * spec/codec.md §5 (deflate stream) and §4.6 (lossy tiles).
 * The codec itself stays pure: node:zlib and sharp live in src/node/, fflate serves the browser.
 */
import { Deflate, Inflate } from 'fflate';
import { ErrorCode, ProtocolError } from '../core/index.js';

/**
 * One raw-deflate (RFC 1951) compression stream that lives as long as a codec session.
 * History spans every call until `reset`, so a glyph sent in one update can be matched in the next.
 */
export interface DeflateBackend {
  /**
   * Compresses `input` as the next part of the stream and ends with a sync flush (an empty stored block),
   * so the peer can inflate everything sent so far.
   * @returns a view of the compressed bytes, valid until the next call on this backend
   */
  deflateSync(input: Uint8Array): Uint8Array;
  /** Drops the history and starts a new stream (used for key frames). */
  reset(): void;
}

/** The peer of DeflateBackend: inflates the session stream part by part. */
export interface InflateBackend {
  /**
   * Inflates the next part of the stream into `out` and returns how many bytes were produced.
   * It must never produce more than `out.length` bytes, nor allocate in proportion to anything larger.
   * @throws {ProtocolError} TESSERA_ERR_LIMIT_EXCEEDED when the data inflates past `out.length`
   * @throws {ProtocolError} TESSERA_ERR_DECOMPRESS_FAILED when the data is not valid deflate
   */
  inflateInto(input: Uint8Array, out: Uint8Array): number;
  /** Drops the history and starts a new stream (used for key frames). */
  reset(): void;
}

/** Lossy image formats a LOSSY tile may carry (spec/codec.md §4.6). */
export type LossyFormat = 'jpeg' | 'webp';

/**
 * Encodes and decodes small RGBA images in a lossy format: sharp in Node (src/node/sharp-image-codec.ts),
 * createImageBitmap in the browser. Either method may answer synchronously or with a promise;
 * `TileEncoder.encode` and `TileDecoder.decode` need synchronous answers, the `*Async` methods take both.
 */
export interface ImageCodec {
  /** Compresses `width * height` RGBA pixels at quality 1..100. */
  encode(rgba: Uint8Array, width: number, height: number, format: LossyFormat, quality: number): Uint8Array | Promise<Uint8Array>;
  /** Decodes to exactly `width * height * 4` RGBA bytes, or throws/rejects. */
  decode(bytes: Uint8Array, format: LossyFormat, width: number, height: number): Uint8Array | Promise<Uint8Array>;
}

/** Largest expansion of raw deflate: a 258-byte match costs at least 2 bits, so ~1032 output bytes per input byte. */
const MAX_DEFLATE_RATIO = 1040;
/** Smallest slice of input fed to fflate at once. */
const MIN_FEED_BYTES = 64;

/**
 * Browser-safe streaming inflater over fflate's `Inflate`.
 * fflate grows its output without a cap, so input is fed in slices small enough that one slice
 * can never inflate past the space left in `out`; the total allocation stays within `out.length` plus one slice.
 */
export class FflateInflateBackend implements InflateBackend {
  #inflater!: Inflate;
  #out: Uint8Array = new Uint8Array(0);
  #produced = 0;
  #overflow = false;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.#inflater = new Inflate();
    this.#inflater.ondata = (chunk) => this.#take(chunk);
  }

  #take(chunk: Uint8Array): void {
    const room = this.#out.length - this.#produced;
    if (chunk.length > room) {
      this.#overflow = true;
      return;
    }
    this.#out.set(chunk, this.#produced);
    this.#produced += chunk.length;
  }

  inflateInto(input: Uint8Array, out: Uint8Array): number {
    this.#out = out;
    this.#produced = 0;
    this.#overflow = false;
    try {
      let pos = 0;
      while (pos < input.length) {
        const room = out.length - this.#produced;
        const feed = Math.max(MIN_FEED_BYTES, Math.floor(room / MAX_DEFLATE_RATIO));
        const end = Math.min(input.length, pos + feed);
        this.#inflater.push(input.subarray(pos, end), false);
        pos = end;
        if (this.#overflow) {
          throw new ProtocolError(ErrorCode.LimitExceeded, `tile body inflates past its declared ${out.length} bytes`, {
            context: 'codec-update',
            field: 'body',
            expected: out.length,
          });
        }
      }
      return this.#produced;
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      throw new ProtocolError(ErrorCode.DecompressFailed, 'tile body is not valid deflate data', {
        context: 'codec-update',
        field: 'body',
        cause: err,
      });
    } finally {
      this.#out = EMPTY;
    }
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Pure-JS session deflate stream over fflate's streaming `Deflate` with sync flushes.
 * For the browser or any runtime without zlib; in Node prefer `ZlibDeflateBackend` (src/node/zlib-backend.ts), about 10x faster.
 */
export class FflateDeflateBackend implements DeflateBackend {
  readonly #level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  #deflater!: Deflate;
  #out: Uint8Array = new Uint8Array(1 << 16);
  #length = 0;

  /** @param level deflate level 0..9 (default 6) */
  constructor(level = 6) {
    if (!(Number.isInteger(level) && level >= 0 && level <= 9)) throw new RangeError(`deflate level ${level} is outside 0..9`);
    this.#level = level as 0;
    this.reset();
  }

  reset(): void {
    this.#deflater = new Deflate({ level: this.#level });
    this.#deflater.ondata = (chunk) => this.#take(chunk);
  }

  #take(chunk: Uint8Array): void {
    const need = this.#length + chunk.length;
    if (need > this.#out.length) {
      let size = this.#out.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#out.subarray(0, this.#length));
      this.#out = next;
    }
    this.#out.set(chunk, this.#length);
    this.#length = need;
  }

  deflateSync(input: Uint8Array): Uint8Array {
    this.#length = 0;
    this.#deflater.push(input, false);
    this.#deflater.flush(true);
    return this.#out.subarray(0, this.#length);
  }
}
