/**
 * X11Input: an {@link InputSink} that injects the helper's input into a real X display with the XTEST extension,
 * through the pure-JS `x11` package.
 *
 * - Keys: the W3C code names a keysym (keymap.ts); the keycode is found in the server's own keyboard map
 *   (GetKeyboardMapping), preferring a key where it is unshifted, so the host's layout decides the character as a
 *   local keyboard would. The keycode pressed is remembered, so the release goes to the same key.
 * - Text: each character is typed with the key that carries its keysym (with Shift when it sits on the shifted
 *   level). Modifier keys the helper holds (Shift, Ctrl, Alt, Meta) are lifted while the text is typed and pressed
 *   again after it, so the characters arrive as they are: a German helper holds Shift for `/`, which a US layout
 *   types without it. Caps Lock, when the display has it on, is turned off for text with letters and on again after,
 *   so it does not change their case (one QueryPointer round trip for such text). A character no key carries is bound to a spare keycode (one with no keysyms) with
 *   ChangeKeyboardMapping, typed, and the keycode is given back later: after an idle second, on `releaseAll()` and
 *   on `close()`, since X clients fetch the new map only when they process the MappingNotify event, which may be
 *   after our key press. Bindings are reused while they last, least recently used first when spares run out.
 * - Pointer: XTEST absolute motion on the root window; W3C buttons 0 left, 1 middle, 2 right, 3 back, 4 forward
 *   become X buttons 1, 2, 3, 8, 9; the wheel is X buttons 4/5 (vertical) and 6/7 (horizontal), one click per
 *   120 units, remainders kept for the next event.
 * - `releaseAll()` releases every key and button this sink pressed and has not released.
 * - Clipboard (unless `clipboard: false`): `setClipboard` puts the helper's text on the X CLIPBOARD selection and
 *   `onClipboard` tells of text X clients copy, through an {@link X11Clipboard} on its own connection.
 */
import { ConfigError, ErrorCode, TesseraError } from '../../core/index.js';
import type { InputEvent, KeyInput } from '../../input/events.js';
import type { InputSink } from '../types.js';
import { X11Connection, type RawExtension } from './x11-connection.js';
import { X11Clipboard } from './x11-clipboard.js';
import { KeyboardMap, XK, keysymForChar, keysymsForCode, type KeyPosition } from './keymap.js';

/** Options of {@link X11Input.open}. */
export interface X11InputOptions {
  /** X display name such as ':0' (default: the DISPLAY environment variable). */
  readonly display?: string;
  /** Connection deadline (default 5 s). */
  readonly timeoutMs?: number;
  /** How long a spare keycode keeps a character's keysym after its last use (default 1000 ms). */
  readonly remapHoldMs?: number;
  /** Share the X CLIPBOARD selection both ways (default true; the host's rules still decide who gets it). */
  readonly clipboard?: boolean;
}

/** Counters of what the sink did. */
export interface X11InputStats {
  readonly keys: number;
  readonly characters: number;
  /** Characters typed through a temporarily bound spare keycode. */
  readonly remapped: number;
  /** Keys and characters that could not be typed (no keysym, no key, no spare keycode). */
  readonly unmapped: number;
  readonly pointerEvents: number;
}

// XTEST fake event types (the core event codes).
const KEY_PRESS = 2;
const KEY_RELEASE = 3;
const BUTTON_PRESS = 4;
const BUTTON_RELEASE = 5;
const MOTION_NOTIFY = 6;
// W3C MouseEvent.button -> X button number.
const X_BUTTON: readonly number[] = [1, 2, 3, 8, 9];
// Wheel: 120 units a notch (WHEEL_DELTA, as the DOM's deltaMode 0 lines of 120 in tessera's events).
const WHEEL_UNIT = 120;
const X_WHEEL_UP = 4;
const X_WHEEL_DOWN = 5;
const X_WHEEL_LEFT = 6;
const X_WHEEL_RIGHT = 7;
// At most this many clicks are sent for one wheel event (a hostile dy cannot flood the server).
const MAX_WHEEL_CLICKS = 100;
// Keys lifted while text is typed: held, they would change or reinterpret the characters.
// The Lock bit of a core key/button mask (QueryPointer).
const LOCK_MASK = 0x02;
const XK_CAPS_LOCK = 0xffe5;
const MODIFIER_CODES: ReadonlySet<string> = new Set([
  'ShiftLeft', 'ShiftRight', 'ControlLeft', 'ControlRight', 'AltLeft', 'AltRight', 'MetaLeft', 'MetaRight',
]);

interface Binding {
  readonly keycode: number;
  keysym: number;
  lastUse: number;
  held: number;
}

/** A real X display as a tessera input sink. */
export class X11Input implements InputSink {
  readonly #conn: X11Connection;
  readonly #xtest: RawExtension;
  readonly #root: number;
  readonly #map: KeyboardMap;
  readonly #remapHoldMs: number;
  /** W3C code -> keycode pressed for it. */
  readonly #keysDown = new Map<string, number>();
  readonly #buttonsDown = new Set<number>();
  readonly #bindings: Binding[];
  #shiftKeycode: number | undefined;
  #wheelX = 0;
  #wheelY = 0;
  #pointerX = -1;
  #pointerY = -1;
  #restoreTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #stats = { keys: 0, characters: 0, remapped: 0, unmapped: 0, pointerEvents: 0 };

  #clipboard: X11Clipboard | undefined;

  private constructor(conn: X11Connection, xtest: RawExtension, map: KeyboardMap, options: X11InputOptions) {
    this.#conn = conn;
    this.#xtest = xtest;
    this.#root = conn.screen.root;
    this.#map = map;
    this.#remapHoldMs = options.remapHoldMs ?? 1_000;
    this.#bindings = map.spareKeycodes().map((keycode) => ({ keycode, keysym: 0, lastUse: 0, held: 0 }));
    this.#shiftKeycode = map.find(XK.Shift_L)?.keycode ?? map.find(XK.Shift_R)?.keycode;
    conn.onEvent((event) => {
      // Another client changed the keyboard map: re-read it (our own temporary bindings are kept in the copy).
      if (event.name !== 'MappingNotify' || event['request'] !== 1) return;
      // Our own rebinding of a spare keycode comes back as a one-key notification: nothing to re-read.
      if (event['count'] === 1 && this.#bindings.some((b) => b.keycode === event['firstKeyCode'])) return;
      void this.#refreshMap();
    });
  }

  /**
   * Connects to an X display and reads its keyboard map.
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG without a display name and DISPLAY
   * @throws {TesseraError} TESSERA_ERR_IO when the display cannot be reached or has no XTEST extension
   */
  static async open(options: X11InputOptions = {}): Promise<X11Input> {
    // Input needs no shared memory; a plain socket avoids the descriptor-passing setup.
    const conn = await X11Connection.open({ display: options.display, shm: false, timeoutMs: options.timeoutMs });
    try {
      const xtest = await conn.extension('xtest');
      if (!xtest) throw new TesseraError(ErrorCode.Io, `x11: display ${conn.displayName} has no XTEST extension; input cannot be injected`);
      const map = await readKeyboardMap(conn);
      const input = new X11Input(conn, xtest, map, options);
      if (options.clipboard !== false) input.#clipboard = await X11Clipboard.open({ display: conn.displayName });
      return input;
    } catch (err) {
      await conn.close();
      throw err instanceof TesseraError ? err : new ConfigError(`x11: ${String(err)}`, { cause: err });
    }
  }

  /** Puts the helper's text on the X CLIPBOARD selection (bounded: over 256 KiB is refused). */
  async setClipboard(text: string): Promise<void> {
    await this.#clipboard?.setText(text);
  }

  /** Tells `listener` of text an X client copied to the CLIPBOARD selection. */
  onClipboard(listener: (text: string) => void): () => void {
    return this.#clipboard?.onChange(listener) ?? (() => undefined);
  }

  /** The display this sink types into, e.g. ':0'. */
  get display(): string {
    return this.#conn.displayName;
  }

  get stats(): X11InputStats {
    return { ...this.#stats };
  }

  /**
   * Injects one event. Requests are queued on the X connection in order; the promise resolves once they are written.
   * @throws {TesseraError} TESSERA_ERR_IO when the X connection is lost, TESSERA_ERR_CLOSED after close()
   */
  async inject(event: InputEvent): Promise<void> {
    if (this.#closed) throw new TesseraError(ErrorCode.Closed, 'x11: the input sink is closed');
    this.#conn.checkOpen();
    switch (event.type) {
      case 'keyDown':
      case 'keyUp':
        this.#key(event);
        break;
      case 'text':
        await this.#text(event.text);
        break;
      case 'pointerMove':
        this.#move(event.x, event.y);
        this.#stats.pointerEvents++;
        break;
      case 'buttonDown':
      case 'buttonUp': {
        this.#move(event.x, event.y);
        const button = X_BUTTON[event.button];
        if (button === undefined) break;
        const down = event.type === 'buttonDown';
        if (down) this.#buttonsDown.add(button);
        else if (!this.#buttonsDown.delete(button)) break;
        this.#fake(down ? BUTTON_PRESS : BUTTON_RELEASE, button);
        this.#stats.pointerEvents++;
        break;
      }
      case 'wheel':
        this.#wheel(event.dx, event.dy);
        this.#stats.pointerEvents++;
        break;
    }
    // Text waits for the server to process it (a round trip), so a long paste never piles up in the X connection
    // beyond recall: the host checks between pieces that control still holds. Other events are only flushed.
    if (event.type === 'text') await this.#conn.sync();
    else await this.#conn.X.flush();
  }

  /** Releases every key and button this sink pressed and did not release, and gives back borrowed keycodes. */
  async releaseAll(): Promise<void> {
    if (this.#closed || this.#conn.closed) return;
    for (const keycode of this.#keysDown.values()) this.#fake(KEY_RELEASE, keycode);
    this.#keysDown.clear();
    for (const binding of this.#bindings) binding.held = 0;
    for (const button of this.#buttonsDown) this.#fake(BUTTON_RELEASE, button);
    this.#buttonsDown.clear();
    this.#wheelX = 0;
    this.#wheelY = 0;
    await this.#conn.sync().catch(() => undefined);
    await this.#restoreBindings(true);
  }

  /** Releases what is held, restores borrowed keycodes and closes the X connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.releaseAll();
    this.#closed = true;
    if (this.#restoreTimer) clearTimeout(this.#restoreTimer);
    await this.#clipboard?.close();
    await this.#conn.close();
  }

  #key(event: KeyInput): void {
    if (event.type === 'keyUp') {
      const keycode = this.#keysDown.get(event.code);
      if (keycode === undefined) return;
      this.#keysDown.delete(event.code);
      this.#fake(KEY_RELEASE, keycode);
      const binding = this.#bindings.find((b) => b.keycode === keycode);
      if (binding) {
        binding.held = Math.max(0, binding.held - 1);
        binding.lastUse = performance.now();
        this.#scheduleRestore();
      }
      return;
    }
    if (this.#keysDown.has(event.code)) {
      // Auto-repeat from the helper: press again without a release, as a held key repeats.
      this.#fake(KEY_PRESS, this.#keysDown.get(event.code)!);
      return;
    }
    let position: KeyPosition | undefined;
    const keysyms = keysymsForCode(event.code);
    for (const keysym of keysyms) {
      position = this.#map.find(keysym);
      if (position) break;
    }
    let keycode = position?.keycode;
    if (keycode === undefined && keysyms[0] !== undefined) {
      const binding = this.#bind(keysyms[0]);
      if (binding) {
        binding.held++;
        keycode = binding.keycode;
      }
    }
    if (keycode === undefined) {
      this.#stats.unmapped++;
      return;
    }
    this.#keysDown.set(event.code, keycode);
    this.#fake(KEY_PRESS, keycode);
    this.#stats.keys++;
  }

  async #text(text: string): Promise<void> {
    const capsLock = hasCase(text) ? await this.#capsLockKey() : undefined;
    if (capsLock !== undefined) this.#typeAt(capsLock, false);
    const lifted: number[] = [];
    for (const [code, keycode] of this.#keysDown) {
      if (!MODIFIER_CODES.has(code)) continue;
      this.#fake(KEY_RELEASE, keycode);
      lifted.push(keycode);
    }
    this.#typeChars(text);
    for (const keycode of lifted) this.#fake(KEY_PRESS, keycode);
    if (capsLock !== undefined) this.#typeAt(capsLock, false);
  }

  /** The Caps Lock keycode when the display has Caps Lock on (and a key to turn it off), else undefined. */
  async #capsLockKey(): Promise<number | undefined> {
    const keycode = this.#map.find(XK_CAPS_LOCK)?.keycode;
    if (keycode === undefined) return undefined;
    const state = await this.#conn.call<{ keyMask: number }>(this.#conn.X, 'QueryPointer', this.#root);
    return (state.keyMask & LOCK_MASK) !== 0 ? keycode : undefined;
  }

  #typeChars(text: string): void {
    for (const char of text) {
      const keysym = keysymForChar(char.codePointAt(0)!);
      if (keysym === undefined) {
        this.#stats.unmapped++;
        continue;
      }
      const position = this.#map.find(keysym);
      if (position) {
        this.#typeAt(position.keycode, position.level === 1);
      } else {
        const binding = this.#bind(keysym);
        if (!binding) {
          this.#stats.unmapped++;
          continue;
        }
        this.#typeAt(binding.keycode, false);
        binding.lastUse = performance.now();
        this.#stats.remapped++;
        this.#scheduleRestore();
      }
      this.#stats.characters++;
    }
  }

  /** Types one key, with Shift when `shifted` (the helper's own modifiers are lifted by then). */
  #typeAt(keycode: number, shifted: boolean): void {
    const shift = shifted ? this.#shiftKeycode : undefined;
    if (shift !== undefined) this.#fake(KEY_PRESS, shift);
    this.#fake(KEY_PRESS, keycode);
    this.#fake(KEY_RELEASE, keycode);
    if (shift !== undefined) this.#fake(KEY_RELEASE, shift);
  }

  /** Binds a keysym to a spare keycode (reusing a binding that already has it). */
  #bind(keysym: number): Binding | undefined {
    const existing = this.#bindings.find((b) => b.keysym === keysym);
    if (existing) {
      existing.lastUse = performance.now();
      return existing;
    }
    let victim: Binding | undefined;
    for (const b of this.#bindings) {
      if (b.held > 0) continue;
      if (b.keysym === 0) {
        victim = b;
        break;
      }
      if (!victim || b.lastUse < victim.lastUse) victim = b;
    }
    if (!victim) return undefined;
    victim.keysym = keysym;
    victim.lastUse = performance.now();
    // The keysym on both levels, so the key types the same character with or without Shift.
    const row = new Array<number>(this.#map.keysymsPerKeycode).fill(0);
    row[0] = keysym;
    row[1] = keysym;
    this.#conn.send(this.#conn.X, 'ChangeKeyboardMapping', victim.keycode, this.#map.keysymsPerKeycode, row);
    this.#map.setRow(victim.keycode, row);
    return victim;
  }

  #scheduleRestore(): void {
    if (this.#restoreTimer || this.#closed) return;
    this.#restoreTimer = setTimeout(() => {
      this.#restoreTimer = undefined;
      void this.#restoreBindings(false);
    }, this.#remapHoldMs);
    this.#restoreTimer.unref();
  }

  /** Gives back spare keycodes idle for `remapHoldMs` (all of them when `all`). */
  async #restoreBindings(all: boolean): Promise<void> {
    if (this.#conn.closed) return;
    const now = performance.now();
    let pending = false;
    for (const b of this.#bindings) {
      if (b.keysym === 0) continue;
      if (!all && (b.held > 0 || now - b.lastUse < this.#remapHoldMs)) {
        pending = true;
        continue;
      }
      const row = new Array<number>(this.#map.keysymsPerKeycode).fill(0);
      this.#conn.send(this.#conn.X, 'ChangeKeyboardMapping', b.keycode, this.#map.keysymsPerKeycode, row);
      this.#map.setRow(b.keycode, row);
      b.keysym = 0;
      b.held = 0;
    }
    if (pending) this.#scheduleRestore();
    await this.#conn.X.flush();
  }

  #move(x: number, y: number): void {
    if (x === this.#pointerX && y === this.#pointerY) return;
    this.#pointerX = x;
    this.#pointerY = y;
    this.#conn.send(this.#xtest, 'FakeInput', MOTION_NOTIFY, 0, 0, this.#root, x, y);
  }

  #wheel(dx: number, dy: number): void {
    this.#wheelY += dy;
    this.#wheelX += dx;
    const clicksY = Math.trunc(this.#wheelY / WHEEL_UNIT);
    const clicksX = Math.trunc(this.#wheelX / WHEEL_UNIT);
    this.#wheelY -= clicksY * WHEEL_UNIT;
    this.#wheelX -= clicksX * WHEEL_UNIT;
    this.#clicks(clicksY > 0 ? X_WHEEL_DOWN : X_WHEEL_UP, Math.abs(clicksY));
    this.#clicks(clicksX > 0 ? X_WHEEL_RIGHT : X_WHEEL_LEFT, Math.abs(clicksX));
  }

  #clicks(button: number, count: number): void {
    for (let i = 0; i < Math.min(count, MAX_WHEEL_CLICKS); i++) {
      this.#fake(BUTTON_PRESS, button);
      this.#fake(BUTTON_RELEASE, button);
    }
  }

  #fake(type: number, detail: number): void {
    this.#conn.send(this.#xtest, 'FakeInput', type, detail, 0, 0, 0, 0);
  }

  async #refreshMap(): Promise<void> {
    try {
      const fresh = await readKeyboardMap(this.#conn);
      for (let keycode = fresh.minKeycode; keycode < fresh.minKeycode + 256; keycode++) {
        const row = fresh.row(keycode);
        if (row.length === 0) break;
        if (this.#bindings.some((b) => b.keycode === keycode)) continue;
        this.#map.setRow(keycode, row);
      }
      this.#shiftKeycode = this.#map.find(XK.Shift_L)?.keycode ?? this.#map.find(XK.Shift_R)?.keycode;
    } catch {
      // Keep the old map; the next MappingNotify tries again.
    }
  }
}

/** True when `text` has a character Caps Lock could change (one with an upper and a lower case). */
function hasCase(text: string): boolean {
  return text.toLowerCase() !== text.toUpperCase();
}

async function readKeyboardMap(conn: X11Connection): Promise<KeyboardMap> {
  const min = conn.setup.min_keycode;
  const max = conn.setup.max_keycode;
  const rows = await conn.call<number[][]>(conn.X, 'GetKeyboardMapping', min, max - min + 1);
  return new KeyboardMap(min, rows);
}
