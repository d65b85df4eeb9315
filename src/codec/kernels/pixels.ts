/**
 * Per-tile pixel kernels: palette building, index packing, run-lengths and the PNG-style filters of
 * spec/codec.md §4. Encoder and decoder halves sit side by side so that each filter has one definition.
 * INVARIANT (whole file): callers pass a tile rectangle inside the picture and output buffers with room for
 * a whole tile record, checked once per tile; the `!` assertions cost nothing at run time.
 */
import { FILTER_NONE, FILTER_PAETH, FILTER_SUB, FILTER_UP } from '../constants.js';

/** Most colours buildPalette can collect (PALETTE records take at most 256, INDEXED records up to this). */
export const PALETTE_SCRATCH_COLOURS = 512;
/** Open-addressing slots of the palette builder (a power of two, four times the colours). */
const PALETTE_SLOTS = 2048;

/** Per-session scratch for palette building, allocated once. */
export class PaletteScratch {
  /** Colours in order of first appearance (32-bit RGBA words), up to PALETTE_SCRATCH_COLOURS. */
  readonly colours = new Uint32Array(PALETTE_SCRATCH_COLOURS);
  /** Palette index of each pixel of the tile, raster order. */
  readonly indices = new Uint16Array(64 * 64);
  /** Open-addressing colour table keyed by colour, with a generation stamp instead of clearing. */
  readonly keys = new Uint32Array(PALETTE_SLOTS);
  readonly values = new Uint16Array(PALETTE_SLOTS);
  readonly stamps = new Int32Array(PALETTE_SLOTS);
  generation = 0;
  /** Colours found by the last build (limit + 1 when it overflowed). */
  count = 0;
  /** Runs of equal pixels in raster order (valid when the build did not overflow). */
  runs = 0;
  /** Old index to sorted index, for sortPalette. */
  readonly remap = new Uint8Array(256);
  readonly sorted = new Uint32Array(256);
}

/**
 * Reorders the palette by colour value and rewrites the indices to match. A stable order makes the same glyph
 * produce the same index bytes in different tiles, which the session deflate stream can then match.
 */
export function sortPalette(s: PaletteScratch, n: number): void {
  const count = s.count;
  const sorted = s.sorted.subarray(0, count);
  sorted.set(s.colours.subarray(0, count));
  sorted.sort();
  // Colours are distinct, so a binary search finds each one's new place.
  for (let i = 0; i < count; i++) {
    const v = s.colours[i]!;
    let lo = 0, hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    s.remap[i] = lo;
  }
  s.colours.set(sorted);
  const indices = s.indices, remap = s.remap;
  for (let i = 0; i < n; i++) indices[i] = remap[indices[i]!]!;
}

/**
 * Builds the tile's palette into `s` and stops once it exceeds `limit` (at most PALETTE_SCRATCH_COLOURS) colours
 * (then `s.count === limit + 1`).
 */
export function buildPalette(src: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number, limit: number, s: PaletteScratch): void {
  const gen = ++s.generation;
  const keys = s.keys, values = s.values, stamps = s.stamps, colours = s.colours, indices = s.indices;
  let count = 0;
  let runs = 0;
  let last = 0;
  let lastIndex = -1;
  let k = 0;
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * stride + x0;
    const end = i + w;
    for (; i < end; i++, k++) {
      const v = src[i]!;
      if (v === last && lastIndex >= 0) {
        indices[k] = lastIndex;
        continue;
      }
      runs++;
      last = v;
      let slot = Math.imul(v, 0x9e3779b1) >>> 21;
      for (;;) {
        if (stamps[slot] !== gen) {
          if (count === limit) {
            s.count = limit + 1;
            s.runs = runs;
            return;
          }
          stamps[slot] = gen;
          keys[slot] = v;
          values[slot] = count;
          colours[count] = v;
          lastIndex = count++;
          break;
        }
        if (keys[slot] === v) {
          lastIndex = values[slot]!;
          break;
        }
        slot = (slot + 1) & (PALETTE_SLOTS - 1);
      }
      indices[k] = lastIndex;
    }
  }
  s.count = count;
  s.runs = runs;
}

/** True when every pixel of the rectangle has alpha 255. */
export function isOpaque(src: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number): boolean {
  let and = 0xffffffff | 0;
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * stride + x0;
    const end = i + w;
    for (; i < end; i++) and &= src[i]!;
    if ((and >>> 24) !== 255) return false;
  }
  return true;
}

/** Bits per packed palette index for a palette of `count` colours, spec/codec.md §4.2. */
export function indexBits(count: number): number {
  return count <= 2 ? 1 : count <= 4 ? 2 : count <= 16 ? 4 : 8;
}

/** Writes `count` colours as RGB or RGBA bytes; returns the new offset. */
export function writeColours(colours: Uint32Array, count: number, rgb: boolean, out: Uint8Array, off: number): number {
  for (let i = 0; i < count; i++) {
    const v = colours[i]!;
    out[off++] = v & 255;
    out[off++] = (v >>> 8) & 255;
    out[off++] = (v >>> 16) & 255;
    if (!rgb) out[off++] = v >>> 24;
  }
  return off;
}

/** Packs the tile's indices MSB-first, each row starting on a byte boundary; returns the new offset. */
export function packIndices(indices: Uint16Array, w: number, h: number, bits: number, out: Uint8Array, off: number): number {
  if (bits === 8) {
    const n = w * h;
    for (let i = 0; i < n; i++) out[off + i] = indices[i]!;
    return off + n;
  }
  let k = 0;
  for (let y = 0; y < h; y++) {
    let acc = 0;
    let used = 0;
    for (let x = 0; x < w; x++) {
      acc = (acc << bits) | indices[k++]!;
      used += bits;
      if (used === 8) {
        out[off++] = acc;
        acc = 0;
        used = 0;
      }
    }
    if (used > 0) out[off++] = (acc << (8 - used)) & 255;
  }
  return off;
}

/** Writes the tile's indices as (index, run - 1 varuint) pairs in raster order; returns the new offset. */
export function writeRuns(indices: Uint16Array, n: number, out: Uint8Array, off: number): number {
  let i = 0;
  while (i < n) {
    const v = indices[i]!;
    let j = i + 1;
    while (j < n && indices[j] === v) j++;
    out[off++] = v;
    let run = j - i - 1;
    while (run >= 0x80) {
      out[off++] = (run & 0x7f) | 0x80;
      run >>>= 7;
    }
    out[off++] = run;
    i = j;
  }
  return off;
}

/**
 * Writes the tile filtered by a spatial filter (spec/codec.md §4.4): each byte minus its prediction mod 256,
 * neighbours outside the tile count as 0. `src` is the RGBA byte picture with `strideBytes` per row.
 */
export function writeFiltered(
  src: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number, filter: number,
  out: Uint8Array, off: number,
): number {
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * strideBytes + x0 * 4;
    const end = row + w * 4;
    if (filter === FILTER_NONE || (filter === FILTER_UP && y === 0)) {
      for (let p = row; p < end; p += 4) {
        out[off++] = src[p]!;
        out[off++] = src[p + 1]!;
        out[off++] = src[p + 2]!;
        if (bpp === 4) out[off++] = src[p + 3]!;
      }
    } else if (filter === FILTER_UP) {
      for (let p = row; p < end; p += 4) {
        const q = p - strideBytes;
        out[off++] = (src[p]! - src[q]!) & 255;
        out[off++] = (src[p + 1]! - src[q + 1]!) & 255;
        out[off++] = (src[p + 2]! - src[q + 2]!) & 255;
        if (bpp === 4) out[off++] = (src[p + 3]! - src[q + 3]!) & 255;
      }
    } else if (filter === FILTER_SUB || (filter === FILTER_PAETH && y === 0)) {
      // Paeth on the first row predicts from the left neighbour only (up and up-left are 0).
      out[off++] = src[row]!;
      out[off++] = src[row + 1]!;
      out[off++] = src[row + 2]!;
      if (bpp === 4) out[off++] = src[row + 3]!;
      for (let p = row + 4; p < end; p += 4) {
        out[off++] = (src[p]! - src[p - 4]!) & 255;
        out[off++] = (src[p + 1]! - src[p - 3]!) & 255;
        out[off++] = (src[p + 2]! - src[p - 2]!) & 255;
        if (bpp === 4) out[off++] = (src[p + 3]! - src[p - 1]!) & 255;
      }
    } else {
      // Paeth, rows after the first: the first pixel's left and up-left are 0, so it predicts from up.
      for (let c = 0; c < bpp; c++) out[off++] = (src[row + c]! - src[row - strideBytes + c]!) & 255;
      for (let p = row + 4; p < end; p += 4) {
        for (let c = 0; c < bpp; c++) {
          const a = src[p + c - 4]!;
          const b = src[p + c - strideBytes]!;
          const cc = src[p + c - strideBytes - 4]!;
          const pa = b > cc ? b - cc : cc - b;
          const pb = a > cc ? a - cc : cc - a;
          const t = a + b - cc - cc;
          const pc = t < 0 ? -t : t;
          const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : cc;
          out[off++] = (src[p + c]! - pred) & 255;
        }
      }
    }
  }
  return off;
}

/** Estimates which spatial filter suits the tile: minimum sum of absolute (signed) residuals on every 4th row. */
export function chooseSpatialFilter(src: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number): number {
  let sNone = 0, sSub = 0, sUp = 0, sPaeth = 0;
  for (let y = 1; y < h; y += 4) {
    const row = (y0 + y) * strideBytes + x0 * 4;
    for (let x = 1; x < w; x++) {
      const p = row + x * 4;
      for (let c = 0; c < bpp; c++) {
        const v = src[p + c]!;
        const a = src[p + c - 4]!;
        const b = src[p + c - strideBytes]!;
        const cc = src[p + c - strideBytes - 4]!;
        let r = v;
        sNone += r < 128 ? r : 256 - r;
        r = (v - a) & 255;
        sSub += r < 128 ? r : 256 - r;
        r = (v - b) & 255;
        sUp += r < 128 ? r : 256 - r;
        const pa = b > cc ? b - cc : cc - b;
        const pb = a > cc ? a - cc : cc - a;
        const t = a + b - cc - cc;
        const pc = t < 0 ? -t : t;
        r = (v - (pa <= pb && pa <= pc ? a : pb <= pc ? b : cc)) & 255;
        sPaeth += r < 128 ? r : 256 - r;
      }
    }
  }
  let best = FILTER_NONE;
  let bestSum = sNone;
  if (sSub < bestSum) { best = FILTER_SUB; bestSum = sSub; }
  if (sUp < bestSum) { best = FILTER_UP; bestSum = sUp; }
  if (sPaeth < bestSum) best = FILTER_PAETH;
  return best;
}

/**
 * Writes the tile XORed with the prediction picture at offset (dx, dy) (FILTER_PREV, spec/codec.md §4.4).
 * `pred` is the picture before this tile is painted; both are 32-bit pixel words with `stride` words per row.
 */
export function writePrev(
  cur: Uint32Array, pred: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number, dx: number, dy: number, bpp: number,
  out: Uint8Array, off: number,
): number {
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * stride + x0;
    let j = (y0 + y + dy) * stride + x0 + dx;
    const end = i + w;
    if (bpp === 4) {
      for (; i < end; i++, j++) {
        const v = cur[i]! ^ pred[j]!;
        out[off] = v & 255;
        out[off + 1] = (v >>> 8) & 255;
        out[off + 2] = (v >>> 16) & 255;
        out[off + 3] = v >>> 24;
        off += 4;
      }
    } else {
      for (; i < end; i++, j++) {
        const v = cur[i]! ^ pred[j]!;
        out[off] = v & 255;
        out[off + 1] = (v >>> 8) & 255;
        out[off + 2] = (v >>> 16) & 255;
        off += 3;
      }
    }
  }
  return off;
}

// ---- decoder halves ----

/**
 * Reverses a spatial filter: reads `w * h * bpp` residual bytes from `src` at `off` and writes the tile into the
 * RGBA byte picture `dst` (alpha 255 when bpp is 3).
 */
export function readFiltered(
  src: Uint8Array, off: number, dst: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number, filter: number,
): void {
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * strideBytes + x0 * 4;
    const end = row + w * 4;
    if (filter === FILTER_NONE || (filter === FILTER_UP && y === 0)) {
      for (let p = row; p < end; p += 4) {
        dst[p] = src[off++]!;
        dst[p + 1] = src[off++]!;
        dst[p + 2] = src[off++]!;
        dst[p + 3] = bpp === 4 ? src[off++]! : 255;
      }
    } else if (filter === FILTER_UP) {
      for (let p = row; p < end; p += 4) {
        const q = p - strideBytes;
        dst[p] = src[off++]! + dst[q]!;
        dst[p + 1] = src[off++]! + dst[q + 1]!;
        dst[p + 2] = src[off++]! + dst[q + 2]!;
        dst[p + 3] = bpp === 4 ? src[off++]! + dst[q + 3]! : 255;
      }
    } else if (filter === FILTER_SUB || (filter === FILTER_PAETH && y === 0)) {
      dst[row] = src[off++]!;
      dst[row + 1] = src[off++]!;
      dst[row + 2] = src[off++]!;
      dst[row + 3] = bpp === 4 ? src[off++]! : 255;
      for (let p = row + 4; p < end; p += 4) {
        dst[p] = src[off++]! + dst[p - 4]!;
        dst[p + 1] = src[off++]! + dst[p - 3]!;
        dst[p + 2] = src[off++]! + dst[p - 2]!;
        dst[p + 3] = bpp === 4 ? src[off++]! + dst[p - 1]! : 255;
      }
    } else {
      for (let c = 0; c < bpp; c++) dst[row + c] = src[off++]! + dst[row - strideBytes + c]!;
      if (bpp === 3) dst[row + 3] = 255;
      for (let p = row + 4; p < end; p += 4) {
        for (let c = 0; c < bpp; c++) {
          const a = dst[p + c - 4]!;
          const b = dst[p + c - strideBytes]!;
          const cc = dst[p + c - strideBytes - 4]!;
          const pa = b > cc ? b - cc : cc - b;
          const pb = a > cc ? a - cc : cc - a;
          const t = a + b - cc - cc;
          const pc = t < 0 ? -t : t;
          dst[p + c] = src[off++]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : cc);
        }
        if (bpp === 3) dst[p + 3] = 255;
      }
    }
  }
}

/**
 * Reverses FILTER_PREV: reads residuals from `src` at `off` and writes the tile into `dst32` (stride `stride`).
 * The prediction comes from `pred` (`w` words per row from `predBase`), a snapshot of the source rectangle taken
 * before the tile is painted, so a source overlapping the tile itself reads old pixels, as on the encoder side.
 */
export function readPrev(
  src: Uint8Array, off: number, dst: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number, pred: Uint32Array, bpp: number,
): void {
  let j = 0;
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * stride + x0;
    const end = i + w;
    if (bpp === 4) {
      for (; i < end; i++, j++) {
        const v = src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16) | (src[off + 3]! << 24);
        dst[i] = (v ^ pred[j]!) >>> 0;
        off += 4;
      }
    } else {
      for (; i < end; i++, j++) {
        const v = src[off]! | (src[off + 1]! << 8) | (src[off + 2]! << 16);
        dst[i] = ((v ^ pred[j]!) | 0xff000000) >>> 0;
        off += 3;
      }
    }
  }
}

/** Copies the w x h rectangle at (x0, y0) of `pix` into `out`, packed at `w` words per row. */
export function grabRect(pix: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number, out: Uint32Array): void {
  for (let y = 0; y < h; y++) {
    const s = (y0 + y) * stride + x0;
    out.set(pix.subarray(s, s + w), y * w);
  }
}
