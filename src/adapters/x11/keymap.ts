/**
 * Keysyms for tessera's physical keys and characters, and the server keyboard map lookups of {@link X11Input}.
 *
 * A physical key (W3C `KeyboardEvent.code`) is named by the keysym its key produces without modifiers on a US
 * layout (KeyA -> XK_a, Digit1 -> XK_1, Enter -> XK_Return); the input sink finds the keycode that carries that
 * keysym in the server's own keyboard map, so the host's layout decides what the key types, as with a local key.
 * Keysym values are those of the X11 protocol (Appendix A of the core protocol, XF86 and Unicode keysyms).
 */
import type { KeyCode } from '../../input/key-codes.js';

/** XK_Return and friends used directly by the input sink. */
export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  ISO_Level3_Shift: 0xfe03,
  Mode_switch: 0xff7e,
} as const;

/** Offset of the Unicode keysyms: keysym = UNICODE_KEYSYM_BASE + code point (for code points past Latin-1). */
export const UNICODE_KEYSYM_BASE = 0x0100_0000;

// Function keys F1..F24 are consecutive keysyms from 0xffbe.
const XK_F1 = 0xffbe;

/**
 * W3C code -> keysyms to look for, best first (a layout may carry a key under another name: the right Alt key is
 * Alt_R on US layouts and ISO_Level3_Shift on many others).
 */
const CODE_KEYSYMS: Partial<Record<KeyCode, readonly number[]>> = {
  Digit0: [0x30], Digit1: [0x31], Digit2: [0x32], Digit3: [0x33], Digit4: [0x34],
  Digit5: [0x35], Digit6: [0x36], Digit7: [0x37], Digit8: [0x38], Digit9: [0x39],
  Enter: [0xff0d], Escape: [0xff1b], Backspace: [0xff08], Tab: [0xff09], Space: [0x20],
  Minus: [0x2d], Equal: [0x3d], BracketLeft: [0x5b], BracketRight: [0x5d], Backslash: [0x5c],
  Semicolon: [0x3b], Quote: [0x27], Backquote: [0x60], Comma: [0x2c], Period: [0x2e], Slash: [0x2f],
  CapsLock: [0xffe5],
  PrintScreen: [0xff61], ScrollLock: [0xff14], Pause: [0xff13, 0xff6b], Insert: [0xff63], Home: [0xff50],
  PageUp: [0xff55], Delete: [0xffff], End: [0xff57], PageDown: [0xff56],
  ArrowRight: [0xff53], ArrowLeft: [0xff51], ArrowDown: [0xff54], ArrowUp: [0xff52],
  NumLock: [0xff7f], NumpadDivide: [0xffaf], NumpadMultiply: [0xffaa], NumpadSubtract: [0xffad], NumpadAdd: [0xffab],
  NumpadEnter: [0xff8d],
  Numpad0: [0xffb0, 0xff9e], Numpad1: [0xffb1, 0xff9c], Numpad2: [0xffb2, 0xff99], Numpad3: [0xffb3, 0xff9b],
  Numpad4: [0xffb4, 0xff96], Numpad5: [0xffb5, 0xff9d], Numpad6: [0xffb6, 0xff98], Numpad7: [0xffb7, 0xff95],
  Numpad8: [0xffb8, 0xff97], Numpad9: [0xffb9, 0xff9a], NumpadDecimal: [0xffae, 0xff9f], NumpadEqual: [0xffbd],
  NumpadComma: [0xffac],
  IntlBackslash: [0x3c], ContextMenu: [0xff67], Power: [0x1008ff2a],
  ControlLeft: [0xffe3], ShiftLeft: [0xffe1], AltLeft: [0xffe9], MetaLeft: [0xffeb, 0xffe7],
  ControlRight: [0xffe4], ShiftRight: [0xffe2], AltRight: [0xffea, 0xfe03], MetaRight: [0xffec, 0xffe8],
  IntlYen: [0xa5], KanaMode: [0xff27, 0xff2d], Convert: [0xff23], NonConvert: [0xff22],
  Lang1: [0xff31], Lang2: [0xff34], Hiragana: [0xff25], Katakana: [0xff26],
  Help: [0xff6a], Again: [0xff66], Undo: [0xff65], Cut: [0x1008ff58], Copy: [0x1008ff57], Paste: [0x1008ff6d],
  Find: [0xff68], Open: [0x1008ff6b], Props: [0x1005ff70], Select: [0xff60],
  AudioVolumeMute: [0x1008ff12], AudioVolumeUp: [0x1008ff13], AudioVolumeDown: [0x1008ff11],
  BrowserBack: [0x1008ff26], BrowserFavorites: [0x1008ff30], BrowserForward: [0x1008ff27], BrowserHome: [0x1008ff18],
  BrowserRefresh: [0x1008ff29], BrowserSearch: [0x1008ff1b], BrowserStop: [0x1008ff28], Eject: [0x1008ff2c],
  LaunchApp1: [0x1008ff33], LaunchApp2: [0x1008ff1d], LaunchMail: [0x1008ff19], MediaPlayPause: [0x1008ff14],
  MediaSelect: [0x1008ff32], MediaStop: [0x1008ff15], MediaTrackNext: [0x1008ff17], MediaTrackPrevious: [0x1008ff16],
  Sleep: [0x1008ff2f], WakeUp: [0x1008ff2b], Hyper: [0xffed], Super: [0xffeb], Abort: [0xff69], Suspend: [0x1008ffa7],
};

/** The keysyms that name a physical key, best first; empty for keys X has no keysym for (Fn, FnLock, ...). */
export function keysymsForCode(code: KeyCode): readonly number[] {
  if (code.length === 4 && code.startsWith('Key')) return [code.charCodeAt(3) + 0x20]; // KeyA -> XK_a (0x61).
  const f = /^F(\d{1,2})$/.exec(code);
  if (f) return [XK_F1 + Number(f[1]) - 1];
  return CODE_KEYSYMS[code] ?? [];
}

/**
 * The keysym that types a character: Latin-1 characters are their own keysym, others are Unicode keysyms;
 * line feed and carriage return are Return, tab is Tab. Undefined for other control characters.
 */
export function keysymForChar(codePoint: number): number | undefined {
  if (codePoint === 0x0a || codePoint === 0x0d) return XK.Return;
  if (codePoint === 0x09) return XK.Tab;
  if (codePoint === 0x08) return XK.BackSpace;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) return undefined;
  if (codePoint <= 0xff) return codePoint;
  if (codePoint > 0x10ffff) return undefined;
  return UNICODE_KEYSYM_BASE + codePoint;
}

/** Where a keysym sits in the keyboard map: its keycode and shift level (0 unshifted, 1 with Shift). */
export interface KeyPosition {
  readonly keycode: number;
  readonly level: 0 | 1;
}

/**
 * The server's core keyboard map (GetKeyboardMapping): keysyms per keycode, group 1 levels 1 and 2 in the first two
 * columns. Lookups prefer an unshifted match and then the lowest keycode.
 */
export class KeyboardMap {
  readonly minKeycode: number;
  readonly keysymsPerKeycode: number;
  readonly #rows: number[][];
  #index = new Map<number, KeyPosition>();

  /** @param rows one row of keysyms per keycode from `minKeycode` up */
  constructor(minKeycode: number, rows: readonly (readonly number[])[]) {
    this.minKeycode = minKeycode;
    this.keysymsPerKeycode = Math.max(2, ...rows.map((r) => r.length));
    this.#rows = rows.map((r) => {
      const row = [...r];
      while (row.length < this.keysymsPerKeycode) row.push(0);
      return row;
    });
    this.#reindex();
  }

  /** The keysyms of a keycode (zeros where none). */
  row(keycode: number): readonly number[] {
    return this.#rows[keycode - this.minKeycode] ?? [];
  }

  /** Replaces the keysyms of one keycode (after a ChangeKeyboardMapping this client made). */
  setRow(keycode: number, keysyms: readonly number[]): void {
    const index = keycode - this.minKeycode;
    if (index < 0 || index >= this.#rows.length) return;
    const row = [...keysyms];
    while (row.length < this.keysymsPerKeycode) row.push(0);
    this.#rows[index] = row.slice(0, this.keysymsPerKeycode);
    this.#reindex();
  }

  /** Where a keysym is typed (group 1, levels 1-2), or undefined when no key carries it. */
  find(keysym: number): KeyPosition | undefined {
    return this.#index.get(keysym);
  }

  /** Keycodes with no keysym at all, usable as temporary keys for characters the layout lacks. */
  spareKeycodes(): number[] {
    const spare: number[] = [];
    for (let i = 0; i < this.#rows.length; i++) {
      if (this.#rows[i]!.every((k) => k === 0)) spare.push(this.minKeycode + i);
    }
    // Use the highest first: low keycodes are more likely to be real keys an XKB keymap reuses.
    return spare.reverse();
  }

  #reindex(): void {
    const index = new Map<number, KeyPosition>();
    for (const level of [0, 1] as const) {
      for (let i = 0; i < this.#rows.length; i++) {
        const row = this.#rows[i]!;
        let keysym = row[level] ?? 0;
        // A row with only a lower-case letter in column 1 implies the upper case in column 2 (core protocol §5).
        if (level === 1 && keysym === 0) keysym = upperOf(row[0] ?? 0);
        if (keysym !== 0 && !index.has(keysym)) index.set(keysym, { keycode: this.minKeycode + i, level });
      }
    }
    this.#index = index;
  }
}

function upperOf(keysym: number): number {
  if (keysym >= 0x61 && keysym <= 0x7a) return keysym - 0x20;
  if (keysym >= 0xe0 && keysym <= 0xfe && keysym !== 0xf7) return keysym - 0x20;
  return 0;
}
