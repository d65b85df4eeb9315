/**
 * COPY application shared by encoder and decoder, spec/codec.md §3:
 * every copy reads the picture as it was before the update, whatever the order.
 * INVARIANT: the caller has checked every rectangle against the picture bounds.
 */

/** Copy list layout: 6 numbers per copy: srcX, srcY, dstX, dstY, width, height. */
export const COPY_FIELDS = 6;

/** Copies one rectangle within `pix` with memmove semantics (overlap-safe). */
export function moveRect(pix: Uint32Array, stride: number, sx: number, sy: number, dx: number, dy: number, w: number, h: number): void {
  if (dy > sy) {
    for (let y = h - 1; y >= 0; y--) {
      const s = (sy + y) * stride + sx;
      pix.copyWithin((dy + y) * stride + dx, s, s + w);
    }
  } else {
    for (let y = 0; y < h; y++) {
      const s = (sy + y) * stride + sx;
      pix.copyWithin((dy + y) * stride + dx, s, s + w);
    }
  }
}

function overlaps(ax: number, ay: number, bx: number, by: number, w1: number, h1: number, w2: number, h2: number): boolean {
  return ax < bx + w2 && bx < ax + w1 && ay < by + h2 && by < ay + h1;
}

/** True when some copy writes where another copy (a different one) reads. */
export function copiesInterfere(copies: Int32Array, count: number): boolean {
  for (let i = 0; i < count; i++) {
    const a = i * COPY_FIELDS;
    for (let j = 0; j < count; j++) {
      if (i === j) continue;
      const b = j * COPY_FIELDS;
      if (overlaps(copies[a + 2]!, copies[a + 3]!, copies[b]!, copies[b + 1]!, copies[a + 4]!, copies[a + 5]!, copies[b + 4]!, copies[b + 5]!)) return true;
    }
  }
  return false;
}

/** Most copies checked pairwise for interference; above it the snapshot path is taken. */
const PAIRWISE_LIMIT = 64;

/**
 * Applies `count` copies to `pix`. When copies interfere, the pre-update picture is snapshotted into `scratch`
 * (which must hold the whole picture) and every copy reads from it.
 * @returns the scratch buffer it used or allocated (so callers can keep it for next time)
 */
export function applyCopies(
  pix: Uint32Array, stride: number, pixels: number, copies: Int32Array, count: number, scratch: Uint32Array | undefined,
): Uint32Array | undefined {
  if (count === 0) return scratch;
  if (count === 1 || (count <= PAIRWISE_LIMIT && !copiesInterfere(copies, count))) {
    for (let k = 0; k < count; k++) {
      const c = k * COPY_FIELDS;
      moveRect(pix, stride, copies[c]!, copies[c + 1]!, copies[c + 2]!, copies[c + 3]!, copies[c + 4]!, copies[c + 5]!);
    }
    return scratch;
  }
  const snap = scratch !== undefined && scratch.length >= pixels ? scratch : new Uint32Array(pixels);
  snap.set(pix.subarray(0, pixels));
  for (let k = 0; k < count; k++) {
    const c = k * COPY_FIELDS;
    const sx = copies[c]!, sy = copies[c + 1]!, dx = copies[c + 2]!, dy = copies[c + 3]!, w = copies[c + 4]!, h = copies[c + 5]!;
    for (let y = 0; y < h; y++) {
      const s = (sy + y) * stride + sx;
      pix.set(snap.subarray(s, s + w), (dy + y) * stride + dx);
    }
  }
  return snap;
}
