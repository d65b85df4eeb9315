/**
 * The browser's ImageCodec for lossy tiles (spec/codec.md §4.6): JPEG and WebP decoded with createImageBitmap
 * and read back through an OffscreenCanvas. Decoding only; the viewer never encodes.
 */
import { ErrorCode, StateError, TesseraError } from '../src/core/index.js';
import type { ImageCodec, LossyFormat } from '../src/codec/backends.js';
import { checkLossyImage } from '../src/codec/image-header.js';

const MIME: Readonly<Record<LossyFormat, string>> = { jpeg: 'image/jpeg', webp: 'image/webp' };

/** Decodes lossy tiles with the browser's own image decoders. */
export class BrowserImageCodec implements ImageCodec {
  #canvas: OffscreenCanvas | undefined;
  #ctx: OffscreenCanvasRenderingContext2D | undefined;
  #decoded = 0;

  /** Lossy tiles decoded so far. */
  get decoded(): number {
    return this.#decoded;
  }

  encode(): Uint8Array {
    throw new StateError('the browser viewer does not encode images');
  }

  /**
   * Decodes a lossy tile; its header is checked first (format = the wire's, size = the tile's), because
   * createImageBitmap decodes whatever the bytes are and allocates what their header announces.
   * @throws {ProtocolError} TESSERA_ERR_IMAGE_DECODE_FAILED when the header names another format or size (nothing is decoded)
   */
  async decode(bytes: Uint8Array, format: LossyFormat, width: number, height: number): Promise<Uint8Array> {
    checkLossyImage(bytes, format, width, height);
    // Copy into a fresh ArrayBuffer: a Blob must not alias the decoder's buffers.
    const blob = new Blob([bytes.slice()], { type: MIME[format] });
    const bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    try {
      if (bitmap.width !== width || bitmap.height !== height) {
        throw new TesseraError(ErrorCode.ImageDecodeFailed, `lossy tile is ${bitmap.width}x${bitmap.height}, expected ${width}x${height}`, { context: 'lossy-tile' });
      }
      const ctx = this.#context(width, height);
      ctx.clearRect(0, 0, width, height);
      ctx.drawImage(bitmap, 0, 0);
      const data = ctx.getImageData(0, 0, width, height).data;
      this.#decoded++;
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } finally {
      bitmap.close();
    }
  }

  #context(width: number, height: number): OffscreenCanvasRenderingContext2D {
    if (!this.#canvas || !this.#ctx) {
      this.#canvas = new OffscreenCanvas(width, height);
      const ctx = this.#canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new TesseraError(ErrorCode.ImageDecodeFailed, 'no 2d context for lossy tiles', { context: 'lossy-tile' });
      this.#ctx = ctx;
    }
    if (this.#canvas.width < width) this.#canvas.width = width;
    if (this.#canvas.height < height) this.#canvas.height = height;
    return this.#ctx;
  }
}
