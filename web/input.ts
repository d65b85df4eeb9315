/**
 * Browser input to tessera input events (spec/input.md §2): keys by physical code (KeyboardEvent.code) with
 * modifiers, absolute pointer positions in screen pixels mapped back from the scaled canvas, buttons as the
 * W3C `buttons` mask, and wheel deltas in 1/120 of a notch.
 */
import type { InputEvent } from '../src/input/events.js';
import { isKeyCode } from '../src/input/key-codes.js';
import { Modifier, MouseButton, buttonBit, MAX_WHEEL_DELTA, MIN_WHEEL_DELTA } from '../src/input/constants.js';

/** Pixels per wheel notch a browser reports in pixel mode (Chrome: 100 on most platforms). */
const PIXELS_PER_NOTCH = 100;
/** Lines per wheel notch in line mode. */
const LINES_PER_NOTCH = 3;
const NOTCH = 120;
const BUTTONS = [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward] as const;

/** The modifier mask of a keyboard or mouse event. */
export function modifiersOf(e: KeyboardEvent | MouseEvent): number {
  let m = 0;
  if (e.shiftKey) m |= Modifier.Shift;
  if (e.ctrlKey) m |= Modifier.Ctrl;
  if (e.altKey) m |= Modifier.Alt;
  if (e.metaKey) m |= Modifier.Meta;
  if (e.getModifierState?.('CapsLock')) m |= Modifier.CapsLock;
  if (e.getModifierState?.('NumLock')) m |= Modifier.NumLock;
  return m;
}

/** The key event for a DOM key event, or undefined when tessera cannot carry its code. */
export function keyEvent(e: KeyboardEvent, down: boolean): InputEvent | undefined {
  if (!isKeyCode(e.code)) return undefined;
  return { type: down ? 'keyDown' : 'keyUp', code: e.code, modifiers: modifiersOf(e) };
}

/** Maps a client (CSS pixel) position over `canvas` to a screen pixel, clamped to the screen. */
export function screenPoint(canvas: HTMLCanvasElement, clientX: number, clientY: number): { x: number; y: number } {
  const box = canvas.getBoundingClientRect();
  const w = canvas.width;
  const h = canvas.height;
  const x = box.width > 0 ? Math.floor(((clientX - box.left) * w) / box.width) : 0;
  const y = box.height > 0 ? Math.floor(((clientY - box.top) * h) / box.height) : 0;
  return { x: Math.min(w - 1, Math.max(0, x)), y: Math.min(h - 1, Math.max(0, y)) };
}

/** Wheel deltas in 1/120 notch units, whatever the event's deltaMode. */
export function wheelEvent(e: WheelEvent, pageHeightPx: number): InputEvent | undefined {
  const scale = e.deltaMode === 1 ? NOTCH / LINES_PER_NOTCH : e.deltaMode === 2 ? (NOTCH * pageHeightPx) / PIXELS_PER_NOTCH : NOTCH / PIXELS_PER_NOTCH;
  const dx = clampWheel(Math.round(e.deltaX * scale));
  const dy = clampWheel(Math.round(e.deltaY * scale));
  if (dx === 0 && dy === 0) return undefined;
  return { type: 'wheel', dx, dy };
}

function clampWheel(v: number): number {
  return Math.min(MAX_WHEEL_DELTA, Math.max(MIN_WHEEL_DELTA, v));
}

/** Tracks the pointer so each DOM event becomes a move plus the button presses and releases it implies. */
export class PointerTracker {
  #buttons = 0;
  #x = -1;
  #y = -1;

  get buttons(): number {
    return this.#buttons;
  }

  /** Events for the pointer at (x, y) with `buttons` held; empty when nothing changed. */
  update(x: number, y: number, buttons: number): InputEvent[] {
    const events: InputEvent[] = [];
    const held = buttons & 0x1f;
    if (x !== this.#x || y !== this.#y) events.push({ type: 'pointerMove', x, y, buttons: held });
    for (const button of BUTTONS) {
      const bit = buttonBit(button);
      const was = (this.#buttons & bit) !== 0;
      const now = (held & bit) !== 0;
      if (was !== now) events.push({ type: now ? 'buttonDown' : 'buttonUp', button, x, y });
    }
    this.#buttons = held;
    this.#x = x;
    this.#y = y;
    return events;
  }

  /** Releases every held button (focus lost, control revoked). */
  releaseAll(): InputEvent[] {
    if (this.#buttons === 0) return [];
    return this.update(Math.max(0, this.#x), Math.max(0, this.#y), 0);
  }
}

/** Tracks keys held down, so they can be released when the page loses focus. */
export class KeyTracker {
  readonly #down = new Map<string, InputEvent>();

  note(ev: InputEvent): void {
    if (ev.type === 'keyDown') this.#down.set(ev.code, ev);
    else if (ev.type === 'keyUp') this.#down.delete(ev.code);
  }

  /** Key-up events for every key still held. */
  releaseAll(): InputEvent[] {
    const out: InputEvent[] = [];
    for (const code of this.#down.keys()) if (isKeyCode(code)) out.push({ type: 'keyUp', code, modifiers: 0 });
    this.#down.clear();
    return out;
  }
}
