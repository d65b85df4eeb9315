/**
 * An RGBA framebuffer: `width * height` pixels, 4 bytes each (R, G, B, A), rows packed with no padding.
 * Shared by the codec, the adapters and the sessions. spec/protocol.md §4 (Codec).
 */
export interface Framebuffer {
  readonly width: number;
  readonly height: number;
  /** RGBA bytes, length width * height * 4. */
  readonly data: Uint8Array;
}

/** A rectangle in pixels. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Largest width or height a framebuffer may have. */
export const MAX_SCREEN_DIMENSION = 16384;

/** Allocates a zeroed (transparent black) framebuffer. */
export function createFramebuffer(width: number, height: number): Framebuffer {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && width <= MAX_SCREEN_DIMENSION && height <= MAX_SCREEN_DIMENSION)) {
    throw new RangeError(`framebuffer size ${width}x${height} is outside 1..${MAX_SCREEN_DIMENSION}`);
  }
  return { width, height, data: new Uint8Array(width * height * 4) };
}

/** A deep copy of a framebuffer. */
export function cloneFramebuffer(fb: Framebuffer): Framebuffer {
  return { width: fb.width, height: fb.height, data: fb.data.slice() };
}
