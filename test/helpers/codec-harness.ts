/**
 * Encode/decode harness for codec tests: pushes frames through an encoder and a decoder and checks pictures.
 */
import { FflateInflateBackend, TileDecoder, TileEncoder, type EncodedUpdate, type Framebuffer, type TileEncoderOptions } from '../../src/codec/index.js';
import { ZlibDeflateBackend, ZlibInflateBackend } from '../../src/node/zlib-backend.js';

/** Which inflater the decoder uses (the encoder always uses node:zlib, see src/codec/backends.ts). */
export type BackendKind = 'zlib' | 'fflate';

/** An encoder/decoder pair for one session. */
export function makePair(width: number, height: number, backend: BackendKind = 'zlib', extra: Partial<TileEncoderOptions> = {}): { enc: TileEncoder; dec: TileDecoder } {
  const enc = new TileEncoder({ width, height, deflate: new ZlibDeflateBackend(6), ...extra });
  const dec = new TileDecoder({ maxWidth: Math.max(width, 64), maxHeight: Math.max(height, 64), inflate: backend === 'zlib' ? new ZlibInflateBackend() : new FflateInflateBackend() });
  return { enc, dec };
}

/** Index of the first differing byte, or -1. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

export interface RoundTripResult {
  bytes: number;
  updates: EncodedUpdate[];
  /** Frame number of the first mismatch, or -1. */
  mismatchAt: number;
  mismatchByte: number;
}

/** Encodes and decodes every frame in turn (lossless), recording the first mismatch. Update stats are kept. */
export function roundTrip(enc: TileEncoder, dec: TileDecoder, frames: Iterable<Framebuffer>): RoundTripResult {
  const res: RoundTripResult = { bytes: 0, updates: [], mismatchAt: -1, mismatchByte: -1 };
  let i = 0;
  for (const f of frames) {
    const u = enc.encode(f);
    if (u !== undefined) {
      res.bytes += u.bytes.length;
      res.updates.push({ ...u, bytes: u.bytes.slice() });
      dec.decode(u.bytes.slice());
    }
    const d = firstDiff(dec.framebuffer!.data, f.data);
    if (d >= 0 && res.mismatchAt < 0) {
      res.mismatchAt = i;
      res.mismatchByte = d;
    }
    i++;
  }
  return res;
}
