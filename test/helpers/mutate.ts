/**
 * Byte mutations for fuzzing decoders from valid seeds: bit flips, byte replacements,
 * truncation, insertion, deletion, splicing two inputs, and inflating big-endian length fields.
 */
import type { Prng } from './prng.js';

/** Names of the mutations `mutate` may apply. */
export type MutationKind = 'flip' | 'byte' | 'truncate' | 'insert' | 'delete' | 'splice' | 'inflate-u32' | 'inflate-u16';

const KINDS: readonly MutationKind[] = ['flip', 'byte', 'truncate', 'insert', 'delete', 'splice', 'inflate-u32', 'inflate-u16'];

/** Interesting values for inflated length fields. */
const U32_EDGES = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

/**
 * Returns a mutated copy of `input` (1..3 mutations); `others` supplies material for splicing.
 */
export function mutate(rng: Prng, input: Uint8Array, others: readonly Uint8Array[] = []): Uint8Array {
  let out: Uint8Array = input.slice();
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds; i++) out = mutateOnce(rng, out, rng.pick(KINDS), others);
  return out;
}

/** Applies one mutation of the given kind. */
export function mutateOnce(rng: Prng, input: Uint8Array, kind: MutationKind, others: readonly Uint8Array[] = []): Uint8Array {
  const n = input.length;
  switch (kind) {
    case 'flip': {
      if (n === 0) return input;
      const out = input.slice();
      const at = rng.int(n);
      out[at] = out[at]! ^ (1 << rng.int(8));
      return out;
    }
    case 'byte': {
      if (n === 0) return input;
      const out = input.slice();
      out[rng.int(n)] = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
      return out;
    }
    case 'truncate':
      return input.slice(0, rng.int(n + 1));
    case 'insert': {
      const at = rng.int(n + 1);
      const extra = rng.bytes(rng.range(1, 8));
      return concat(input.subarray(0, at), extra, input.subarray(at));
    }
    case 'delete': {
      if (n === 0) return input;
      const at = rng.int(n);
      const len = rng.range(1, Math.min(8, n - at));
      return concat(input.subarray(0, at), input.subarray(at + len));
    }
    case 'splice': {
      const other = others.length > 0 ? rng.pick(others) : input;
      const cut = rng.int(n + 1);
      const from = rng.int(other.length + 1);
      return concat(input.subarray(0, cut), other.subarray(from));
    }
    case 'inflate-u32': {
      if (n < 4) return input;
      const out = input.slice();
      const at = rng.int(n - 3);
      const v = rng.pick(U32_EDGES);
      out[at] = v >>> 24;
      out[at + 1] = (v >>> 16) & 0xff;
      out[at + 2] = (v >>> 8) & 0xff;
      out[at + 3] = v & 0xff;
      return out;
    }
    case 'inflate-u16': {
      if (n < 2) return input;
      const out = input.slice();
      const at = rng.int(n - 1);
      const v = rng.pick(U32_EDGES) & 0xffff;
      out[at] = v >>> 8;
      out[at + 1] = v & 0xff;
      return out;
    }
  }
}

/** Concatenates byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `bytes` into chunks at the given sorted cut points. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}
