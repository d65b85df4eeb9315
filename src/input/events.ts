/**
 * Input event values, as the helper sends them and the host's sink injects them; spec/input.md §2.
 * Plain readonly objects, discriminated by `type`, so they are cheap to build, compare and log.
 * The interfaces are named `*Input` so they never shadow the DOM's `KeyboardEvent`/`WheelEvent` in browser code.
 */
import type { KeyCode } from './key-codes.js';

/** A physical key went down or up; spec/input.md §2.1. */
export interface KeyInput {
  readonly type: 'keyDown' | 'keyUp';
  /** The physical key, as W3C `KeyboardEvent.code` (layout-independent). */
  readonly code: KeyCode;
  /** Modifier state when the event happened: a mask of {@link Modifier} bits. */
  readonly modifiers: number;
}

/** Unicode text to type as is (an IME result, a paste-as-typing); spec/input.md §2.2. */
export interface TextInput {
  readonly type: 'text';
  /** One or more characters; never empty. */
  readonly text: string;
}

/** The pointer moved to an absolute position in screen pixels; spec/input.md §2.3. */
export interface PointerMoveInput {
  readonly type: 'pointerMove';
  readonly x: number;
  readonly y: number;
  /** Buttons held during the move: a mask of {@link ButtonMask} bits (informational; presses travel as button events). */
  readonly buttons: number;
}

/** A pointer button went down or up at an absolute position; spec/input.md §2.4. */
export interface ButtonInput {
  readonly type: 'buttonDown' | 'buttonUp';
  /** Button number as W3C `MouseEvent.button`: see {@link MouseButton}. */
  readonly button: number;
  readonly x: number;
  readonly y: number;
}

/** The wheel turned; spec/input.md §2.5. */
export interface WheelInput {
  readonly type: 'wheel';
  /** Horizontal delta in 1/120 of a notch; positive scrolls right. */
  readonly dx: number;
  /** Vertical delta in 1/120 of a notch; positive scrolls down (content moves up), as W3C `WheelEvent.deltaY`. */
  readonly dy: number;
}

/** Any event an input batch carries (Channel.Input). Clipboard and chat text travel on their own channels. */
export type InputEvent = KeyInput | TextInput | PointerMoveInput | ButtonInput | WheelInput;

/** The `type` strings of {@link InputEvent}. */
export type InputEventType = InputEvent['type'];
