/**
 * Browser input to tessera input events (spec/input.md §5.2): printable characters as text events (in the default
 * `characters` typing mode), other keys by physical code (KeyboardEvent.code) with modifiers, absolute pointer
 * positions in screen pixels mapped back from the scaled canvas, buttons as the W3C `buttons` mask, and wheel
 * deltas in 1/120 of a notch.
 */
import type { InputEvent } from '../src/input/events.js';
import { isKeyCode } from '../src/input/key-codes.js';
import { DEFAULT_MAX_TEXT_BYTES, Modifier, MouseButton, buttonBit, MAX_WHEEL_DELTA, MIN_WHEEL_DELTA } from '../src/input/constants.js';
import { truncateText } from '../src/input/text-channel.js';
import { isWellFormedText } from '../src/input/utf8.js';

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

/**
 * How the viewer types: `characters` sends what the helper's keyboard produces (KeyboardEvent.key, composition
 * results) as text, so the helper's layout, dead keys, AltGr and input methods decide the character; `keys` sends
 * every key by its physical code, so the host's layout decides (games, shortcuts that depend on key positions).
 */
export type TypingMode = 'characters' | 'keys';

export const TYPING_MODES: readonly TypingMode[] = ['characters', 'keys'];

/**
 * What the viewer does with a keydown:
 * - `text`: send `key` as a text event and swallow the key (its keyup too);
 * - `key`: send the physical code (keyDown now, keyUp on release);
 * - `compose`: send nothing and let the browser run it (a dead key or a key of an input method in progress): the
 *   character arrives later, in the next keydown's `key` or in `compositionend`;
 * - `drop`: send nothing and swallow it (a key whose effect is already in the characters: CapsLock, AltGr).
 */
export type KeyRoute = 'text' | 'key' | 'compose' | 'drop';

/** The fields of a KeyboardEvent that {@link routeKey} reads. */
export type KeyFacts = Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'altKey' | 'metaKey' | 'isComposing' | 'keyCode' | 'getModifierState'>;

/** The IME placeholder keyCode browsers give keydowns an input method consumes. */
const IME_KEYCODE = 229;

/**
 * True when a KeyboardEvent `key` value is a character rather than a key name: one code point (`a`, `é`, `€`,
 * ` `), or a grapheme of several code points, which then has one outside ASCII (key names such as `ArrowLeft` and
 * `F1` are ASCII); never a control character.
 */
export function isPrintableKey(key: string): boolean {
  if (key.length === 0) return false;
  let points = 0;
  let nonAscii = false;
  for (const ch of key) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
    if (cp >= 0x80) nonAscii = true;
    points++;
  }
  return points === 1 || nonAscii;
}

/**
 * Decides how a keydown travels (a pure function, so it is testable without a browser).
 * In `keys` mode every key goes by its physical code. In `characters` mode a key that produces a printable character
 * goes as that character unless it is a shortcut: Ctrl or Meta held (but AltGr, which Windows reports as Ctrl+Alt,
 * types characters), or Alt held with an ASCII result (Alt+F is a menu; macOS Option+F types `ƒ`, which goes as text).
 * Dead keys and keys an input method consumes are left to the browser; CapsLock and AltGr themselves are dropped,
 * since the characters already carry their effect and sending them would shift or alter the host's typing.
 */
export function routeKey(e: KeyFacts, mode: TypingMode): KeyRoute {
  if (mode === 'keys') return 'key';
  if (e.isComposing || e.keyCode === IME_KEYCODE || e.key === 'Dead' || e.key === 'Process') return 'compose';
  if (e.key === 'CapsLock' || e.key === 'AltGraph') return 'drop';
  if (!isPrintableKey(e.key)) return 'key';
  const altGraph = e.getModifierState?.('AltGraph') === true;
  if (e.metaKey) return 'key';
  if (e.ctrlKey && !altGraph) return 'key';
  if (e.altKey && !altGraph && !/[^\x00-\x7f]/.test(e.key)) return 'key';
  return 'text';
}

/**
 * Text events for typed or composed text, each within the default maxTextBytes (spec/input.md §5.5), split between
 * characters; none for empty text or text with a lone surrogate (which no text event can carry).
 */
export function textEvents(text: string): InputEvent[] {
  if (!isWellFormedText(text)) return [];
  const events: InputEvent[] = [];
  let rest = text;
  while (rest.length > 0) {
    const piece = truncateText(rest, DEFAULT_MAX_TEXT_BYTES);
    events.push({ type: 'text', text: piece });
    rest = rest.slice(piece.length);
  }
  return events;
}

/**
 * The code a key goes by. In `characters` mode a shortcut on a letter goes by the letter the helper's layout gives
 * it (`KeyboardEvent.key`), named by the key that carries that letter on a US keyboard, which is how the host's
 * adapter reads codes: a German helper's Ctrl+Z (physical `KeyY`) is Ctrl+Z on the host, not Ctrl+Y. Otherwise, and in
 * `keys` mode, the physical code.
 */
export function sentCode(e: Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'altKey' | 'metaKey'>, mode: TypingMode): string {
  if (mode === 'keys' || !(e.ctrlKey || e.altKey || e.metaKey) || !isKeyCode(e.code)) return e.code;
  if (!/^[a-z]$/i.test(e.key)) return e.code;
  return `Key${e.key.toUpperCase()}`;
}

/** The key event for a DOM key event (under `code`, by default its own), or undefined when tessera cannot carry the code. */
export function keyEvent(e: KeyboardEvent, down: boolean, code: string = e.code): InputEvent | undefined {
  if (!isKeyCode(code)) return undefined;
  return { type: down ? 'keyDown' : 'keyUp', code, modifiers: modifiersOf(e) };
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

  /** True while a keyDown for `code` was sent and its keyUp was not. */
  isDown(code: string): boolean {
    return this.#down.has(code);
  }

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
