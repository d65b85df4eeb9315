/**
 * The host's capture-and-fan-out loop (spec/session.md §6.3–6.4): captures the screen when a capture is useful
 * (damage, an acknowledgement, injected input, or the polling pace), encodes each frame once per group of helpers
 * (DisplayGroups) and hands the update to every member. It also moves an ack-paced replay on and carries screen
 * size changes to every session.
 */
import type { Clock } from '../../core/index.js';
import { CAPTURE_REFRESH_MS, DEFAULT_MAX_FPS } from '../../core/defaults.js';
import { TileEncoder, type QualityMode, type Rect } from '../../codec/index.js';
import { DisplayGroups, type DisplayEncoder, type DisplayMember } from '../../session/display-groups.js';
import { FittingEncoder, type SingleUpdateEncoder } from '../../session/fitting-encoder.js';
import type { ScreenSource } from '../../adapters/types.js';
import { ReplayScreen } from '../../adapters/replay/replay-screen.js';
import { ZlibDeflateBackend, nodeBytesEqual } from '../../node/zlib-backend.js';
import { SharpImageCodec } from '../../node/sharp-image-codec.js';

/** A helper's session as the loop sees it. */
export interface CaptureMember extends DisplayMember {
  /** The screen changed size: the session tells its helper. */
  resize(width: number, height: number): void;
}

/** Options of CaptureLoop. */
export interface CaptureLoopOptions<M extends CaptureMember = CaptureMember> {
  readonly source: ScreenSource;
  readonly quality: QualityMode;
  readonly clock: Clock;
  /** Most captures per second when polling (default DEFAULT_MAX_FPS). */
  readonly maxFps?: number;
  /** The source failed: the host reports it and ends every session. */
  readonly onSourceError: (err: unknown) => void;
  /**
   * A display group's encoder failed (a picture that cannot be split to fit a frame): the host reports it and ends
   * those members' sessions; the other groups go on. Without it, onSourceError is called.
   */
  readonly onDisplayError?: (members: readonly M[], err: unknown) => void;
  /** Largest display update in one frame (default 16 MiB − 21, spec/framing.md §2.3); larger pictures are split. */
  readonly maxUpdateBytes?: number;
  /** An ack-paced replay moved on to frame `index`. */
  readonly onReplayAdvance?: (index: number) => void;
}

/** Captures, encodes once per group, fans out. */
export class CaptureLoop<M extends CaptureMember> {
  readonly #source: ScreenSource;
  readonly #clock: Clock;
  readonly #options: CaptureLoopOptions<M>;
  readonly #groups: DisplayGroups<M>;
  readonly #members = new Set<M>();
  readonly #unsubscribe: (() => void)[] = [];
  #running = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #capturing = false;
  #kickPending = false;
  #kickQueued = false;
  #lastCaptureAt = 0;
  #width: number;
  #height: number;
  #pendingGeneration = 0;
  #replayAdvanced = false;
  /** Pieces of a split wait for room: the timer kicks until they have gone, whatever the source reports. */
  #piecesWaiting = false;

  constructor(options: CaptureLoopOptions<M>) {
    this.#options = options;
    this.#source = options.source;
    this.#clock = options.clock;
    this.#width = this.#source.width;
    this.#height = this.#source.height;
    const imageCodec = options.quality === 'lossless' ? undefined : new SharpImageCodec();
    const fit = options.maxUpdateBytes === undefined ? {} : { maxUpdateBytes: options.maxUpdateBytes };
    this.#groups = new DisplayGroups<M>({
      createEncoder: () => createDisplayEncoder(this.#source.width, this.#source.height, options.quality, imageCodec, fit),
      onEncodeError: (members, err) => {
        for (const m of members) this.#members.delete(m);
        if (options.onDisplayError) options.onDisplayError(members, err);
        else options.onSourceError(err);
      },
    });
    if (this.#source.onDamage) this.#unsubscribe.push(this.#source.onDamage(() => this.kick()));
    if (this.#source.onResize) this.#unsubscribe.push(this.#source.onResize((w, h) => this.#resized(w, h)));
  }

  /** Starts the polling timer (idempotent). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const interval = Math.max(5, Math.floor(1000 / (this.#options.maxFps ?? DEFAULT_MAX_FPS)));
    this.#timer = setInterval(() => {
      // Sources without damage reports are polled at the frame rate; so is a replay at a fixed pace, whose frames
      // change with time and never report damage (only an ack-paced replay does, on advance()).
      const src = this.#source;
      const polled = !src.onDamage || (src instanceof ReplayScreen && src.pace === 'fixed');
      if (polled || this.#piecesWaiting || this.#clock() - this.#lastCaptureAt >= CAPTURE_REFRESH_MS) this.kick();
    }, interval);
    this.#timer.unref();
  }

  /** Stops capturing and lets go of the source's notifications. */
  stop(): void {
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  /** A new helper: it joins the main group, which restarts with a key frame. */
  add(member: M): void {
    this.#members.add(member);
    this.#groups.add(member);
    this.kick();
  }

  /** A helper left. */
  remove(member: M): void {
    if (!this.#members.delete(member)) return;
    this.#groups.remove(member);
    this.kick();
  }

  /** Asks for a capture as soon as one is useful (new damage, an ack, injected input). */
  kick(): void {
    if (!this.#running) return;
    if (this.#capturing) {
      this.#kickPending = true;
      return;
    }
    // Never capture inside the caller: a source's damage listener may run in the middle of its own state change
    // (a window half moved), and capturing there would read the screen between two halves of that change.
    if (this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(() => {
      this.#kickQueued = false;
      if (this.#running && !this.#capturing) void this.#captureOnce();
      else if (this.#capturing) this.#kickPending = true;
    });
  }

  /** A helper acknowledged updates: a replay at pace 'ack' may move on, and there is room to send. */
  acknowledged(): void {
    this.#advanceReplay(this.#pendingGeneration);
    this.kick();
  }

  async #captureOnce(): Promise<void> {
    // Pieces of a split go out as soon as there is room, before any new capture (spec/session.md §6.3).
    this.#piecesWaiting = this.#groups.sendPending(this.#clock());
    if (!this.#groups.wantsFrame(this.#clock())) return;
    this.#capturing = true;
    this.#kickPending = false;
    try {
      this.#lastCaptureAt = this.#clock();
      const capture = await this.#source.capture();
      if (capture.frame.width !== this.#width || capture.frame.height !== this.#height) this.#resized(capture.frame.width, capture.frame.height);
      const gen = await this.#groups.offer(capture.frame, capture.damage as Rect[] | undefined, this.#clock());
      this.#piecesWaiting = this.#groups.sendPending(this.#clock());
      this.#advanceReplay(gen);
    } catch (err) {
      this.#options.onSourceError(err);
    } finally {
      this.#capturing = false;
    }
    if (this.#kickPending) setImmediate(() => this.kick());
  }

  /** Moves an ack-paced replay on once every connected helper has decoded the frame of generation `gen`. */
  #advanceReplay(gen: number): void {
    const src = this.#source;
    if (!(src instanceof ReplayScreen) || src.pace !== 'ack') return;
    if (gen > this.#pendingGeneration) {
      this.#pendingGeneration = gen;
      this.#replayAdvanced = false;
    }
    // After an advance, wait until a capture of the new frame has been offered before judging delivery again.
    if (this.#replayAdvanced || this.#pendingGeneration === 0) return;
    if (this.#members.size > 0 && this.#groups.delivered(this.#pendingGeneration) && !src.done) {
      this.#replayAdvanced = true;
      src.advance();
      this.#options.onReplayAdvance?.(src.index);
    }
  }

  #resized(width: number, height: number): void {
    if (width === this.#width && height === this.#height) return;
    this.#width = width;
    this.#height = height;
    // Each group's next update is a key frame at the new size (the codec carries the size).
    this.#groups.resetAll();
    for (const m of this.#members) m.resize(width, height);
  }
}

/**
 * The Node encoder for one display group: node:zlib deflate, sharp for lossy tiles, and every update within one
 * frame (a FittingEncoder splits a picture whose update would be over `maxUpdateBytes`, spec/framing.md §2.3).
 */
export function createDisplayEncoder(
  width: number,
  height: number,
  quality: QualityMode,
  imageCodec: SharpImageCodec | undefined,
  options: { readonly maxUpdateBytes?: number } = {},
): DisplayEncoder {
  return new FittingEncoder(createTileUpdateEncoder(width, height, quality, imageCodec), options);
}

/** The codec encoder of one display group, one update per encode (the lossless or the async lossy path). */
function createTileUpdateEncoder(width: number, height: number, quality: QualityMode, imageCodec: SharpImageCodec | undefined): SingleUpdateEncoder {
  const encoder = new TileEncoder({
    width,
    height,
    quality,
    deflate: new ZlibDeflateBackend(),
    bytesEqual: nodeBytesEqual,
    ...(imageCodec ? { imageCodec } : {}),
  });
  return {
    encode: async (frame, damage) => {
      if (frame.width !== encoder.width || frame.height !== encoder.height) encoder.resize(frame.width, frame.height);
      const update = quality === 'lossless' ? encoder.encode(frame, damage) : await encoder.encodeAsync(frame, damage);
      return update ? update.bytes.slice() : undefined;
    },
    reset: () => encoder.reset(),
  };
}
