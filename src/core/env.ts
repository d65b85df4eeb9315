/**
 * What pure layers are given instead of reaching for globals: time and randomness.
 * The I/O shell passes real ones; tests and conformance vectors pass fixed ones.
 */

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

/** Fills and returns `n` random bytes. */
export type Random = (n: number) => Uint8Array;

/** Well-known symbol Node uses for util.inspect, usable without importing node:util. */
export const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Hex helpers for vectors, ids and fingerprints. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Parses even-length hex; returns undefined for anything else. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Constant-time comparison of two byte arrays of any length. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
