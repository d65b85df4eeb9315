/**
 * Finds COPY rectangles (spec/codec.md §3) from pixels alone, with no hints from the capture.
 * Vertical scrolls: per 64-px column strip, rows of the new frame are matched by hash against rows of the
 * reference frame (as Xpra does with whole rows); offsets are voted, runs of matching rows become copies.
 * Moves in two dimensions (window drags): a few changed rows are searched for in a window around their
 * position, and each candidate offset is kept if whole tiles match at it.
 * Every copy is verified pixel by pixel before it is emitted, so hash collisions never reach the wire.
 */
import { MAX_COPIES, TILE_SIZE_PX } from './constants.js';
import { rectEqual } from './kernels/compare.js';
import { COPY_FIELDS } from './kernels/copy.js';

/** Shortest run of matching rows worth a copy. */
const MIN_RUN_ROWS = 8;
/** Fewest votes for a scroll offset to be tried. */
const MIN_VOTES = 16;
/** Scroll offsets tried per update. */
const MAX_SCROLL_CANDIDATES = 3;
/** Search radius in pixels for two-dimensional moves. */
const MOVE_RADIUS_PX = 128;
/** Probe rows taken from changed tiles when searching for a move. */
const MOVE_PROBES = 8;
/** Candidate offsets kept per probe. */
const MOVE_CANDIDATES_PER_PROBE = 4;
/** Smallest part of a tile worth its own copy at a move's offset (a copy costs 12 bytes), and its shortest side. */
const MIN_PARTIAL_AREA_PX = 512;
const MIN_PARTIAL_SIDE_PX = 4;
/** Fewest changed tiles before a move search is worth its cost. */
const MOVE_MIN_CHANGED_TILES = 4;

/** What the detector reads: the new and reference pictures, the tile grid and per-strip row hashes. */
export interface DetectInput {
  cur: Uint32Array;
  ref: Uint32Array;
  width: number;
  height: number;
  cols: number;
  rows: number;
  /** 1 for each tile that differs from the reference. */
  changed: Uint8Array;
  /** Changed tile indices in ascending order, and how many. */
  changedList: Int32Array;
  changedCount: number;
  /** Row hashes per strip: index strip * height + y. New hashes are valid for rows of changed tiles. */
  newHash: Uint32Array;
  newUniform: Uint8Array;
  refHash: Uint32Array;
  refUniform: Uint8Array;
}

/** Per-session copy detector; its scratch grows with the screen and is reused. */
export class CopyDetector {
  /** Copies found, COPY_FIELDS numbers each (srcX, srcY, dstX, dstY, width, height). */
  copies = new Int32Array(64 * COPY_FIELDS);
  copyCount = 0;
  /** Candidate source offsets (dx, dy pairs) for FILTER_PREV, besides (0, 0). */
  readonly offsets = new Int32Array(16);
  offsetCount = 0;
  #votes = new Int32Array(0);
  #touched = new Int32Array(0);
  #tableKeys = new Uint32Array(0);
  #tableRows = new Int32Array(0);
  #tableStamps = new Int32Array(0);
  #generation = 0;
  #claimed = new Uint8Array(0);
  readonly #heights = new Int32Array(TILE_SIZE_PX + 1);
  readonly #stack = new Int32Array(TILE_SIZE_PX + 1);
  readonly #found = new Int32Array(MOVE_PROBES * MOVE_CANDIDATES_PER_PROBE * 2);
  readonly #best = new Int32Array(MAX_SCROLL_CANDIDATES);
  readonly #bestVotes = new Int32Array(MAX_SCROLL_CANDIDATES);

  #ensure(width: number, height: number, cols: number): void {
    if (this.#votes.length !== 2 * height + 1) {
      this.#votes = new Int32Array(2 * height + 1);
      this.#touched = new Int32Array(2 * height + 1);
      let size = 64;
      while (size < height * 2) size *= 2;
      this.#tableKeys = new Uint32Array(size);
      this.#tableRows = new Int32Array(size);
      this.#tableStamps = new Int32Array(size);
    }
    if (this.#claimed.length !== cols * height) this.#claimed = new Uint8Array(cols * height);
    void width;
  }

  /** Runs both detectors; results in `copies`/`copyCount` and `offsets`/`offsetCount`. */
  detect(d: DetectInput, moves: boolean): void {
    this.copyCount = 0;
    this.offsetCount = 0;
    if (d.changedCount < 2) return;
    this.#ensure(d.width, d.height, d.cols);
    this.#scroll(d);
    const scrollCopies = this.copyCount;
    if (moves && d.changedCount >= MOVE_MIN_CHANGED_TILES && this.#copiedArea(0, scrollCopies) * 2 < d.changedCount * TILE_SIZE_PX * TILE_SIZE_PX) {
      // Rows that repeat a few pixels lower in a busy background (icons, patterns) can vote for a small scroll whose
      // copies cover a few rows, and a small area may really scroll while a window moves elsewhere: when the scroll
      // copies cover less than half of the changed tiles, search for a move too. A move copy is a whole tile
      // verified at one offset, so it wins over the scroll copies that write into the same tile.
      this.#move(d);
      this.#dropScrollUnderMoves(scrollCopies);
    }
    this.#merge();
    // A decoder rejects an update with more copies (spec/codec.md §8); dropping copies is always safe, since the
    // tiles they would have written are compared after the copies and sent as records.
    if (this.copyCount > MAX_COPIES) this.copyCount = MAX_COPIES;
  }

  /** Removes the scroll copies (the first `scrollCopies`) whose destination overlaps a later (move) copy's. */
  #dropScrollUnderMoves(scrollCopies: number): void {
    const c = this.copies;
    let kept = 0;
    for (let i = 0; i < this.copyCount; i++) {
      const a = i * COPY_FIELDS;
      let covered = false;
      if (i < scrollCopies) {
        for (let j = scrollCopies; j < this.copyCount && !covered; j++) {
          const b = j * COPY_FIELDS;
          covered = c[a + 2]! < c[b + 2]! + c[b + 4]! && c[b + 2]! < c[a + 2]! + c[a + 4]! && c[a + 3]! < c[b + 3]! + c[b + 5]! && c[b + 3]! < c[a + 3]! + c[a + 5]!;
        }
      }
      if (covered) continue;
      if (kept !== i) c.copyWithin(kept * COPY_FIELDS, a, a + COPY_FIELDS);
      kept++;
    }
    this.copyCount = kept;
  }

  /** Pixels covered by copies `from` (inclusive) to `to` (exclusive); they never overlap each other's destination. */
  #copiedArea(from: number, to: number): number {
    let area = 0;
    for (let i = from; i < to; i++) area += this.copies[i * COPY_FIELDS + 4]! * this.copies[i * COPY_FIELDS + 5]!;
    return area;
  }

  #pushCopy(sx: number, sy: number, dx: number, dy: number, w: number, h: number): void {
    if (this.copyCount * COPY_FIELDS >= this.copies.length) {
      const next = new Int32Array(this.copies.length * 2);
      next.set(this.copies);
      this.copies = next;
    }
    const c = this.copyCount++ * COPY_FIELDS;
    const copies = this.copies;
    copies[c] = sx;
    copies[c + 1] = sy;
    copies[c + 2] = dx;
    copies[c + 3] = dy;
    copies[c + 4] = w;
    copies[c + 5] = h;
  }

  #pushOffset(dx: number, dy: number): void {
    if (this.offsetCount * 2 >= this.offsets.length) return;
    for (let i = 0; i < this.offsetCount; i++) {
      if (this.offsets[i * 2] === dx && this.offsets[i * 2 + 1] === dy) return;
    }
    this.offsets[this.offsetCount * 2] = dx;
    this.offsets[this.offsetCount * 2 + 1] = dy;
    this.offsetCount++;
  }

  #scroll(d: DetectInput): void {
    const H = d.height;
    const votes = this.#votes;
    const touched = this.#touched;
    let touchedCount = 0;
    const keys = this.#tableKeys, rowsOf = this.#tableRows, stamps = this.#tableStamps;
    const mask = keys.length - 1;
    for (let s = 0; s < d.cols; s++) {
      let any = false;
      for (let ty = 0; ty < d.rows; ty++) if (d.changed[ty * d.cols + s] === 1) { any = true; break; }
      if (!any) continue;
      // Index this strip's reference rows by hash (first row wins); uniform rows match anywhere, so they do not vote.
      const gen = ++this.#generation;
      const base = s * H;
      for (let y = 0; y < H; y++) {
        if (d.refUniform[base + y] === 1) continue;
        const h = d.refHash[base + y]!;
        let slot = Math.imul(h, 0x9e3779b1) >>> 0 & mask;
        while (stamps[slot] === gen && keys[slot] !== h) slot = (slot + 1) & mask;
        if (stamps[slot] !== gen) {
          stamps[slot] = gen;
          keys[slot] = h;
          rowsOf[slot] = y;
        }
      }
      for (let ty = 0; ty < d.rows; ty++) {
        if (d.changed[ty * d.cols + s] !== 1) continue;
        const yEnd = Math.min(H, (ty + 1) * TILE_SIZE_PX);
        for (let y = ty * TILE_SIZE_PX; y < yEnd; y++) {
          if (d.newUniform[base + y] === 1) continue;
          const h = d.newHash[base + y]!;
          let slot = Math.imul(h, 0x9e3779b1) >>> 0 & mask;
          while (stamps[slot] === gen && keys[slot] !== h) slot = (slot + 1) & mask;
          if (stamps[slot] !== gen) continue;
          const off = rowsOf[slot]! - y;
          if (off === 0) continue;
          const v = off + H;
          if (votes[v] === 0) touched[touchedCount++] = v;
          votes[v]!++;
        }
      }
    }
    // Take the best few offsets, then clear the votes we touched.
    const best = this.#best;
    const bestVotes = this.#bestVotes;
    best.fill(0);
    bestVotes.fill(0);
    for (let i = 0; i < touchedCount; i++) {
      const v = touched[i]!;
      const n = votes[v]!;
      votes[v] = 0;
      if (n < MIN_VOTES) continue;
      for (let k = 0; k < MAX_SCROLL_CANDIDATES; k++) {
        if (n > bestVotes[k]!) {
          for (let m = MAX_SCROLL_CANDIDATES - 1; m > k; m--) {
            bestVotes[m] = bestVotes[m - 1]!;
            best[m] = best[m - 1]!;
          }
          bestVotes[k] = n;
          best[k] = v - H;
          break;
        }
      }
    }
    if (bestVotes[0] === 0) return;
    const claimed = this.#claimed;
    claimed.fill(0);
    for (let k = 0; k < MAX_SCROLL_CANDIDATES; k++) {
      if (bestVotes[k] === 0) break;
      const off = best[k]!;
      const before = this.copyCount;
      for (let s = 0; s < d.cols; s++) this.#scrollStrip(d, s, off);
      if (this.copyCount > before) this.#pushOffset(0, off);
    }
  }

  /** Emits copies for runs of rows in strip `s` whose content sits `off` rows lower (off > 0) or higher in the reference. */
  #scrollStrip(d: DetectInput, s: number, off: number): void {
    const H = d.height;
    const base = s * H;
    const x0 = s * TILE_SIZE_PX;
    const w = Math.min(TILE_SIZE_PX, d.width - x0);
    const claimed = this.#claimed;
    let runStart = -1;
    let textured = 0;
    // y === H is a sentinel that closes the last run.
    for (let y = 0; y <= H; y++) {
      const sy = y + off;
      let ok = false;
      if (y < H && d.changed[((y / TILE_SIZE_PX) | 0) * d.cols + s] === 1 && sy >= 0 && sy < H && claimed[base + y] === 0 &&
        d.newHash[base + y] === d.refHash[base + sy] && d.newUniform[base + y] === d.refUniform[base + sy]) {
        ok = rectEqual(d.cur, x0, y, d.ref, x0, sy, d.width, w, 1);
      }
      if (ok) {
        if (runStart < 0) {
          runStart = y;
          textured = 0;
        }
        if (d.newUniform[base + y] === 0) textured++;
      } else if (runStart >= 0) {
        const len = y - runStart;
        if (len >= MIN_RUN_ROWS && textured >= 2) {
          this.#pushCopy(x0, runStart + off, x0, runStart, w, len);
          claimed.fill(1, base + runStart, base + y);
        }
        runStart = -1;
      }
    }
  }

  #move(d: DetectInput): void {
    const W = d.width, H = d.height;
    const cur = d.cur, ref = d.ref;
    const found = this.#found;
    let foundCount = 0;
    const step = Math.max(1, Math.floor(d.changedCount / MOVE_PROBES));
    for (let p = 0; p < MOVE_PROBES; p++) {
      const k = Math.floor(step / 2) + p * step;
      if (k >= d.changedCount) break;
      const t = d.changedList[k]!;
      const tx = t % d.cols, ty = (t - tx) / d.cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      const w = Math.min(TILE_SIZE_PX, W - x0), h = Math.min(TILE_SIZE_PX, H - y0);
      if (w < 16) continue;
      // A probe row: textured, and different from the reference at the same place.
      let py = -1;
      for (let i = 0; i < h; i++) {
        const y = y0 + ((i + (h >> 1)) % h);
        if (d.newUniform[tx * H + y] === 0 && !rectEqual(cur, x0, y, ref, x0, y, W, w, 1)) { py = y; break; }
      }
      if (py < 0) continue;
      const first = cur[py * W + x0]!;
      const mid = cur[py * W + x0 + (w >> 1)]!;
      let perProbe = 0;
      const syMin = Math.max(0, py - MOVE_RADIUS_PX), syMax = Math.min(H - 1, py + MOVE_RADIUS_PX);
      const sxMin = Math.max(0, x0 - MOVE_RADIUS_PX), sxMax = Math.min(W - w, x0 + MOVE_RADIUS_PX);
      for (let sy = syMin; sy <= syMax && perProbe < MOVE_CANDIDATES_PER_PROBE; sy++) {
        const row = sy * W;
        for (let sx = sxMin; sx <= sxMax; sx++) {
          if (ref[row + sx] !== first || ref[row + sx + (w >> 1)] !== mid) continue;
          if (sx === x0 && sy === py) continue;
          if (!rectEqual(cur, x0, py, ref, sx, sy, W, w, 1)) continue;
          found[foundCount * 2] = sx - x0;
          found[foundCount * 2 + 1] = sy - py;
          foundCount++;
          if (++perProbe >= MOVE_CANDIDATES_PER_PROBE) break;
        }
      }
    }
    // Score each distinct offset by the changed tiles that match it whole.
    let bestDx = 0, bestDy = 0, bestScore = 0;
    for (let i = 0; i < foundCount; i++) {
      const ox = found[i * 2]!, oy = found[i * 2 + 1]!;
      let seen = false;
      for (let j = 0; j < i; j++) if (found[j * 2] === ox && found[j * 2 + 1] === oy) { seen = true; break; }
      if (seen) continue;
      let score = 0;
      for (let k = 0; k < d.changedCount; k++) {
        if (this.#tileMatches(d, d.changedList[k]!, ox, oy)) score++;
      }
      if (score > bestScore) {
        bestScore = score;
        bestDx = ox;
        bestDy = oy;
      }
    }
    if (foundCount > 0 && bestScore === 0) {
      // No whole tile matched, but the offset still predicts parts of tiles (FILTER_PREV).
      this.#pushOffset(found[0]!, found[1]!);
      return;
    }
    if (bestScore === 0) return;
    this.#pushOffset(bestDx, bestDy);
    for (let k = 0; k < d.changedCount; k++) {
      const t = d.changedList[k]!;
      const tx = t % d.cols, ty = (t - tx) / d.cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      const w = Math.min(TILE_SIZE_PX, W - x0), h = Math.min(TILE_SIZE_PX, H - y0);
      if (this.#tileMatches(d, t, bestDx, bestDy)) this.#pushCopy(x0 + bestDx, y0 + bestDy, x0, y0, w, h);
      else this.#partialTile(d, x0, y0, w, h, bestDx, bestDy);
    }
  }

  /**
   * A tile on a moved window's edge holds part of the window: copies the largest rectangle of it that matches at the
   * move's offset, so the window's edge arrives exact and only what lies beside it is left to the tile records.
   */
  #partialTile(d: DetectInput, x0: number, y0: number, w: number, h: number, ox: number, oy: number): void {
    const W = d.width;
    // Clip the tile to the part whose source lies in the screen.
    const cx0 = Math.max(x0, -ox), cy0 = Math.max(y0, -oy);
    const cx1 = Math.min(x0 + w, W - ox), cy1 = Math.min(y0 + h, d.height - oy);
    if (cx1 - cx0 < MIN_PARTIAL_SIDE_PX || cy1 - cy0 < MIN_PARTIAL_SIDE_PX) return;
    const cw = cx1 - cx0;
    const heights = this.#heights, stack = this.#stack;
    heights.fill(0);
    let bestArea = 0, bx = 0, by = 0, bw = 0, bh = 0;
    const cur = d.cur, ref = d.ref;
    // Largest all-matching rectangle: per row, the run of matching rows above each column, then the largest
    // rectangle under that histogram with a stack.
    for (let y = cy0; y < cy1; y++) {
      const i = y * W, j = (y + oy) * W + ox;
      for (let x = 0; x < cw; x++) heights[x] = cur[i + cx0 + x] === ref[j + cx0 + x] ? heights[x]! + 1 : 0;
      let top = 0;
      for (let x = 0; x <= cw; x++) {
        const hx = x < cw ? heights[x]! : 0;
        while (top > 0 && heights[stack[top - 1]!]! >= hx) {
          const hh = heights[stack[--top]!]!;
          const left = top > 0 ? stack[top - 1]! + 1 : 0;
          const area = hh * (x - left);
          if (area > bestArea) {
            bestArea = area;
            bx = cx0 + left;
            by = y - hh + 1;
            bw = x - left;
            bh = hh;
          }
        }
        stack[top++] = x;
      }
    }
    if (bestArea < MIN_PARTIAL_AREA_PX || bw < MIN_PARTIAL_SIDE_PX || bh < MIN_PARTIAL_SIDE_PX) return;
    this.#pushCopy(bx + ox, by + oy, bx, by, bw, bh);
  }

  #tileMatches(d: DetectInput, t: number, ox: number, oy: number): boolean {
    const tx = t % d.cols, ty = (t - tx) / d.cols;
    const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
    const w = Math.min(TILE_SIZE_PX, d.width - x0), h = Math.min(TILE_SIZE_PX, d.height - y0);
    const sx = x0 + ox, sy = y0 + oy;
    if (sx < 0 || sy < 0 || sx + w > d.width || sy + h > d.height) return false;
    return rectEqual(d.cur, x0, y0, d.ref, sx, sy, d.width, w, h);
  }

  /** Joins copies that sit side by side (same rows, same offset) or stacked (same columns, same offset). */
  #merge(): void {
    const c = this.copies;
    let n = this.copyCount;
    let merged = true;
    while (merged) {
      merged = false;
      for (let i = 0; i < n; i++) {
        const a = i * COPY_FIELDS;
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          const b = j * COPY_FIELDS;
          const sameOffset = c[a]! - c[a + 2]! === c[b]! - c[b + 2]! && c[a + 1]! - c[a + 3]! === c[b + 1]! - c[b + 3]!;
          if (!sameOffset) continue;
          const sideBySide = c[a + 3] === c[b + 3] && c[a + 5] === c[b + 5] && c[a + 2]! + c[a + 4]! === c[b + 2];
          const stacked = c[a + 2] === c[b + 2] && c[a + 4] === c[b + 4] && c[a + 3]! + c[a + 5]! === c[b + 3];
          if (!sideBySide && !stacked) continue;
          if (sideBySide) c[a + 4] = c[a + 4]! + c[b + 4]!;
          else c[a + 5] = c[a + 5]! + c[b + 5]!;
          // Remove j by moving the last copy into its place.
          n--;
          if (j !== n) c.copyWithin(b, n * COPY_FIELDS, n * COPY_FIELDS + COPY_FIELDS);
          merged = true;
          break;
        }
      }
    }
    this.copyCount = n;
  }
}
