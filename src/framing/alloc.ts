/**
 * Allocation of small byte arrays from shared slabs, as Node's Buffer pool does: creating a fresh
 * ArrayBuffer costs far more than copying 64 bytes, and the framing hot path creates one per frame.
 * Each returned array is a distinct, non-overlapping region the caller owns outright; the cost is
 * that a slab stays alive while any array carved from it does.
 */

/** Slab size; arrays of at most SMALL_MAX_BYTES come from slabs. */
const SLAB_BYTES = 64 * 1024;
/** Larger arrays get their own ArrayBuffer. */
const SMALL_MAX_BYTES = 4 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** Returns a new zero-filled region of `n` bytes (never handed out before). */
export function allocBytes(n: number): Uint8Array {
  if (n > SMALL_MAX_BYTES) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  // Keep regions 8-byte aligned so DataView/typed-array readers over them stay fast.
  slabUsed += (n + 7) & ~7;
  return out;
}

/** A copy of `src` in a freshly allocated region. */
export function copyBytes(src: Uint8Array): Uint8Array {
  const out = allocBytes(src.byteLength);
  out.set(src);
  return out;
}
