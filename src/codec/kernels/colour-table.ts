/**
 * The session colour table of INDEXED tile records (spec/codec.md §4.7), encoder and decoder halves.
 * Both sides append the colours each INDEXED record names, in order, and clear the table on a key frame, so a
 * colour keeps one index for the whole session: the same glyph gives the same index bytes in every tile and
 * update, which the session deflate stream can match.
 * INVARIANT (whole file): callers pass output buffers with room for a whole tile record, checked once per tile.
 */
import { MAX_SESSION_COLOURS } from '../constants.js';

/** Open-addressing slots of the encoder's colour lookup (twice the table, a power of two). */
const LOOKUP_SLOTS = MAX_SESSION_COLOURS * 2;

/** Encoder side: colours in session order plus a colour-to-index lookup, allocated once. */
export class ColourTableEncoder {
  /** Colours in index order (32-bit RGBA words). */
  readonly colours = new Uint32Array(MAX_SESSION_COLOURS);
  size = 0;
  readonly #keys = new Uint32Array(LOOKUP_SLOTS);
  /** Index + 1 per slot; 0 means empty. */
  readonly #values = new Int32Array(LOOKUP_SLOTS);

  clear(): void {
    this.size = 0;
    this.#values.fill(0);
  }

  /** Index of `colour`, or -1 when the table does not hold it. */
  find(colour: number): number {
    let slot = Math.imul(colour, 0x9e3779b1) >>> 17;
    for (;;) {
      const v = this.#values[slot]!;
      if (v === 0) return -1;
      if (this.#keys[slot] === colour) return v - 1;
      slot = (slot + 1) & (LOOKUP_SLOTS - 1);
    }
  }

  /** Appends `colour` (not yet in the table; the caller checked there is room) and returns its index. */
  add(colour: number): number {
    let slot = Math.imul(colour, 0x9e3779b1) >>> 17;
    while (this.#values[slot] !== 0) slot = (slot + 1) & (LOOKUP_SLOTS - 1);
    const index = this.size++;
    this.#keys[slot] = colour;
    this.#values[slot] = index + 1;
    this.colours[index] = colour;
    return index;
  }
}

/**
 * Writes the runs of an INDEXED record (spec/codec.md §4.7): for each run of equal tile indices, the varuint
 * `table index * 2 + (run > 1)`, then for runs longer than one pixel the varuint `run - 2`.
 * `indices` are tile palette indices and `remap` turns them into session table indices. Returns the new offset.
 */
export function writeIndexedRuns(indices: Uint16Array, n: number, remap: Int32Array, out: Uint8Array, off: number): number {
  let i = 0;
  while (i < n) {
    const v = indices[i]!;
    let j = i + 1;
    while (j < n && indices[j] === v) j++;
    const long = j - i > 1 ? 1 : 0;
    let code = remap[v]! * 2 + long;
    while (code >= 0x80) {
      out[off++] = (code & 0x7f) | 0x80;
      code >>>= 7;
    }
    out[off++] = code;
    if (long === 1) {
      let run = j - i - 2;
      while (run >= 0x80) {
        out[off++] = (run & 0x7f) | 0x80;
        run >>>= 7;
      }
      out[off++] = run;
    }
    i = j;
  }
  return off;
}
