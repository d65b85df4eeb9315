/**
 * Clipped drawing on an RGBA framebuffer for the virtual desktop: rectangles and bitmap text.
 * Pixels are written as 32-bit words through a Uint32Array view, one `fill` per row span; nothing is allocated
 * per pixel or per glyph.
 */
import type { Framebuffer, Rect } from '../../codec/framebuffer.js';
import { CELL_HEIGHT, CELL_WIDTH, GLYPH_HEIGHT, GLYPH_ROWS, GLYPH_WIDTH, glyphIndex } from './font.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Packs an opaque colour into the 32-bit word that stores R, G, B, 255 in memory order. */
export function rgb(r: number, g: number, b: number): number {
  return LITTLE_ENDIAN ? ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
}

/** Draws into a framebuffer, clipped to a rectangle set with {@link Canvas.setClip}. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly #pixels: Uint32Array;
  #clipX0 = 0;
  #clipY0 = 0;
  #clipX1: number;
  #clipY1: number;

  constructor(frame: Framebuffer) {
    // INVARIANT: frame.data starts on a 4-byte boundary (the virtual screen allocates its own buffer).
    this.width = frame.width;
    this.height = frame.height;
    this.#pixels = new Uint32Array(frame.data.buffer, frame.data.byteOffset, frame.width * frame.height);
    this.#clipX1 = frame.width;
    this.#clipY1 = frame.height;
  }

  /** Limits drawing to `rect` (intersected with the canvas). */
  setClip(rect: Rect): void {
    this.#clipX0 = Math.max(0, rect.x);
    this.#clipY0 = Math.max(0, rect.y);
    this.#clipX1 = Math.min(this.width, rect.x + rect.width);
    this.#clipY1 = Math.min(this.height, rect.y + rect.height);
  }

  /** True when `rect` overlaps the clip. */
  touches(x: number, y: number, width: number, height: number): boolean {
    return x < this.#clipX1 && y < this.#clipY1 && x + width > this.#clipX0 && y + height > this.#clipY0;
  }

  /** Fills a rectangle with one colour. */
  fillRect(x: number, y: number, width: number, height: number, color: number): void {
    const x0 = Math.max(x, this.#clipX0);
    const y0 = Math.max(y, this.#clipY0);
    const x1 = Math.min(x + width, this.#clipX1);
    const y1 = Math.min(y + height, this.#clipY1);
    if (x0 >= x1 || y0 >= y1) return;
    const pixels = this.#pixels;
    const stride = this.width;
    for (let row = y0; row < y1; row++) pixels.fill(color, row * stride + x0, row * stride + x1);
  }

  /** Fills each row of a rectangle with its own colour (`rowColors[y]` for screen row y): a vertical gradient. */
  fillRows(x: number, y: number, width: number, height: number, rowColors: Uint32Array): void {
    const x0 = Math.max(x, this.#clipX0);
    const y0 = Math.max(y, this.#clipY0);
    const x1 = Math.min(x + width, this.#clipX1);
    const y1 = Math.min(y + height, this.#clipY1, rowColors.length);
    const pixels = this.#pixels;
    const stride = this.width;
    for (let row = y0; row < y1; row++) pixels.fill(rowColors[row]!, row * stride + x0, row * stride + x1);
  }

  /** Draws a one-pixel rectangle outline. */
  strokeRect(x: number, y: number, width: number, height: number, color: number): void {
    this.fillRect(x, y, width, 1, color);
    this.fillRect(x, y + height - 1, width, 1, color);
    this.fillRect(x, y, 1, height, color);
    this.fillRect(x + width - 1, y, 1, height, color);
  }

  /**
   * Draws one character cell's glyph (ink only; the caller paints the background) at (x, y), `scale` screen pixels
   * per font pixel. Code points outside printable ASCII draw as a box.
   */
  drawGlyph(codePoint: number, x: number, y: number, scale: number, color: number): void {
    if (!this.touches(x, y, CELL_WIDTH * scale, CELL_HEIGHT * scale)) return;
    const base = glyphIndex(codePoint) * GLYPH_HEIGHT;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const mask = GLYPH_ROWS[base + row]!;
      if (mask === 0) continue;
      // Draw each horizontal run of ink as one rectangle.
      let col = 0;
      while (col < GLYPH_WIDTH) {
        if ((mask & (1 << (GLYPH_WIDTH - 1 - col))) === 0) {
          col++;
          continue;
        }
        const start = col;
        while (col < GLYPH_WIDTH && (mask & (1 << (GLYPH_WIDTH - 1 - col))) !== 0) col++;
        this.fillRect(x + start * scale, y + row * scale, (col - start) * scale, scale, color);
      }
    }
  }

  /** Draws a one-line string starting at (x, y); returns the x after the last cell. */
  drawText(text: string, x: number, y: number, scale: number, color: number): number {
    for (const char of text) {
      this.drawGlyph(char.codePointAt(0)!, x, y, scale, color);
      x += CELL_WIDTH * scale;
    }
    return x;
  }
}
