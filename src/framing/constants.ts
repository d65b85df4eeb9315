/** Wire constants of the framing layer; spec/framing.md. */

/** Bytes in a frame header: 4 (body length, big-endian u32). */
export const FRAME_HEADER_BYTES = 4;
/** Smallest body: 1 byte of channel id. */
export const MIN_BODY_BYTES = 1;
/** Default cap on a frame body before the handshake completes (unauthenticated peers); spec/framing.md §2.3. */
export const PRE_AUTH_MAX_BODY_BYTES = 8 * 1024;
/** Default cap on a frame body after the handshake. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Hard ceiling on any negotiated cap. */
export const ABSOLUTE_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Bytes the seal adds to a body after the handshake: the AEAD tag, 16 for every cipher of spec/handshake.md §7.1. */
export const AEAD_TAG_BYTES = 16;

/** Channel ids; spec/framing.md §2.2. */
export const Channel = {
  /** Handshake messages; only before the keys are in place. */
  Handshake: 0,
  /** msgpack control messages. */
  Control: 1,
  /** Codec updates (binary). */
  Display: 2,
  /** Input events (binary). */
  Input: 3,
  /** Clipboard text. */
  Clipboard: 4,
  /** Chat text. */
  Chat: 5,
  /** Pointer position and shape (host → helper), once both sides enabled the `cursor` feature; spec/session.md §6.8. */
  Cursor: 6,
  /** File transfer data (both ways), once both sides enabled the `transfer` feature; spec/session.md §6.8. */
  Transfer: 7,
} as const;
export type Channel = (typeof Channel)[keyof typeof Channel];

/** Highest channel id defined by this version. */
export const MAX_CHANNEL = 7;
