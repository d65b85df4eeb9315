/**
 * Synthetic screens for codec tests: text-like glyph rows, scrolls, window moves, photo-like noise.
 * Deterministic from a seed, so failures reproduce.
 */
import { createFramebuffer, type Framebuffer } from '../../src/codec/framebuffer.js';

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function px(fb: Framebuffer, x: number, y: number, r: number, g: number, b: number, a = 255): void {
  if (x < 0 || y < 0 || x >= fb.width || y >= fb.height) return;
  const i = (y * fb.width + x) * 4;
  fb.data[i] = r;
  fb.data[i + 1] = g;
  fb.data[i + 2] = b;
  fb.data[i + 3] = a;
}

/** Fills a rectangle with one colour. */
export function fillRect(fb: Framebuffer, x0: number, y0: number, w: number, h: number, r: number, g: number, b: number, a = 255): void {
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) px(fb, x, y, r, g, b, a);
}

/** An 8x12 "glyph" for a character code: a fixed pseudo-random pattern with anti-aliased grey edges. */
function glyph(code: number): Uint8Array {
  const rnd = prng(code * 7919 + 1);
  const g = new Uint8Array(8 * 12);
  for (let i = 0; i < g.length; i++) {
    const v = rnd();
    g[i] = v < 0.55 ? 0 : v < 0.7 ? 90 + ((code * 13) & 63) : v < 0.85 ? 170 : 255;
  }
  return g;
}

const GLYPHS: Uint8Array[] = [];
for (let c = 0; c < 96; c++) GLYPHS.push(glyph(c));

/** Draws a line of text (glyph codes from `text`) dark on a light background. */
export function drawText(fb: Framebuffer, x0: number, y0: number, text: string): void {
  for (let k = 0; k < text.length; k++) {
    const g = GLYPHS[(text.charCodeAt(k) - 32) & 63]!;
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 8; x++) {
        const ink = g[y * 8 + x]!;
        const v = 255 - ink;
        px(fb, x0 + k * 8 + x, y0 + y, v, v, v);
      }
    }
  }
}

/** Words for text lines. */
const WORDS = ['the', 'tile', 'codec', 'sends', 'only', 'what', 'changed', 'since', 'last', 'frame', 'scroll', 'window', 'moves', 'cache', 'hit'];

/** Line `n` of a deterministic document. */
export function lineText(n: number, columns: number): string {
  const rnd = prng(n + 1000);
  let s = '';
  while (s.length < columns) s += WORDS[Math.floor(rnd() * WORDS.length)]! + ' ';
  return s.slice(0, columns);
}

/** A terminal-like screen showing document lines from `first`, 14 px per line. */
export function terminalScreen(width: number, height: number, first: number): Framebuffer {
  const fb = createFramebuffer(width, height);
  fillRect(fb, 0, 0, width, height, 255, 255, 255);
  const columns = Math.floor(width / 8);
  for (let row = 0; row * 14 < height; row++) drawText(fb, 0, row * 14 + 1, lineText(first + row, columns));
  return fb;
}

/** Photo-like noise: smooth gradients plus random grain (many colours per tile). */
export function photoScreen(width: number, height: number, seed: number): Framebuffer {
  const fb = createFramebuffer(width, height);
  const rnd = prng(seed);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const n = Math.floor(rnd() * 24);
      px(fb, x, y, (x * 3 + n + seed) & 255, (y * 2 + n) & 255, ((x + y) + n * 2) & 255);
    }
  }
  return fb;
}

/** A desktop of busy icon-like squares with a text window at (wx, wy). */
export function desktopWithWindow(width: number, height: number, wx: number, wy: number, ww = 200, wh = 150): Framebuffer {
  const fb = createFramebuffer(width, height);
  fillRect(fb, 0, 0, width, height, 60, 90, 120);
  const rnd = prng(42);
  for (let y = 4; y + 28 < height; y += 36) {
    for (let x = 4; x + 28 < width; x += 36) {
      const r = Math.floor(rnd() * 255), g = Math.floor(rnd() * 255), b = Math.floor(rnd() * 255);
      for (let j = 0; j < 28; j++) for (let i = 0; i < 28; i++) px(fb, x + i, y + j, (r + i * 5) & 255, (g + j * 5) & 255, b);
    }
  }
  fillRect(fb, wx, wy, ww, wh, 250, 250, 245);
  fillRect(fb, wx, wy, ww, 14, 40, 70, 160);
  for (let row = 0; row * 14 + 16 < wh - 12; row++) {
    const text = lineText(row + 7, Math.floor((ww - 4) / 8));
    // Clip text to the window.
    const sub = createFramebuffer(ww, 12);
    fillRect(sub, 0, 0, ww, 12, 250, 250, 245);
    drawText(sub, 2, 0, text);
    for (let y = 0; y < 12; y++) for (let x = 0; x < ww; x++) {
      const i = (y * ww + x) * 4;
      px(fb, wx + x, wy + 16 + row * 14 + y, sub.data[i]!, sub.data[i + 1]!, sub.data[i + 2]!);
    }
  }
  return fb;
}

/** Random pixels with random alpha (worst case for every encoding). */
export function noiseScreen(width: number, height: number, seed: number, opaque = false): Framebuffer {
  const fb = createFramebuffer(width, height);
  const rnd = prng(seed);
  for (let i = 0; i < fb.data.length; i++) fb.data[i] = (i & 3) === 3 && opaque ? 255 : Math.floor(rnd() * 256);
  return fb;
}
