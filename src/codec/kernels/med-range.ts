/**
 * The MED_RANGE pixel filter of a PIXELS tile, spec/codec.md §4.4.1: the MED (LOCO-I) predictor per channel,
 * the red and blue residuals taken relative to the green one, and every residual coded with an adaptive binary
 * range coder (the LZMA coder: 11-bit probabilities, adaptation shift 5) whose contexts follow the local activity.
 * Photographs, whose residuals are noise that deflate's Huffman stage codes poorly, cost about a fifth less than
 * with the PNG filters; the filter needs no image decoder, so the browser decodes it with this same file.
 * Encoder and decoder halves sit side by side so that the model has one definition.
 * INVARIANT (whole file): callers pass a tile rectangle inside the picture (at most 64x64), checked once per tile;
 * the `!` assertions cost nothing at run time.
 */

/** Probability bits of a binary context (the LZMA coder's 11). */
const PROB_BITS = 11;
/** A context's probability of a 0 bit, in 2^-11 units, before it has seen a bit. */
const PROB_INIT = 1 << (PROB_BITS - 1);
/** Adaptation speed: a probability moves by 1/32 of its distance to 0 or 2^11 per bit. */
const MOVE_BITS = 5;
/** The coder renormalises (shifts a byte) when its range falls below 2^24. */
const TOP = 1 << 24;
/** Activity buckets per channel: min(7, bit length of the activity). */
const BUCKETS = 8;
/** Binary contexts per (channel, bucket): 0 zero flag, 1 sign, 2..8 exponent, 9..57 mantissa bits. */
const NODES = 64;
/** Contexts of a four-channel tile. */
const CONTEXTS = 4 * BUCKETS * NODES;
/** Bytes the coder always adds: the flush of five bytes (spec/codec.md §4.4.1). */
export const MED_RANGE_FLUSH_BYTES = 5;

/** Placeholder for the decoder's input between tiles. */
const EMPTY = new Uint8Array(0);

/** Per-session scratch for the MED_RANGE kernels, allocated once. */
export class MedRangeScratch {
  /** The binary contexts' probabilities, reset per tile. */
  readonly probs = new Uint16Array(CONTEXTS);
  /** Coded (decorrelated, signed) residuals of the tile, raster order, 4 per pixel. */
  readonly coded = new Int16Array(64 * 64 * 4);
  /** Encoder output of one tile (at most a raw tile plus the flush, else the encoder gives up). */
  readonly out = new Uint8Array(64 * 64 * 4 + 64);
  // Range encoder state.
  low = 0;
  range = 0;
  cache = 0;
  cacheSize = 0;
  pos = 0;
  limit = 0;
  // Range decoder state.
  code = 0;
  src: Uint8Array = EMPTY;
  inPos = 0;
  inEnd = 0;
}

/** The MED (median edge detector) prediction from left `a`, up `b` and up-left `c`. */
function med(a: number, b: number, c: number): number {
  const max = a > b ? a : b;
  const min = a > b ? b : a;
  return c >= max ? min : c <= min ? max : a + b - c;
}

/** Bucket of an activity value: min(7, its bit length). */
function bucketOf(activity: number): number {
  return activity >= 64 ? 7 : activity >= 32 ? 6 : activity >= 16 ? 5 : activity >= 8 ? 4 : activity >= 4 ? 3 : activity >= 2 ? 2 : activity;
}

/**
 * Computes the tile's coded residuals into `s.coded`: per channel the byte minus its prediction (MED inside the
 * tile, left on the first row, up in the first column, 0 for the first pixel) mod 256, red and blue then minus the
 * green residual mod 256, each kept as a signed value -128..127.
 */
function residuals(src: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number, coded: Int16Array): void {
  let k = 0;
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * strideBytes + x0 * 4;
    for (let x = 0; x < w; x++, k += 4) {
      const p = row + x * 4;
      // `c` walks the channels in memory order (R, G, B, A); the wire codes them G, R, B, A.
      for (let c = 0; c < bpp; c++) {
        let pred: number;
        if (y === 0) pred = x === 0 ? 0 : src[p + c - 4]!;
        else if (x === 0) pred = src[p + c - strideBytes]!;
        else pred = med(src[p + c - 4]!, src[p + c - strideBytes]!, src[p + c - strideBytes - 4]!);
        coded[k + c] = (src[p + c]! - pred) & 255;
      }
      const rG = coded[k + 1]!;
      coded[k] = ((coded[k]! - rG + 128) & 255) - 128;
      coded[k + 1] = ((rG + 128) & 255) - 128;
      coded[k + 2] = ((coded[k + 2]! - rG + 128) & 255) - 128;
      if (bpp === 4) coded[k + 3] = ((coded[k + 3]! + 128) & 255) - 128;
    }
  }
}

/** Context base of wire channel `ch` (0 G, 1 R, 2 B, 3 A) at tile pixel `k` (index into `coded` of its first byte). */
function contextBase(coded: Int16Array, k: number, x: number, y: number, w: number, ch: number, mem: number): number {
  let activity = 0;
  if (x > 0) {
    const v = coded[k - 4 + mem]!;
    activity += v < 0 ? -v : v;
  }
  if (y > 0) {
    const v = coded[k - w * 4 + mem]!;
    activity += v < 0 ? -v : v;
  }
  if (ch === 1 || ch === 2) {
    const g = coded[k + 1]!;
    activity += g < 0 ? -g : g;
  }
  return (ch * BUCKETS + bucketOf(activity)) * NODES;
}

/** Memory offset (R, G, B, A order) of wire channel `ch` (G, R, B, A order). */
const WIRE_TO_MEM = Int8Array.of(1, 0, 2, 3);

// ---- encoder half ----

function shiftLow(s: MedRangeScratch): void {
  const low = s.low;
  if (low < 0xff000000 || low >= 0x100000000) {
    const carry = low >= 0x100000000 ? 1 : 0;
    let temp = s.cache;
    const out = s.out;
    do {
      if (s.pos < s.limit) out[s.pos] = (temp + carry) & 255;
      s.pos++;
      temp = 0xff;
    } while (--s.cacheSize !== 0);
    s.cache = (low >>> 24) & 255;
  }
  s.cacheSize++;
  s.low = (low & 0x00ffffff) * 256;
}

function encodeBit(s: MedRangeScratch, ctx: number, bit: number): void {
  const probs = s.probs;
  const p = probs[ctx]!;
  const bound = (s.range >>> PROB_BITS) * p;
  if (bit === 0) {
    s.range = bound;
    probs[ctx] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS);
  } else {
    s.low += bound;
    s.range = (s.range - bound) >>> 0;
    probs[ctx] = p - (p >> MOVE_BITS);
  }
  if (s.range < TOP) {
    s.range = (s.range << 8) >>> 0;
    shiftLow(s);
  }
}

/** Codes one signed residual -128..127 with the contexts from `base`. */
function encodeValue(s: MedRangeScratch, base: number, v: number): void {
  if (v === 0) {
    encodeBit(s, base, 0);
    return;
  }
  encodeBit(s, base, 1);
  encodeBit(s, base + 1, v < 0 ? 1 : 0);
  const a = v < 0 ? -v : v;
  const e = 31 - Math.clz32(a);
  for (let i = 0; i < e; i++) encodeBit(s, base + 2 + i, 1);
  if (e < 7) encodeBit(s, base + 2 + e, 0);
  const m = base + 9 + 7 * (e - 1);
  for (let j = 0; j < e; j++) encodeBit(s, m + j, (a >> (e - 1 - j)) & 1);
}

/**
 * Codes the tile with MED_RANGE into `s.out`; returns the coded length, or -1 when it would pass `limit` bytes
 * (then the caller sends another filter). `src` is the RGBA byte picture with `strideBytes` per row.
 */
export function encodeMedRange(
  src: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number, limit: number, s: MedRangeScratch,
): number {
  const coded = s.coded;
  residuals(src, strideBytes, x0, y0, w, h, bpp, coded);
  s.probs.fill(PROB_INIT);
  s.low = 0;
  s.range = 0xffffffff;
  s.cache = 0;
  s.cacheSize = 1;
  s.pos = 0;
  s.limit = Math.min(limit, s.out.length);
  let k = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++, k += 4) {
      for (let ch = 0; ch < bpp; ch++) {
        const mem = WIRE_TO_MEM[ch]!;
        encodeValue(s, contextBase(coded, k, x, y, w, ch, mem), coded[k + mem]!);
      }
      if (s.pos > s.limit) return -1;
    }
  }
  for (let i = 0; i < MED_RANGE_FLUSH_BYTES; i++) shiftLow(s);
  return s.pos > s.limit ? -1 : s.pos;
}

// ---- decoder half ----

/** Why a MED_RANGE decode failed: 0 none, 1 ran past the coded bytes, 2 first byte not 0, 3 bytes left over. */
export const MED_RANGE_OK = 0;
export const MED_RANGE_TRUNCATED = 1;
export const MED_RANGE_BAD_START = 2;
export const MED_RANGE_TRAILING = 3;

function nextByte(s: MedRangeScratch): number {
  // Past the end reads 0; the caller reports the overrun once the tile is done (inPos > inEnd).
  const b = s.inPos < s.inEnd ? s.src[s.inPos]! : 0;
  s.inPos++;
  return b;
}

function decodeBit(s: MedRangeScratch, ctx: number): number {
  const probs = s.probs;
  const p = probs[ctx]!;
  const bound = (s.range >>> PROB_BITS) * p;
  let bit: number;
  if (s.code < bound) {
    s.range = bound;
    probs[ctx] = p + (((1 << PROB_BITS) - p) >> MOVE_BITS);
    bit = 0;
  } else {
    s.range = (s.range - bound) >>> 0;
    s.code = (s.code - bound) >>> 0;
    probs[ctx] = p - (p >> MOVE_BITS);
    bit = 1;
  }
  if (s.range < TOP) {
    s.range = (s.range << 8) >>> 0;
    s.code = ((s.code << 8) | nextByte(s)) >>> 0;
  }
  return bit;
}

function decodeValue(s: MedRangeScratch, base: number): number {
  if (decodeBit(s, base) === 0) return 0;
  const negative = decodeBit(s, base + 1);
  let e = 0;
  while (e < 7 && decodeBit(s, base + 2 + e) === 1) e++;
  let a = 1;
  const m = base + 9 + 7 * (e - 1);
  for (let j = 0; j < e; j++) a = (a << 1) | decodeBit(s, m + j);
  // a is 1..255; -a and a are taken mod 256 below, so every bit string decodes to some byte.
  return negative === 1 ? -a : a;
}

/**
 * Reverses MED_RANGE: decodes `len` coded bytes of `src` at `off` into the tile at (x0, y0) of the RGBA byte picture
 * `dst` (alpha 255 when bpp is 3). Total: any bytes decode to some pixels; returns MED_RANGE_OK or why the coded
 * length does not match what the decoder read (the tile is painted either way and the caller raises the error).
 */
export function decodeMedRange(
  src: Uint8Array, off: number, len: number, dst: Uint8Array, strideBytes: number, x0: number, y0: number, w: number, h: number, bpp: number, s: MedRangeScratch,
): number {
  s.src = src;
  s.inPos = off;
  s.inEnd = off + len;
  s.probs.fill(PROB_INIT);
  s.range = 0xffffffff;
  s.code = 0;
  const first = nextByte(s);
  for (let i = 1; i < MED_RANGE_FLUSH_BYTES; i++) s.code = ((s.code << 8) | nextByte(s)) >>> 0;
  const coded = s.coded;
  let k = 0;
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * strideBytes + x0 * 4;
    for (let x = 0; x < w; x++, k += 4) {
      for (let ch = 0; ch < bpp; ch++) {
        const mem = WIRE_TO_MEM[ch]!;
        coded[k + mem] = ((decodeValue(s, contextBase(coded, k, x, y, w, ch, mem)) + 128) & 255) - 128;
      }
      const p = row + x * 4;
      const rG = coded[k + 1]!;
      for (let c = 0; c < bpp; c++) {
        let r = coded[k + c]!;
        if (c === 0 || c === 2) r += rG;
        let pred: number;
        if (y === 0) pred = x === 0 ? 0 : dst[p + c - 4]!;
        else if (x === 0) pred = dst[p + c - strideBytes]!;
        else pred = med(dst[p + c - 4]!, dst[p + c - strideBytes]!, dst[p + c - strideBytes - 4]!);
        dst[p + c] = (pred + r) & 255;
      }
      if (bpp === 3) dst[p + 3] = 255;
    }
  }
  s.src = EMPTY;
  if (first !== 0) return MED_RANGE_BAD_START;
  if (s.inPos > s.inEnd) return MED_RANGE_TRUNCATED;
  if (s.inPos < s.inEnd) return MED_RANGE_TRAILING;
  return MED_RANGE_OK;
}
