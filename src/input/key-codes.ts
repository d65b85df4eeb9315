/**
 * The key-id table of spec/input.md §3: W3C UI Events `KeyboardEvent.code` values mapped to compact numeric ids.
 *
 * A key id is the 1-based position of the code in {@link KEY_CODES}; id 0 is never used.
 * The table is append-only: a new code gets the next free id and no id is ever reused or moved,
 * so peers of different versions agree on every id both know.
 * The most common keys (letters, digits, editing keys, F1-F24, arrows, numpad, modifiers) come first
 * so that their ids fit in one varuint byte (ids 1..127).
 */

/** W3C `KeyboardEvent.code` values in id order (id = index + 1); spec/input.md §3. */
export const KEY_CODES = [
  // 1..26: letters.
  'KeyA', 'KeyB', 'KeyC', 'KeyD', 'KeyE', 'KeyF', 'KeyG', 'KeyH', 'KeyI', 'KeyJ', 'KeyK', 'KeyL', 'KeyM',
  'KeyN', 'KeyO', 'KeyP', 'KeyQ', 'KeyR', 'KeyS', 'KeyT', 'KeyU', 'KeyV', 'KeyW', 'KeyX', 'KeyY', 'KeyZ',
  // 27..36: digit row.
  'Digit0', 'Digit1', 'Digit2', 'Digit3', 'Digit4', 'Digit5', 'Digit6', 'Digit7', 'Digit8', 'Digit9',
  // 37..53: editing keys and punctuation of the alphanumeric section.
  'Enter', 'Escape', 'Backspace', 'Tab', 'Space', 'Minus', 'Equal', 'BracketLeft', 'BracketRight',
  'Backslash', 'Semicolon', 'Quote', 'Backquote', 'Comma', 'Period', 'Slash', 'CapsLock',
  // 54..77: function keys.
  'F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'F9', 'F10', 'F11', 'F12',
  'F13', 'F14', 'F15', 'F16', 'F17', 'F18', 'F19', 'F20', 'F21', 'F22', 'F23', 'F24',
  // 78..90: system keys, control pad and arrows.
  'PrintScreen', 'ScrollLock', 'Pause', 'Insert', 'Home', 'PageUp', 'Delete', 'End', 'PageDown',
  'ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp',
  // 91..107: numpad.
  'NumLock', 'NumpadDivide', 'NumpadMultiply', 'NumpadSubtract', 'NumpadAdd', 'NumpadEnter',
  'Numpad0', 'Numpad1', 'Numpad2', 'Numpad3', 'Numpad4', 'Numpad5', 'Numpad6', 'Numpad7', 'Numpad8', 'Numpad9',
  'NumpadDecimal',
  // 108..111: ISO key, menu, power, numpad equal.
  'IntlBackslash', 'ContextMenu', 'Power', 'NumpadEqual',
  // 112..119: modifiers.
  'ControlLeft', 'ShiftLeft', 'AltLeft', 'MetaLeft', 'ControlRight', 'ShiftRight', 'AltRight', 'MetaRight',
  // 120..130: international keys (ids from here on take two varuint bytes from 128).
  'NumpadComma', 'IntlRo', 'IntlYen', 'KanaMode', 'Convert', 'NonConvert',
  'Lang1', 'Lang2', 'Lang3', 'Lang4', 'Lang5',
  // 131..140: legacy editing keys found on some keyboards (Sun, Apple, HID).
  'Help', 'Again', 'Undo', 'Cut', 'Copy', 'Paste', 'Find', 'Open', 'Props', 'Select',
  // 141..143: volume.
  'AudioVolumeMute', 'AudioVolumeUp', 'AudioVolumeDown',
  // 144..155: rarer numpad keys.
  'NumpadParenLeft', 'NumpadParenRight', 'NumpadBackspace', 'NumpadClear', 'NumpadClearEntry', 'NumpadHash',
  'NumpadStar', 'NumpadMemoryAdd', 'NumpadMemoryClear', 'NumpadMemoryRecall', 'NumpadMemoryStore',
  'NumpadMemorySubtract',
  // 156..173: browser, launch and media keys.
  'BrowserBack', 'BrowserFavorites', 'BrowserForward', 'BrowserHome', 'BrowserRefresh', 'BrowserSearch',
  'BrowserStop', 'Eject', 'LaunchApp1', 'LaunchApp2', 'LaunchMail', 'MediaPlayPause', 'MediaSelect',
  'MediaStop', 'MediaTrackNext', 'MediaTrackPrevious', 'Sleep', 'WakeUp',
  // 174..183: Fn keys and legacy modifiers / keys of the spec's "legacy" section.
  'Fn', 'FnLock', 'Hyper', 'Super', 'Turbo', 'Abort', 'Resume', 'Suspend', 'Hiragana', 'Katakana',
] as const;

/** A W3C `KeyboardEvent.code` value that tessera can carry. */
export type KeyCode = (typeof KEY_CODES)[number];

/** Highest key id defined by this version. */
export const MAX_KEY_ID = KEY_CODES.length;

const ID_BY_CODE: ReadonlyMap<string, number> = new Map(KEY_CODES.map((code, index) => [code, index + 1]));

/** The key id of a code, or undefined when the code is not in the table. */
export function keyIdOf(code: string): number | undefined {
  return ID_BY_CODE.get(code);
}

/** The code of a key id, or undefined for 0 and ids past the table. */
export function keyCodeOf(id: number): KeyCode | undefined {
  return id >= 1 && id <= MAX_KEY_ID ? KEY_CODES[id - 1] : undefined;
}

/** True when `code` is a key code tessera can carry. */
export function isKeyCode(code: unknown): code is KeyCode {
  return typeof code === 'string' && ID_BY_CODE.has(code);
}
