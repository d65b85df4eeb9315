/** Wire constants and default limits of the input layer; spec/input.md. */

/** Event type bytes of an input batch; spec/input.md §2. */
export const EventType = {
  /** A physical key went down (spec/input.md §2.1). */
  KeyDown: 0x01,
  /** A physical key went up (spec/input.md §2.1). */
  KeyUp: 0x02,
  /** Unicode text to type as is (spec/input.md §2.2). */
  Text: 0x03,
  /** The pointer moved to an absolute position (spec/input.md §2.3). */
  PointerMove: 0x04,
  /** A pointer button went down (spec/input.md §2.4). */
  ButtonDown: 0x05,
  /** A pointer button went up (spec/input.md §2.4). */
  ButtonUp: 0x06,
  /** The wheel turned (spec/input.md §2.5). */
  Wheel: 0x07,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Modifier bits of key events; spec/input.md §2.1. */
export const Modifier = {
  Shift: 0x01,
  Ctrl: 0x02,
  Alt: 0x04,
  Meta: 0x08,
  CapsLock: 0x10,
  NumLock: 0x20,
} as const;
/** Every defined modifier bit; the others must be zero. */
export const MODIFIER_MASK = 0x3f;

/** Button numbers of button events, as W3C `MouseEvent.button`; spec/input.md §2.4. */
export const MouseButton = {
  Left: 0,
  Middle: 1,
  Right: 2,
  Back: 3,
  Forward: 4,
} as const;
/** Highest button number. */
export const MAX_BUTTON = 4;

/** Bits of the pointer `buttons` state, as W3C `MouseEvent.buttons`: left 1, right 2, middle 4, back 8, forward 16. */
export const ButtonMask = {
  Left: 0x01,
  Right: 0x02,
  Middle: 0x04,
  Back: 0x08,
  Forward: 0x10,
} as const;
/** Every defined button bit; the others must be zero. */
export const BUTTON_MASK = 0x1f;

/** The `buttons` bit of a button number (W3C: button 1 is bit 2, button 2 is bit 1). */
export function buttonBit(button: number): number {
  switch (button) {
    case MouseButton.Left: return ButtonMask.Left;
    case MouseButton.Middle: return ButtonMask.Middle;
    case MouseButton.Right: return ButtonMask.Right;
    case MouseButton.Back: return ButtonMask.Back;
    case MouseButton.Forward: return ButtonMask.Forward;
    default: return 0;
  }
}

/** Largest x or y a pointer event may carry (screens are at most 16384 px a side). */
export const MAX_COORDINATE = 16383;
/** Smallest and largest wheel delta (the range of a signed 16-bit integer). */
export const MIN_WHEEL_DELTA = -32768;
export const MAX_WHEEL_DELTA = 32767;

/** Default cap on events in one batch. */
export const DEFAULT_MAX_EVENTS_PER_BATCH = 256;
/** Default cap on the UTF-8 bytes of one text event. */
export const DEFAULT_MAX_TEXT_BYTES = 1024;
/** Hard ceilings on the two batch limits; a receiver may lower them, never raise them past these. */
export const ABSOLUTE_MAX_EVENTS_PER_BATCH = 4096;
export const ABSOLUTE_MAX_TEXT_BYTES = 65536;

/** Default cap on a clipboard payload (Channel.Clipboard), in UTF-8 bytes. */
export const DEFAULT_MAX_CLIPBOARD_BYTES = 1024 * 1024;
/** Default cap on a chat payload (Channel.Chat), in UTF-8 bytes. */
export const DEFAULT_MAX_CHAT_BYTES = 4096;

/** Default rate limit of the host's input gate, in events per second. */
export const DEFAULT_MAX_EVENTS_PER_SECOND = 2000;
