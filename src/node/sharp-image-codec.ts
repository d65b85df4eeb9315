/**
 * The codec's ImageCodec on sharp (libvips): JPEG or WebP for lossy tiles in Node.
 * Both directions are asynchronous, so encoders and decoders using it call encodeAsync / decodeAsync.
 */
import sharp from 'sharp';
import type { ImageCodec, LossyFormat } from '../codec/backends.js';

/** sharp-backed lossy tile codec. */
export class SharpImageCodec implements ImageCodec {
  async encode(rgba: Uint8Array, width: number, height: number, format: LossyFormat, quality: number): Promise<Uint8Array> {
    const img = sharp(rgba, { raw: { width, height, channels: 4 } }).removeAlpha();
    const buf = format === 'webp'
      ? await img.webp({ quality, effort: 1 }).toBuffer()
      : await img.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async decode(bytes: Uint8Array, _format: LossyFormat, width: number, height: number): Promise<Uint8Array> {
    const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height) {
      throw new RangeError(`image is ${info.width}x${info.height}, tile is ${width}x${height}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}
