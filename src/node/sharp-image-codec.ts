/**
 * The codec's ImageCodec on sharp (libvips): JPEG or WebP for lossy tiles in Node.
 * Both directions are asynchronous, so encoders and decoders using it call encodeAsync / decodeAsync.
 *
 * libvips decodes any format it knows (PNG, GIF, TIFF, HEIF, SVG, ...) and allocates what the image's header
 * announces, so decode() first checks the header with checkLossyImage (format = the wire's, size = the tile's)
 * and then tells sharp to refuse any image of more pixels than the tile.
 */
import { loadSharp } from './load-sharp.js';
import type { ImageCodec, LossyFormat } from '../codec/backends.js';
import { checkLossyImage } from '../codec/image-header.js';

/** sharp-backed lossy tile codec. */
export class SharpImageCodec implements ImageCodec {
  async encode(rgba: Uint8Array, width: number, height: number, format: LossyFormat, quality: number): Promise<Uint8Array> {
    const sharp = await loadSharp();
    const img = sharp(rgba, { raw: { width, height, channels: 4 } }).removeAlpha();
    const buf = format === 'webp'
      ? await img.webp({ quality, effort: 1 }).toBuffer()
      : await img.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Decodes a lossy tile to `width * height` RGBA pixels with alpha 255 (spec/codec.md §4.6).
   * @throws {ProtocolError} TESSERA_ERR_IMAGE_DECODE_FAILED when the header names another format or size (nothing is decoded)
   */
  async decode(bytes: Uint8Array, format: LossyFormat, width: number, height: number): Promise<Uint8Array> {
    checkLossyImage(bytes, format, width, height);
    const sharp = await loadSharp();
    const { data, info } = await sharp(bytes, { limitInputPixels: width * height, pages: 1 })
      .removeAlpha()
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height) {
      throw new RangeError(`image is ${info.width}x${info.height}, tile is ${width}x${height}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
}
