/**
 * Pluggable back-ends of the tile codec: the session deflate stream, its inflater, and the lossy image codec.
 * spec/codec.md §5 (deflate stream) and §4.6 (lossy tiles).
 * The codec itself stays pure: node:zlib and sharp live in src/node/, fflate serves the browser.
 *
 * There is deliberately no fflate DeflateBackend: fflate 0.8's streaming `Deflate.flush(true)` produces
 * corrupt output once a stream has been flushed more than once (zlib then reports "invalid stored block
 * lengths"; reproduced with two flushes of 5000 and 8226 bytes), so a persistent fflate stream cannot serve
 * as the session stream. Encoding therefore needs node:zlib (ZlibDeflateBackend) or another correct
 * implementation of DeflateBackend; decoding uses fflate's Inflate, which is correct.
 */
import { Inflate } from 'fflate';
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
/** Smallest slice of input fed to fflate at once: bounds one push to about 2 MiB of output beyond the caller's buffer. */
const MIN_FEED_BYTES = 2048;

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
