/**
 * The contract between tessera and a platform: where screen pixels come from ({@link ScreenSource}) and where the
 * helper's input goes ({@link InputSink}).
 *
 * Tessera ships three adapters (`virtual`, `replay`, `x11`); Windows and macOS adapters live outside the project
 * and implement these two interfaces only. A sketch of what each platform would use:
 * - Windows: capture with DXGI Desktop Duplication (`AcquireNextFrame` gives dirty and move rectangles, which map
 *   to {@link Capture.damage}); inject with `SendInput` (`KEYEVENTF_SCANCODE` from the W3C code, `MOUSEEVENTF_ABSOLUTE`
 *   scaled to 0..65535, `MOUSEEVENTF_WHEEL` with `-dy`: tessera's wheel unit is 1/120 of a notch like WHEEL_DELTA,
 *   but a positive `dy` scrolls down as in the DOM).
 * - macOS: capture with ScreenCaptureKit (`SCStream` frames carry dirty rects) or `CGDisplayStream`; inject with
 *   `CGEventCreateKeyboardEvent` (virtual key codes from the W3C code) and `CGEventCreateMouseEvent`; the process
 *   needs the Screen Recording and Accessibility permissions.
 *
 * Threading: tessera calls every method from one event loop, never concurrently with itself; a source may do its
 * work on other threads but must hand results back as resolved promises.
 */
import type { Framebuffer, Rect } from '../codec/framebuffer.js';
import type { InputEvent } from '../input/events.js';
import type { CursorState } from '../session/cursor.js';

export type { Framebuffer, Rect } from '../codec/framebuffer.js';
export type { InputEvent } from '../input/events.js';
export type { CursorShape, CursorState } from '../session/cursor.js';

/** One captured screen image. */
export interface Capture {
  /**
   * The whole screen, RGBA (4 bytes a pixel, rows packed, alpha 255), `width` x `height` of the source at capture time.
   * The source may reuse and overwrite this buffer on its next `capture()` call, so a consumer that needs the pixels
   * longer (the encoder's previous frame, for instance) copies them before capturing again.
   */
  readonly frame: Framebuffer;
  /**
   * What changed since the previous capture, in screen pixels, clipped to the screen; rectangles may overlap.
   * `undefined` means the source does not know (the consumer compares with the previous frame itself);
   * an empty array means nothing changed. The first capture, and the first after a resize, report the whole screen
   * or `undefined`. Reporting more than changed is allowed (it costs bandwidth); reporting less is a bug.
   */
  readonly damage?: readonly Rect[];
}

/** A listener told that the screen changed since the last capture (a hint to capture soon; it carries no pixels). */
export type DamageListener = () => void;

/** A listener told the new screen size; the next capture has that size. */
export type ResizeListener = (width: number, height: number) => void;

/** A listener told that the pointer moved, changed shape, or was shown or hidden (a hint to read it; it carries nothing). */
export type CursorListener = () => void;

/** Removes a listener that was added. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * A screen to share.
 *
 * Tessera calls `capture()` when it can send an update (after the helper acknowledged enough of the previous ones),
 * so a slow helper lowers the capture rate; it never queues captures. Sources that can tell when the screen changed
 * implement `onDamage` so tessera can sleep while nothing changes; others are polled at the frame rate.
 */
export interface ScreenSource {
  /** Current width in pixels (1..16384). */
  readonly width: number;
  /** Current height in pixels (1..16384). */
  readonly height: number;
  /**
   * The current screen image and what changed since the previous call.
   * May complete synchronously. Errors should be TesseraErrors (code TESSERA_ERR_IO for platform failures).
   */
  capture(): Promise<Capture> | Capture;
  /** Optional: tells `listener` each time the screen changes after a capture (at most once between two captures is enough). */
  onDamage?(listener: DamageListener): Unsubscribe;
  /** Optional: tells `listener` when the screen size changes. */
  onResize?(listener: ResizeListener): Unsubscribe;
  /**
   * Optional, with `onCursor`: the pointer now, its hotspot's position in screen pixels, whether it is shown, and its
   * shape (spec/session.md §6.9). A source that has it lets the host offer the `cursor` feature; the frames it
   * captures should then not have the pointer painted in (the helper draws it). A shape's `id` names those pixels:
   * a new look gets a new id (or, at worst, the same id with new pixels, which the host then sends again).
   */
  readCursor?(): Promise<CursorState> | CursorState;
  /** Optional, with `readCursor`: tells `listener` when the pointer moved or changed (at most once between two reads is enough). */
  onCursor?(listener: CursorListener): Unsubscribe;
  /** Optional: releases platform resources; no capture follows. */
  close?(): Promise<void> | void;
}

/**
 * Where the helper's input goes on the host.
 *
 * Tessera only calls `inject` with events its input gate admitted: control granted, not paused, positions inside the
 * screen, rate-limited (spec/input.md §6). Positions are screen pixels of the source's current size.
 * Keys are physical (W3C `KeyboardEvent.code`); the sink maps them to its platform's scan codes, so the host's keyboard
 * layout decides the character, as with a local keyboard. `text` events carry characters to type as is (IME output).
 */
export interface InputSink {
  /** Injects one event. A rejected promise or thrown error is reported by the host but does not end the session. */
  inject(event: InputEvent): void | Promise<void>;
  /** Optional: sets the host's clipboard to text the helper sent (Channel.Clipboard, admitted by the gate). */
  setClipboard?(text: string): void | Promise<void>;
  /**
   * Optional: tells `listener` of text the host user copied (another program took the clipboard); the host sends it
   * to the helpers that hold control, as the same gate decides for input.
   */
  onClipboard?(listener: (text: string) => void): Unsubscribe;
  /**
   * Optional: releases every key and button the sink itself knows to be held. Tessera already injects the releases
   * its gate tracked when control ends; this is a second line for sinks that can query the platform's state.
   */
  releaseAll?(): void | Promise<void>;
  /** Optional: releases platform resources; no injection follows. */
  close?(): Promise<void> | void;
}

/** What the host user is shown while helpers are connected (issue #20: the shared desktop says so). */
export interface PresenceState {
  /** Helpers connected now (at least 1). */
  readonly helpers: number;
  /** Whether one of them holds control (and input is not paused): "controlling" rather than "viewing". */
  readonly controlling: boolean;
}

/**
 * Shows the host user, on the shared screen itself, that a helper is watching or controlling it: a coloured
 * border around the screen with a label, as Quick Assist draws one. The host calls `show` with the current state
 * whenever a helper joins or leaves or control changes, `show(undefined)` when the last helper left.
 * The border is part of the screen, so the helper sees it too.
 */
export interface PresenceIndicator {
  show(state: PresenceState | undefined): void | Promise<void>;
  /** Optional: removes the border and releases platform resources. */
  close?(): Promise<void> | void;
}

/** The label a presence indicator shows for a state. */
export function presenceLabel(state: PresenceState): string {
  const who = state.helpers === 1 ? 'a helper is' : `${state.helpers} helpers are`;
  return `tessera: ${who} ${state.controlling ? 'controlling' : 'viewing'} this screen`;
}
