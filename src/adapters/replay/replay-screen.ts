/**
 * The replay adapter: a screen that plays a folder of PNG frames (`0000.png`, `0001.png`, ... in numeric order),
 * for benchmarks and fidelity tests over recorded screens such as `../shared/corpus`.
 *
 * Two paces:
 * - `fixed`: the frame shown is chosen by the time elapsed since the first capture (`fps` frames a second), so a
 *   slow consumer skips frames, as it would on a live screen.
 * - `ack`: the frame moves on only when {@link ReplayScreen.advance} is called (the session calls it once every
 *   helper acknowledged the previous frame), so every frame is delivered exactly once, whatever the link speed.
 *
 * Frames are decoded lazily with sharp, RGB or grey PNGs becoming RGBA with alpha 255, and kept in a small window
 * (the current frame plus `readAhead` decoded ahead), so a 25-frame 1920x1080 sequence costs about 3 x 8 MB.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type sharpFn from 'sharp';
import { ConfigError, ErrorCode, StateError, TesseraError, type Clock } from '../../core/index.js';
import { MAX_SCREEN_DIMENSION, type Framebuffer } from '../../codec/framebuffer.js';
import type { Capture, DamageListener, ScreenSource, Unsubscribe } from '../types.js';

/** How a replay moves from frame to frame. */
export type ReplayPace = 'fixed' | 'ack';

/** Options of {@link ReplayScreen.open}. */
export interface ReplayScreenOptions {
  /** Folder holding `NNNN.png` frames (any number of digits; other files are ignored). */
  readonly dir: string;
  /** Frames per second for the `fixed` pace (default 10). */
  readonly fps?: number;
  /** `fixed` (default): frame chosen by elapsed time; `ack`: next frame only on `advance()`. */
  readonly pace?: ReplayPace;
  /** Start again at frame 0 after the last one (default false: stay on the last frame and report `done`). */
  readonly loop?: boolean;
  /** Milliseconds clock for the `fixed` pace (default `Date.now`); only differences matter. */
  readonly now?: Clock;
  /** Frames decoded ahead of the current one (default 2, 0..16). */
  readonly readAhead?: number;
}

const FRAME_NAME = /^(\d+)\.png$/i;

/** A ScreenSource that plays PNG frames from a folder. */
export class ReplayScreen implements ScreenSource {
  readonly width: number;
  readonly height: number;
  /** Full paths of the frames, in play order. */
  readonly files: readonly string[];
  readonly #fps: number;
  readonly #pace: ReplayPace;
  readonly #loop: boolean;
  readonly #now: Clock;
  readonly #readAhead: number;
  readonly #cache = new Map<number, Promise<Framebuffer>>();
  readonly #damageListeners = new Set<DamageListener>();
  #ackIndex = 0;
  #ackDone = false;
  #startedAt: number | undefined;
  #lastCaptured = -1;
  #closed = false;

  private constructor(files: string[], first: Framebuffer, options: ReplayScreenOptions) {
    this.files = files;
    this.width = first.width;
    this.height = first.height;
    this.#fps = options.fps ?? 10;
    this.#pace = options.pace ?? 'fixed';
    this.#loop = options.loop ?? false;
    this.#now = options.now ?? Date.now;
    this.#readAhead = options.readAhead ?? 2;
    this.#cache.set(0, Promise.resolve(first));
  }

  /**
   * Lists and checks the folder and decodes the first frame (which sets the screen size).
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for bad options or a folder without frames
   * @throws {TesseraError} TESSERA_ERR_IO when the folder cannot be read or the first frame cannot be decoded
   */
  static async open(options: ReplayScreenOptions): Promise<ReplayScreen> {
    const fps = options.fps ?? 10;
    if (!(Number.isFinite(fps) && fps > 0 && fps <= 1000)) throw new ConfigError(`replay fps ${fps} is outside (0, 1000]`);
    if (options.pace !== undefined && options.pace !== 'fixed' && options.pace !== 'ack') {
      throw new ConfigError(`replay pace ${JSON.stringify(String(options.pace))} is neither 'fixed' nor 'ack'`);
    }
    const readAhead = options.readAhead ?? 2;
    if (!(Number.isInteger(readAhead) && readAhead >= 0 && readAhead <= 16)) throw new ConfigError(`replay readAhead ${readAhead} is outside 0..16`);
    let names: string[];
    try {
      names = await readdir(options.dir);
    } catch (cause) {
      throw new TesseraError(ErrorCode.Io, `cannot read the replay folder`, { context: 'replay', cause });
    }
    const frames = names
      .map((name) => ({ name, match: FRAME_NAME.exec(name) }))
      .filter((entry): entry is { name: string; match: RegExpExecArray } => entry.match !== null)
      .sort((a, b) => Number(a.match[1]) - Number(b.match[1]) || (a.name < b.name ? -1 : 1))
      .map((entry) => join(options.dir, entry.name));
    if (frames.length === 0) throw new ConfigError('the replay folder has no NNNN.png frames', { context: 'replay' });
    const first = await decodeFrame(frames[0]!, 0);
    return new ReplayScreen(frames, first, options);
  }

  /** Number of frames in the sequence. */
  /** 'fixed' (frame by elapsed time) or 'ack' (next frame on advance()). */
  get pace(): ReplayPace {
    return this.#pace;
  }

  get frameCount(): number {
    return this.files.length;
  }

  /** The frame the next capture shows. */
  get index(): number {
    return this.#pace === 'ack' ? this.#ackIndex : this.#timedIndex().index;
  }

  /** True once every frame has been shown (never with `loop`). */
  get done(): boolean {
    return this.#pace === 'ack' ? this.#ackDone : this.#timedIndex().done;
  }

  /**
   * The current frame. Damage is the whole screen on the first capture, `[]` when the frame is the same as the
   * previous capture's, and `undefined` (compare with the previous frame) when it moved on, since PNG frames carry
   * no damage of their own. Each frame is its own buffer; the source never writes into a frame it returned.
   * @throws {TesseraError} TESSERA_ERR_IO when a frame cannot be decoded
   * @throws {ConfigError} when a frame's size differs from the first frame's
   * @throws {StateError} after close()
   */
  async capture(): Promise<Capture> {
    if (this.#closed) throw new StateError('the replay screen is closed');
    if (this.#pace === 'fixed' && this.#startedAt === undefined) this.#startedAt = this.#now();
    const index = this.index;
    this.#trimCache(index);
    const frame = await this.#load(index);
    for (let ahead = 1; ahead <= this.#readAhead; ahead++) {
      const next = this.#wrap(index + ahead);
      // Read-ahead failures surface when that frame is captured, not here.
      if (next !== undefined) this.#load(next).catch(() => undefined);
    }
    const first = this.#lastCaptured === -1;
    const same = index === this.#lastCaptured;
    this.#lastCaptured = index;
    if (first) return { frame, damage: [{ x: 0, y: 0, width: this.width, height: this.height }] };
    if (same) return { frame, damage: [] };
    return { frame };
  }

  /**
   * In the `ack` pace, moves to the next frame (or, after the last, to frame 0 with `loop`, else marks the replay
   * done) and tells the damage listeners. Ignored in the `fixed` pace, where time moves the frames.
   */
  advance(): void {
    if (this.#pace !== 'ack' || this.#closed) return;
    if (this.#ackIndex + 1 < this.files.length) {
      this.#ackIndex++;
    } else if (this.#loop) {
      this.#ackIndex = 0;
    } else {
      this.#ackDone = true;
      return;
    }
    for (const listener of [...this.#damageListeners]) listener();
  }

  /** Listens for frame changes in the `ack` pace (the `fixed` pace is polled at its frame rate). */
  onDamage(listener: DamageListener): Unsubscribe {
    this.#damageListeners.add(listener);
    return () => void this.#damageListeners.delete(listener);
  }

  /** Drops the decoded frames; captures after this throw. */
  close(): void {
    this.#closed = true;
    this.#cache.clear();
    this.#damageListeners.clear();
  }

  #timedIndex(): { index: number; done: boolean } {
    if (this.#startedAt === undefined) return { index: 0, done: false };
    const elapsed = Math.max(0, this.#now() - this.#startedAt);
    const step = Math.floor((elapsed * this.#fps) / 1000);
    const count = this.files.length;
    if (this.#loop) return { index: step % count, done: false };
    return { index: Math.min(step, count - 1), done: step >= count };
  }

  /** The index `i` steps into the sequence, wrapping with `loop`, or undefined past the end. */
  #wrap(i: number): number | undefined {
    if (i < this.files.length) return i;
    return this.#loop ? i % this.files.length : undefined;
  }

  #load(index: number): Promise<Framebuffer> {
    let pending = this.#cache.get(index);
    if (pending === undefined) {
      pending = decodeFrame(this.files[index]!, index).then((frame) => {
        if (frame.width !== this.width || frame.height !== this.height) {
          throw new ConfigError(`replay frame ${index} is ${frame.width}x${frame.height}, not ${this.width}x${this.height}`, { context: 'replay' });
        }
        return frame;
      });
      // A failed decode is retried on the next capture rather than cached.
      pending.catch(() => this.#cache.delete(index));
      this.#cache.set(index, pending);
    }
    return pending;
  }

  /** Keeps only the current frame and the read-ahead window. */
  #trimCache(index: number): void {
    for (const key of this.#cache.keys()) {
      const distance = (key - index + this.files.length) % this.files.length;
      if (distance > this.#readAhead) this.#cache.delete(key);
    }
  }
}

let sharpLoading: Promise<typeof sharpFn> | undefined;

/** sharp, imported on first use (a host that replays no PNGs never pays for it). */
function loadSharp(): Promise<typeof sharpFn> {
  return (sharpLoading ??= import('sharp').then((m) => m.default));
}

/** sharp's decode of a file to 8-bit sRGB with an alpha channel. */
async function rawRgba(file: string) {
  const sharp = await loadSharp();
  return sharp(file).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
}

/** Decodes one PNG into an RGBA framebuffer with alpha 255 where the file has none. */
async function decodeFrame(file: string, index: number): Promise<Framebuffer> {
  let decoded: Awaited<ReturnType<typeof rawRgba>>;
  try {
    decoded = await rawRgba(file);
  } catch (cause) {
    throw new TesseraError(ErrorCode.Io, `cannot decode replay frame ${index}`, { context: 'replay', cause });
  }
  const { data, info } = decoded;
  const { width, height, channels } = info;
  if (!(width >= 1 && height >= 1 && width <= MAX_SCREEN_DIMENSION && height <= MAX_SCREEN_DIMENSION) || channels !== 4 || data.length !== width * height * 4) {
    throw new TesseraError(ErrorCode.Io, `replay frame ${index} did not decode to 8-bit rgba`, { context: 'replay' });
  }
  // Keep the pixels 4-byte aligned so consumers can read them through a Uint32Array.
  const bytes = data.byteOffset % 4 === 0 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : new Uint8Array(data);
  return { width, height, data: bytes };
}
