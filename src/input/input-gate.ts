/**
 * The host's input gate: decides which helper events reach the host's input sink; spec/input.md §6.
 * Pure and synchronous: the clock is injected, and the gate only returns events, it never injects them.
 */
import { StateError, type Clock } from '../core/index.js';
import { DEFAULT_MAX_EVENTS_PER_SECOND, MAX_BUTTON, buttonBit } from './constants.js';
import type { InputEvent } from './events.js';
import { validateInputEvent, type InputLimits } from './input-batch.js';
import type { KeyCode } from './key-codes.js';

/** What the helper may do: only watch, or also type and point. */
export type InputMode = 'view' | 'control';

/** Why the gate dropped an event. */
export type DropReason = 'notControl' | 'paused' | 'outOfBounds' | 'rateLimited' | 'invalid';

/** Counters since the gate was made. */
export interface InputGateStats {
  readonly admitted: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
}

/** Options of {@link InputGate}. */
export interface InputGateOptions {
  /** Screen width in pixels; pointer events need 0 <= x < width. */
  readonly width: number;
  /** Screen height in pixels; pointer events need 0 <= y < height. */
  readonly height: number;
  /** Sustained rate limit in events per second (default 2000); a text event counts one per character. */
  readonly maxEventsPerSecond?: number;
  /**
   * Bucket size: how many events may arrive at once after a quiet spell (default: one second's worth, `maxEventsPerSecond`).
   * It is also the longest text event, in characters, the gate can ever admit.
   */
  readonly burstEvents?: number;
  /** Milliseconds clock; only differences matter. */
  readonly now: Clock;
  /** Initial mode (default 'view': nothing passes until control is granted). */
  readonly mode?: InputMode;
  /** Text limits events are checked against (as the batch decoder's). */
  readonly limits?: InputLimits;
  /** Told of each event dropped, with the reason (a session recording keeps them; spec/recording.md). */
  readonly onDrop?: (event: InputEvent, reason: DropReason) => void;
}

/**
 * The permission gate between the input channel and the host's input sink.
 *
 * Rules, in order (spec/input.md §6): an event that is not valid is dropped as `invalid`; unless the mode is
 * 'control' it is dropped as `notControl`; while paused as `paused`; a pointer or button event outside the screen
 * as `outOfBounds`; past the token bucket as `rateLimited`.
 * Each event takes one token, except a text event, which takes one per character (Unicode code point), so the rate
 * limit bounds typed characters too; a text event needing more tokens than the bucket holds is dropped whole.
 * Releases of keys and buttons the gate saw go down are never rate-limited, and a held button's release outside
 * the screen is admitted with its position clamped, so the helper can always let go of what it pressed.
 * The gate remembers what is held, and {@link InputGate.releaseAll} returns the events that let it all go.
 */
export class InputGate {
  #width: number;
  #height: number;
  #mode: InputMode;
  #paused = false;
  readonly #now: Clock;
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #limits: InputLimits;
  readonly #onDrop: ((event: InputEvent, reason: DropReason) => void) | undefined;
  #tokens: number;
  #lastRefill: number;
  readonly #heldKeys = new Set<KeyCode>();
  #heldButtons = 0;
  #pointerX = 0;
  #pointerY = 0;
  #admitted = 0;
  readonly #dropped: Record<DropReason, number> = { notControl: 0, paused: 0, outOfBounds: 0, rateLimited: 0, invalid: 0 };

  /** @throws {StateError} for a size or rate that is not a positive integer */
  constructor(options: InputGateOptions) {
    checkSize(options.width, options.height);
    const rate = options.maxEventsPerSecond ?? DEFAULT_MAX_EVENTS_PER_SECOND;
    if (!(Number.isFinite(rate) && rate > 0)) throw new StateError('maxEventsPerSecond must be a positive number');
    const burst = options.burstEvents ?? Math.max(1, Math.floor(rate));
    if (!(Number.isInteger(burst) && burst >= 1)) throw new StateError('burstEvents must be a positive integer');
    this.#width = options.width;
    this.#height = options.height;
    this.#mode = options.mode ?? 'view';
    this.#now = options.now;
    this.#ratePerMs = rate / 1000;
    this.#burst = burst;
    this.#limits = options.limits ?? {};
    this.#onDrop = options.onDrop;
    this.#tokens = burst;
    this.#lastRefill = options.now();
  }

  get mode(): InputMode {
    return this.#mode;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** Keys the gate admitted a keyDown for and no keyUp yet. */
  get heldKeys(): readonly KeyCode[] {
    return [...this.#heldKeys];
  }

  /** Buttons held, as a `buttons` mask. */
  get heldButtons(): number {
    return this.#heldButtons;
  }

  /** A snapshot of the counters. */
  get stats(): InputGateStats {
    return { admitted: this.#admitted, dropped: { ...this.#dropped } };
  }

  /**
   * Grants or revokes control.
   * Revoking does not release what is held: call {@link releaseAll} and inject its events (the gate cannot inject).
   */
  setMode(mode: InputMode): void {
    if (mode !== 'view' && mode !== 'control') throw new StateError(`unknown input mode ${JSON.stringify(String(mode))}`);
    this.#mode = mode;
  }

  /**
   * Pauses or resumes input (the host user's hotkey).
   * Pausing does not release what is held: call {@link releaseAll} and inject its events.
   */
  setPaused(paused: boolean): void {
    this.#paused = paused;
  }

  /** Follows a change of screen size. */
  resize(width: number, height: number): void {
    checkSize(width, height);
    this.#width = width;
    this.#height = height;
  }

  /**
   * Decides one event and counts the decision.
   * @returns the event to inject (the same object, or a copy with a clamped position for a held button's release),
   *   or undefined when it was dropped
   */
  admitEvent(event: InputEvent): InputEvent | undefined {
    if (validateInputEvent(event, this.#limits) !== undefined) return this.#drop('invalid', event);
    if (this.#mode !== 'control') return this.#drop('notControl', event);
    if (this.#paused) return this.#drop('paused', event);
    let admitted = event;
    const release = this.#isHeldRelease(event);
    if (event.type === 'pointerMove' || event.type === 'buttonDown' || event.type === 'buttonUp') {
      if (!(event.x < this.#width && event.y < this.#height)) {
        if (!release || event.type !== 'buttonUp') return this.#drop('outOfBounds', event);
        admitted = { ...event, x: Math.min(event.x, this.#width - 1), y: Math.min(event.y, this.#height - 1) };
      }
    }
    if (!this.#takeTokens(event.type === 'text' ? codePointCount(event.text) : 1, release)) return this.#drop('rateLimited', event);
    this.#track(admitted);
    this.#admitted++;
    return admitted;
  }

  /** Like {@link admitEvent}, as a yes/no (a held button's release outside the screen says yes; inject admitEvent's copy to clamp it). */
  filter(event: InputEvent): boolean {
    return this.admitEvent(event) !== undefined;
  }

  /** Decides a batch; returns the events to inject, in order. */
  admit(events: readonly InputEvent[]): InputEvent[] {
    const out: InputEvent[] = [];
    for (const event of events) {
      const admitted = this.admitEvent(event);
      if (admitted !== undefined) out.push(admitted);
    }
    return out;
  }

  /**
   * Decides a clipboard payload from the helper (Channel.Clipboard): it may set the host's clipboard only under control
   * and not paused. Counted like an event, but never rate-limited (its size is capped by the channel).
   */
  admitClipboard(): boolean {
    if (this.#mode !== 'control') return this.#drop('notControl') !== undefined;
    if (this.#paused) return this.#drop('paused') !== undefined;
    this.#admitted++;
    return true;
  }

  /**
   * Forgets every held key and button and returns the events that release them (key-ups with no modifiers, then
   * button-ups at the last admitted pointer position), for the host to inject when control ends.
   */
  releaseAll(): InputEvent[] {
    const out: InputEvent[] = [];
    for (const code of this.#heldKeys) out.push({ type: 'keyUp', code, modifiers: 0 });
    const x = Math.min(this.#pointerX, this.#width - 1);
    const y = Math.min(this.#pointerY, this.#height - 1);
    for (let button = 0; button <= MAX_BUTTON; button++) {
      if ((this.#heldButtons & buttonBit(button)) !== 0) out.push({ type: 'buttonUp', button, x, y });
    }
    this.#heldKeys.clear();
    this.#heldButtons = 0;
    return out;
  }

  #drop(reason: DropReason, event?: InputEvent): undefined {
    this.#dropped[reason]++;
    if (event && this.#onDrop) this.#onDrop(event, reason);
    return undefined;
  }

  #isHeldRelease(event: InputEvent): boolean {
    if (event.type === 'keyUp') return this.#heldKeys.has(event.code);
    if (event.type === 'buttonUp') return (this.#heldButtons & buttonBit(event.button)) !== 0;
    return false;
  }

  /**
   * Token bucket: refills continuously at the configured rate up to the burst size.
   * Takes `cost` tokens when the bucket holds that many, else none (an event is admitted whole or not at all).
   */
  #takeTokens(cost: number, force: boolean): boolean {
    const now = this.#now();
    const elapsed = now - this.#lastRefill;
    // A clock that stepped back refills nothing; the bucket restarts from the new reading.
    if (elapsed > 0) this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
    this.#lastRefill = now;
    if (this.#tokens >= cost) {
      this.#tokens -= cost;
      return true;
    }
    return force;
  }

  #track(event: InputEvent): void {
    switch (event.type) {
      case 'keyDown':
        this.#heldKeys.add(event.code);
        return;
      case 'keyUp':
        this.#heldKeys.delete(event.code);
        return;
      case 'pointerMove':
        this.#pointerX = event.x;
        this.#pointerY = event.y;
        return;
      case 'buttonDown':
        this.#heldButtons |= buttonBit(event.button);
        this.#pointerX = event.x;
        this.#pointerY = event.y;
        return;
      case 'buttonUp':
        this.#heldButtons &= ~buttonBit(event.button);
        this.#pointerX = event.x;
        this.#pointerY = event.y;
        return;
      default:
        return;
    }
  }
}

/** Unicode code points in `text`: a surrogate pair counts once (the gate has already checked it is well formed). */
function codePointCount(text: string): number {
  let count = text.length;
  for (let i = 0; i + 1 < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      count--;
      i++;
    }
  }
  return count;
}

function checkSize(width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) {
    throw new StateError(`screen size ${width}x${height} must be positive integers`);
  }
}
