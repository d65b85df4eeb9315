/**
 * The host's pointer feed (spec/session.md §6.9): reads the source's pointer when it says it changed, at most about
 * 60 times a second (the newest state wins, nothing queues), and hands it to every session whose helper took the
 * `cursor` feature. Each session sends only what changed (a shape once, then positions), and the frames go out beside
 * display updates, never behind the in-flight cap (SES-12).
 */
import type { Clock } from '../../core/index.js';
import { CURSOR_MIN_INTERVAL_MS } from '../../core/defaults.js';
import type { CursorState, ScreenSource } from '../../adapters/types.js';

/** A helper's session as the feed sees it. */
export interface CursorMember {
  /** Sends the pointer's state if the helper took `cursor` (else nothing). */
  sendCursor(state: CursorState): void;
}

/** Options of CursorFeed. */
export interface CursorFeedOptions {
  readonly source: ScreenSource;
  readonly clock: Clock;
  /** Reading the pointer failed: reported, not fatal (the display goes on). */
  readonly onError: (err: unknown) => void;
}

/** Reads the pointer on change, paced, and fans it out. */
export class CursorFeed<M extends CursorMember> {
  readonly #source: ScreenSource;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  readonly #members = new Set<M>();
  #unsubscribe: (() => void) | undefined;
  #running = false;
  #reading = false;
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastReadAt = -Infinity;
  #last: CursorState | undefined;

  constructor(options: CursorFeedOptions) {
    this.#source = options.source;
    this.#clock = options.clock;
    this.#onError = options.onError;
  }

  /** Whether the source can report its pointer, so the host may offer the `cursor` feature. */
  static supported(source: ScreenSource): boolean {
    return typeof source.readCursor === 'function' && typeof source.onCursor === 'function';
  }

  start(): void {
    if (this.#running || !CursorFeed.supported(this.#source)) return;
    this.#running = true;
    this.#unsubscribe = this.#source.onCursor!(() => this.kick());
    this.kick();
  }

  stop(): void {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  add(member: M): void {
    this.#members.add(member);
  }

  remove(member: M): void {
    this.#members.delete(member);
  }

  /** A helper just took `cursor`: it gets the pointer at once (the last state read, then any newer). */
  taken(member: M): void {
    if (this.#last) member.sendCursor(this.#last);
    this.kick();
  }

  /** The pointer changed: read and send it as soon as the pace allows. */
  kick(): void {
    if (!this.#running) return;
    if (this.#reading || this.#timer) {
      this.#pending = true;
      return;
    }
    const wait = this.#lastReadAt + CURSOR_MIN_INTERVAL_MS - this.#clock();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.kick();
      }, wait);
      this.#timer.unref?.();
      return;
    }
    void this.#read();
  }

  async #read(): Promise<void> {
    this.#reading = true;
    this.#pending = false;
    this.#lastReadAt = this.#clock();
    try {
      const state = await this.#source.readCursor!();
      this.#last = state;
      if (this.#running) for (const m of this.#members) m.sendCursor(state);
    } catch (err) {
      this.#onError(err);
    } finally {
      this.#reading = false;
    }
    if (this.#pending) this.kick();
  }
}
