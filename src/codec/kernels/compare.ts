/**
 * Comparison and hashing kernels over 32-bit pixel words (one RGBA pixel per word, little-endian memory).
 * INVARIANT (whole file): callers pass rectangles inside both pictures, so every index below is in bounds;
 * the `!` assertions cost nothing at run time.
 */

/** True when the two pictures are equal; 32-bit words, early exit at the first difference. */
export function wordsEqual(a: Uint32Array, b: Uint32Array, length: number): boolean {
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

/** Index of the first differing word, or `length` when equal. */
export function firstDifference(a: Uint32Array, b: Uint32Array, length: number): number {
  let i = 0;
  // Unrolled by four: the loop is memory-bound and this keeps the branch count low.
  const end4 = length - (length & 3);
  for (; i < end4; i += 4) {
    if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3]) break;
  }
  for (; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

/** True when the w x h rectangle at (ax, ay) in `a` equals the one at (bx, by) in `b`; both have `stride` words per row. */
export function rectEqual(
  a: Uint32Array, ax: number, ay: number,
  b: Uint32Array, bx: number, by: number,
  stride: number, w: number, h: number,
): boolean {
  for (let y = 0; y < h; y++) {
    let i = (ay + y) * stride + ax;
    let j = (by + y) * stride + bx;
    const end = i + w;
    for (; i < end; i++, j++) if (a[i] !== b[j]) return false;
  }
  return true;
}

/** Counts equal pixels between the rectangle at (ax, ay) in `a` and at (bx, by) in `b`. */
export function countEqual(
  a: Uint32Array, ax: number, ay: number,
  b: Uint32Array, bx: number, by: number,
  stride: number, w: number, h: number,
): number {
  let n = 0;
  for (let y = 0; y < h; y++) {
    let i = (ay + y) * stride + ax;
    let j = (by + y) * stride + bx;
    const end = i + w;
    for (; i < end; i++, j++) if (a[i] === b[j]) n++;
  }
  return n;
}

/**
 * Hashes each row of a rectangle (w pixels wide) into `hashes[hashBase + y]`, and sets `uniform[hashBase + y]`
 * to 1 when every pixel of the row is equal. 32-bit FNV-style over words with a final avalanche.
 */
export function hashRows(
  src: Uint32Array, stride: number, x0: number, y0: number, w: number, h: number,
  hashes: Uint32Array, uniform: Uint8Array, hashBase: number,
): void {
  for (let y = 0; y < h; y++) {
    let i = (y0 + y) * stride + x0;
    const end = i + w;
    const first = src[i]!;
    let hash = 0x811c9dc5 ^ w;
    let diff = 0;
    for (; i < end; i++) {
      const v = src[i]!;
      diff |= v ^ first;
      hash = Math.imul(hash ^ v, 0x01000193);
    }
    hash ^= hash >>> 16;
    hash = Math.imul(hash, 0x85ebca6b);
    hash ^= hash >>> 13;
    hashes[hashBase + y] = hash >>> 0;
    uniform[hashBase + y] = diff === 0 ? 1 : 0;
  }
}
