/**
 * The tile cache both sides mirror: a bounded LRU of tile pictures addressed by slot number.
 * spec/codec.md §6: both sides insert and touch in the same order, so eviction stays in step without
 * any message about it; only the encoder keys slots by content hash (tile-hash-index.ts).
 */
import { TILE_PIXELS } from './constants.js';

/** A deterministic LRU of `capacity` tile slots, each holding up to 64x64 RGBA pixels as 32-bit words. */
export class TileCache {
  readonly capacity: number;
  /** Pixel words, TILE_PIXELS per slot, rows packed at the slot's width. */
  readonly pixels: Uint32Array;
  /** Width and height of each slot's tile. */
  readonly widths: Uint8Array;
  readonly heights: Uint8Array;
  /** LRU list links: head is most recent, tail least; -1 ends the list. */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #head = -1;
  #tail = -1;
  #used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.pixels = new Uint32Array(capacity * TILE_PIXELS);
    this.widths = new Uint8Array(capacity);
    this.heights = new Uint8Array(capacity);
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
  }

  /** Slots in use. */
  get size(): number {
    return this.#used;
  }

  /** True when `slot` holds a tile. */
  has(slot: number): boolean {
    return slot >= 0 && slot < this.#used;
  }

  /** Empties the cache (key frame). */
  clear(): void {
    this.#head = -1;
    this.#tail = -1;
    this.#used = 0;
  }

  /** The slot that `allocate` would return next: the next unused one, else the least recently used. */
  peekVictim(): number {
    return this.#used < this.capacity ? this.#used : this.#tail;
  }

  /**
   * Takes a slot for a new tile (spec/codec.md §6: unused slots in ascending order, then the least recently used)
   * and makes it the most recent; the caller then fills `pixels`.
   */
  allocate(width: number, height: number): number {
    let slot: number;
    if (this.#used < this.capacity) {
      slot = this.#used++;
    } else {
      slot = this.#tail;
      this.#unlink(slot);
    }
    this.widths[slot] = width;
    this.heights[slot] = height;
    this.#pushHead(slot);
    return slot;
  }

  /** Makes `slot` the most recently used (a cache hit). */
  touch(slot: number): void {
    if (slot === this.#head) return;
    this.#unlink(slot);
    this.#pushHead(slot);
  }

  #unlink(slot: number): void {
    const p = this.#prev[slot]!;
    const n = this.#next[slot]!;
    if (p >= 0) this.#next[p] = n;
    else this.#head = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail = p;
  }

  #pushHead(slot: number): void {
    this.#prev[slot] = -1;
    this.#next[slot] = this.#head;
    if (this.#head >= 0) this.#prev[this.#head] = slot;
    this.#head = slot;
    if (this.#tail < 0) this.#tail = slot;
  }
}

/**
 * Encoder-side index from a 64-bit content hash (two 32-bit lanes) to a cache slot.
 * Open addressing with linear probing and backward-shift deletion; no allocation after construction.
 */
export class TileHashIndex {
  readonly #mask: number;
  /** slot + 1 per table entry; 0 is empty. */
  readonly #table: Int32Array;
  readonly #hashLo: Uint32Array;
  readonly #hashHi: Uint32Array;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.#mask = size - 1;
    this.#table = new Int32Array(size);
    this.#hashLo = new Uint32Array(capacity);
    this.#hashHi = new Uint32Array(capacity);
  }

  clear(): void {
    this.#table.fill(0);
  }

  /** The slot last stored under this hash, or -1. */
  find(lo: number, hi: number): number {
    const table = this.#table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const e = table[i]!;
      if (e === 0) return -1;
      const slot = e - 1;
      if (this.#hashLo[slot] === lo >>> 0 && this.#hashHi[slot] === hi >>> 0) return slot;
      i = (i + 1) & this.#mask;
    }
  }

  /** Records that `slot` now holds content with this hash (replacing an older slot with the same hash). */
  set(slot: number, lo: number, hi: number): void {
    const old = this.find(lo, hi);
    if (old >= 0) this.remove(old);
    this.#hashLo[slot] = lo >>> 0;
    this.#hashHi[slot] = hi >>> 0;
    const table = this.#table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
    while (table[i] !== 0) i = (i + 1) & this.#mask;
    table[i] = slot + 1;
  }

  /** Forgets `slot` if the index points at it. */
  remove(slot: number): void {
    const table = this.#table;
    const mask = this.#mask;
    const lo = this.#hashLo[slot]!;
    const hi = this.#hashHi[slot]!;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const e = table[i]!;
      if (e === 0) return;
      if (e === slot + 1) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const e = table[j]!;
      if (e === 0) break;
      const s = e - 1;
      const home = (this.#hashLo[s]! ^ Math.imul(this.#hashHi[s]!, 0x9e3779b1)) & mask;
      // Move e into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        table[hole] = e;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    table[hole] = 0;
  }
}
