/** A US keyboard layout for the virtual desktop: physical key code + modifiers -> the character typed. */
import { Modifier, type KeyCode } from '../../input/index.js';

// [unshifted, shifted] for the keys of the alphanumeric section whose character does not depend on Caps Lock.
const US_SYMBOLS: Readonly<Partial<Record<KeyCode, readonly [string, string]>>> = {
  Digit1: ['1', '!'], Digit2: ['2', '@'], Digit3: ['3', '#'], Digit4: ['4', '$'], Digit5: ['5', '%'],
  Digit6: ['6', '^'], Digit7: ['7', '&'], Digit8: ['8', '*'], Digit9: ['9', '('], Digit0: ['0', ')'],
  Minus: ['-', '_'], Equal: ['=', '+'], BracketLeft: ['[', '{'], BracketRight: [']', '}'], Backslash: ['\\', '|'],
  Semicolon: [';', ':'], Quote: ["'", '"'], Backquote: ['`', '~'], Comma: [',', '<'], Period: ['.', '>'],
  Slash: ['/', '?'], Space: [' ', ' '], IntlBackslash: ['\\', '|'],
};

// Numpad keys that type a character whatever Num Lock says, and the digit keys that need Num Lock.
const NUMPAD_ALWAYS: Readonly<Partial<Record<KeyCode, string>>> = {
  NumpadDivide: '/', NumpadMultiply: '*', NumpadSubtract: '-', NumpadAdd: '+', NumpadEqual: '=', NumpadComma: ',',
};
const NUMPAD_NUMLOCK: Readonly<Partial<Record<KeyCode, string>>> = {
  Numpad0: '0', Numpad1: '1', Numpad2: '2', Numpad3: '3', Numpad4: '4', Numpad5: '5', Numpad6: '6', Numpad7: '7',
  Numpad8: '8', Numpad9: '9', NumpadDecimal: '.',
};

/**
 * The character a key types on a US layout, or undefined for keys that type nothing (modifiers, arrows, F-keys)
 * and for shortcuts (Ctrl, Alt or Meta held). Enter types nothing here; the desktop handles it as a line break.
 */
export function usLayoutCharacter(code: KeyCode, modifiers: number): string | undefined {
  if ((modifiers & (Modifier.Ctrl | Modifier.Alt | Modifier.Meta)) !== 0) return undefined;
  const shift = (modifiers & Modifier.Shift) !== 0;
  if (code.length === 4 && code.startsWith('Key')) {
    const upper = shift !== ((modifiers & Modifier.CapsLock) !== 0);
    return upper ? code[3]! : code[3]!.toLowerCase();
  }
  const symbol = US_SYMBOLS[code];
  if (symbol !== undefined) return shift ? symbol[1] : symbol[0];
  const always = NUMPAD_ALWAYS[code];
  if (always !== undefined) return always;
  if ((modifiers & Modifier.NumLock) !== 0) return NUMPAD_NUMLOCK[code];
  return undefined;
}
