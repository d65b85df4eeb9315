/**
 * Keeps every display update within one frame (spec/framing.md §2.3, FR-10): a picture whose update would be over
 * the cap is sent as several updates, each within it, using only what the codec already allows (spec/codec.md §2):
 * a KEY update of the picture's first bands over transparent black, then one delta per further band.
 */
import { ErrorCode, TesseraError } from '../core/index.js';
import { TILE_SIZE_PX, type Framebuffer, type Rect } from '../codec/index.js';
import { MAX_DISPLAY_UPDATE_BYTES } from './constants.js';
import type { DisplayEncoder } from './display-groups.js';

/** An encoder of one update per call: the codec encoder of one display group (createDisplayEncoder on Node). */
export interface SingleUpdateEncoder {
  /**
   * Encodes `frame` as a delta to the last frame this encoder encoded (a KEY update after reset()).
   * @returns the update bytes (owned by the caller), or undefined when nothing changed
   */
  encode(frame: Framebuffer, damage: readonly Rect[] | undefined): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Makes the next encode a key frame with fresh codec state. */
  reset(): void;
}

/** Options of a FittingEncoder. */
export interface FittingEncoderOptions {
  /** Largest update sent in one frame. Default MAX_DISPLAY_UPDATE_BYTES (16 MiB − 21); a test may give a small one. */
  readonly maxUpdateBytes?: number;
}

/** What the splitting has done, for tests and statistics. */
export interface FittingEncoderStats {
  /** Pictures sent as several updates. */
  splits: number;
  /** Updates sent for them, all splits together. */
  pieces: number;
  /** Encodes of a whole split sequence (more than splits when a band did not fit and the bands were made narrower). */
  attempts: number;
}

/** Part of the cap a band is planned to fill, so that a band noisier than the average still fits. */
const BAND_FILL = 0.75;

/**
 * A DisplayEncoder that never returns an update over maxUpdateBytes (spec/framing.md §2.3).
 * An update that fits is returned as is. One that does not is never sent: the wrapped encoder has advanced
 * (reference frame, deflate stream, seq, cache) as if it had been, so it is reset (a KEY next, as when a helper
 * joins) and the same picture F is encoded again as n pictures F1..Fn that converge on it: F is cut into n
 * horizontal bands along tile rows, Fi is F's first i bands over transparent black (what a KEY update starts from,
 * spec/codec.md CODEC-8), F1 goes as a KEY update and F2..Fn as deltas (only band i changes), and Fn = F.
 * n is planned from the oversize update's size; if a piece still does not fit, the bands are made narrower and the
 * sequence encoded again, down to one tile row per band.
 * The pieces must all reach every member of the group, in order: DisplayGroups sends them as one unit.
 */
export class FittingEncoder implements DisplayEncoder {
  readonly #encoder: SingleUpdateEncoder;
  readonly #maxUpdateBytes: number;
  readonly stats: FittingEncoderStats = { splits: 0, pieces: 0, attempts: 0 };

  constructor(encoder: SingleUpdateEncoder, options: FittingEncoderOptions = {}) {
    const max = options.maxUpdateBytes ?? MAX_DISPLAY_UPDATE_BYTES;
    if (!(Number.isSafeInteger(max) && max >= 1 && max <= MAX_DISPLAY_UPDATE_BYTES)) {
      throw new RangeError(`maxUpdateBytes must be 1 to ${MAX_DISPLAY_UPDATE_BYTES}, got ${max}`);
    }
    this.#encoder = encoder;
    this.#maxUpdateBytes = max;
  }

  /** The largest update this encoder returns. */
  get maxUpdateBytes(): number {
    return this.#maxUpdateBytes;
  }

  /**
   * Encodes `frame` as one update, or as several when one would be over maxUpdateBytes.
   * @returns one update, the pieces of a split (send all, in order), or undefined when nothing changed
   * @throws {TesseraError} TESSERA_ERR_LIMIT_EXCEEDED when even one tile row of the picture does not fit (the encoder is then reset)
   */
  async encode(frame: Framebuffer, damage: readonly Rect[] | undefined): Promise<Uint8Array | Uint8Array[] | undefined> {
    const update = await this.#encoder.encode(frame, damage);
    if (update === undefined || update.byteLength <= this.#maxUpdateBytes) return update;
    return this.#split(frame, update.byteLength);
  }

  /** Makes the next encode a key frame with fresh codec state (a helper joined, the screen changed size). */
  reset(): void {
    this.#encoder.reset();
  }

  async #split(frame: Framebuffer, oversizeBytes: number): Promise<Uint8Array[]> {
    const { width, height } = frame;
    const tileRows = Math.ceil(height / TILE_SIZE_PX);
    const rowBytes = width * 4;
    let bands = Math.min(tileRows, Math.ceil(oversizeBytes / (BAND_FILL * this.#maxUpdateBytes)) + 1);
    // One zeroed picture per split: Fi is built in it band by band.
    let scratch: Uint8Array | undefined;
    for (;;) {
      this.stats.attempts++;
      // The oversize update (or a failed attempt) was never sent: start the helper's picture over with a KEY.
      this.#encoder.reset();
      if (scratch) scratch.fill(0);
      else scratch = new Uint8Array(frame.data.byteLength);
      const picture: Framebuffer = { width, height, data: scratch };
      const pieces: Uint8Array[] = [];
      let overflowBytes = 0;
      for (let i = 0; i < bands; i++) {
        const y0 = Math.min(height, Math.floor((i * tileRows) / bands) * TILE_SIZE_PX);
        const y1 = Math.min(height, Math.floor(((i + 1) * tileRows) / bands) * TILE_SIZE_PX);
        scratch.set(frame.data.subarray(y0 * rowBytes, y1 * rowBytes), y0 * rowBytes);
        // The first piece is a KEY update (the encoder was reset), so it compares nothing: no damage to give.
        const piece = await this.#encoder.encode(picture, i === 0 ? undefined : [{ x: 0, y: y0, width, height: y1 - y0 }]);
        // A band that equals transparent black changes nothing after the first piece.
        if (piece === undefined) continue;
        if (piece.byteLength > this.#maxUpdateBytes) {
          overflowBytes = piece.byteLength;
          break;
        }
        pieces.push(piece);
      }
      if (overflowBytes === 0) {
        this.stats.splits++;
        this.stats.pieces += pieces.length;
        return pieces;
      }
      if (bands >= tileRows) {
        // Leave the encoder in a known state: whatever it encodes next is a KEY update.
        this.#encoder.reset();
        throw new TesseraError(
          ErrorCode.LimitExceeded,
          `a ${width}x${height} picture does not fit ${this.#maxUpdateBytes}-byte display updates even one tile row at a time (${overflowBytes} bytes)`,
          { context: 'display', field: 'update', expected: this.#maxUpdateBytes, received: overflowBytes },
        );
      }
      // Narrower bands, in proportion to how far the piece overflowed (at least twice as many).
      bands = Math.min(tileRows, Math.max(bands * 2, Math.ceil((bands * overflowBytes) / (BAND_FILL * this.#maxUpdateBytes))));
    }
  }
}
