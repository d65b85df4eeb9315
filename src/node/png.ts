/**
 * PNG files to and from framebuffers through sharp, for the replay adapter, the corpus tests and the benchmarks.
 */
import { loadSharp } from './load-sharp.js';
import type { Framebuffer } from '../codec/framebuffer.js';

/** Reads a PNG (or any image sharp reads) into an RGBA framebuffer; the data is 4-byte aligned. */
export async function loadPng(path: string): Promise<Framebuffer> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  // Own the bytes in a fresh, aligned buffer (sharp may hand back a slice of a pooled one).
  const rgba = new Uint8Array(info.width * info.height * 4);
  rgba.set(data);
  return { width: info.width, height: info.height, data: rgba };
}

/** Encodes a framebuffer as PNG. */
export async function encodePng(fb: Framebuffer, compressionLevel = 6): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const buf = await sharp(fb.data, { raw: { width: fb.width, height: fb.height, channels: 4 } }).png({ compressionLevel }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
