/**
 * COPY application shared by encoder and decoder, spec/codec.md §3: every copy reads the picture as it was before
 * the update. The copies are applied in place, one at a time, in an order in which no copy overwrites pixels that a
 * copy still to come reads, and copies whose destinations overlap keep their list order (the later one wins);
 * each copy moves its rectangle with memmove semantics, so a copy that overlaps itself (a scroll) needs no scratch.
 * Such an order exists unless the copies' reads and writes form a cycle (spec/codec.md §3 makes a cycle an error),
 * so the extra memory is one Int32Array of the copy count, never a snapshot of the picture.
 * INVARIANT: the caller has checked every rectangle against the picture bounds.
 */

/** Copy list layout: 6 numbers per copy: srcX, srcY, dstX, dstY, width, height. */
export const COPY_FIELDS = 6;

/**
 * Copies one rectangle within `pix` with memmove semantics (overlap-safe): rows go bottom-up when the
 * destination is lower, and copyWithin handles the direction within a row.
 */
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

/** True when the w1 x h1 rectangle at (ax, ay) and the w2 x h2 rectangle at (bx, by) share a pixel. */
function overlaps(ax: number, ay: number, w1: number, h1: number, bx: number, by: number, w2: number, h2: number): boolean {
  return ax < bx + w2 && bx < ax + w1 && ay < by + h2 && by < ay + h1;
}

/** True when copy `i` must run before copy `j`: j writes where i reads, or both write the same pixels and i is earlier. */
function before(c: Int32Array, i: number, j: number): boolean {
  if (i === j) return false;
  const a = i * COPY_FIELDS, b = j * COPY_FIELDS;
  const aw = c[a + 4]!, ah = c[a + 5]!, bw = c[b + 4]!, bh = c[b + 5]!;
  if (overlaps(c[b + 2]!, c[b + 3]!, bw, bh, c[a]!, c[a + 1]!, aw, ah)) return true;
  return i < j && overlaps(c[a + 2]!, c[a + 3]!, aw, ah, c[b + 2]!, c[b + 3]!, bw, bh);
}

/**
 * Finds an order in which `count` copies can be applied in place (Kahn's algorithm over the `before` relation,
 * O(count^2) time, no memory beyond `order` and `pending`, which must hold `count` entries each).
 * @returns true with `order[0..count)` filled, or false when the copies' reads and writes form a cycle
 */
export function orderCopies(copies: Int32Array, count: number, order: Int32Array, pending: Int32Array): boolean {
  if (count <= 1) {
    if (count === 1) order[0] = 0;
    return true;
  }
  for (let j = 0; j < count; j++) {
    let n = 0;
    for (let i = 0; i < count; i++) if (before(copies, i, j)) n++;
    pending[j] = n;
  }
  let tail = 0;
  for (let j = 0; j < count; j++) if (pending[j] === 0) order[tail++] = j;
  for (let head = 0; head < tail; head++) {
    const i = order[head]!;
    for (let j = 0; j < count; j++) {
      // A copy already placed has pending 0 and is never counted down again: `before` is only true towards copies that waited on i.
      if (pending[j]! > 0 && before(copies, i, j) && --pending[j]! === 0) order[tail++] = j;
    }
  }
  return tail === count;
}

/**
 * For an encoder: orders `count` copies for in-place application, first removing copies that close a cycle.
 * While no order exists, the last copy (in list order) that could not be placed is removed and the rest kept in
 * their order; detectors list their best copies first, so the main scroll or move survives a stray match.
 * After `maxDrops` removals it gives up and keeps none.
 * @returns how many copies remain at the start of `copies`, ordered in `order`
 */
export function orderCopiesDroppingCycles(copies: Int32Array, count: number, order: Int32Array, pending: Int32Array, maxDrops: number): number {
  let n = count;
  for (let drops = 0; !orderCopies(copies, n, order, pending); drops++) {
    if (drops >= maxDrops) return 0;
    // INVARIANT: orderCopies failed, so some copy is unplaced (pending > 0).
    let drop = n - 1;
    while (pending[drop] === 0) drop--;
    copies.copyWithin(drop * COPY_FIELDS, (drop + 1) * COPY_FIELDS, n * COPY_FIELDS);
    n--;
  }
  return n;
}

/**
 * Applies `count` copies to `pix` in `order` (from orderCopies).
 * INVARIANT: orderCopies returned true for these copies and `order`.
 */
export function applyCopies(pix: Uint32Array, stride: number, copies: Int32Array, count: number, order: Int32Array): void {
  for (let k = 0; k < count; k++) {
    const c = order[k]! * COPY_FIELDS;
    moveRect(pix, stride, copies[c]!, copies[c + 1]!, copies[c + 2]!, copies[c + 3]!, copies[c + 4]!, copies[c + 5]!);
  }
}
