/**
 * Conversion of X ZPixmap image data (the server's pixel layout) into tessera's RGBA framebuffer.
 *
 * The layout comes from the connection setup: bits per pixel and scanline pad of the root depth's pixmap format,
 * the image byte order, and the root visual's channel masks. The common case (32 bits per pixel, 8-bit channels,
 * a little-endian host) runs a tight loop over Uint32Array views; everything else takes a generic byte loop that
 * scales each channel to 8 bits.
 */
import { ErrorCode, TesseraError } from '../../core/index.js';
import type { Framebuffer } from '../../codec/framebuffer.js';

/** How the server lays out pixels of the root window. */
export interface PixelFormat {
  readonly bitsPerPixel: number;
  readonly scanlinePad: number;
  /** 0 LSBFirst, 1 MSBFirst. */
  readonly imageByteOrder: number;
  readonly redMask: number;
  readonly greenMask: number;
  readonly blueMask: number;
}

// Alpha 255 in the top byte of a little-endian RGBA word, as an int32.
const ALPHA = 0xff000000 | 0;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Bytes per row of a ZPixmap image `width` pixels wide. */
export function bytesPerLine(format: PixelFormat, width: number): number {
  const bits = width * format.bitsPerPixel;
  const pad = format.scanlinePad;
  return (Math.ceil(bits / pad) * pad) >> 3;
}

interface Channel {
  readonly shift: number;
  readonly bits: number;
}

function channel(mask: number): Channel {
  if (mask === 0) throw new TesseraError(ErrorCode.InvalidConfig, 'x11: the root visual has an empty colour mask');
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, bits };
}

/** Converts X image rows into RGBA rectangles of a framebuffer; one per screen format, reused for every capture. */
export class PixelConverter {
  readonly format: PixelFormat;
  readonly #red: Channel;
  readonly #green: Channel;
  readonly #blue: Channel;
  readonly #fast: boolean;
  #scratch = new Int32Array(0);

  /** @throws {TesseraError} TESSERA_ERR_INVALID_CONFIG for layouts other than 16, 24 or 32 bits per pixel TrueColor */
  constructor(format: PixelFormat) {
    if (format.bitsPerPixel !== 16 && format.bitsPerPixel !== 24 && format.bitsPerPixel !== 32) {
      throw new TesseraError(ErrorCode.InvalidConfig, `x11: ${format.bitsPerPixel} bits per pixel is not supported (TrueColor 16, 24 or 32 only)`);
    }
    this.format = format;
    this.#red = channel(format.redMask);
    this.#green = channel(format.greenMask);
    this.#blue = channel(format.blueMask);
    this.#fast =
      format.bitsPerPixel === 32 &&
      HOST_LITTLE_ENDIAN &&
      format.imageByteOrder === 0 &&
      this.#red.bits === 8 &&
      this.#green.bits === 8 &&
      this.#blue.bits === 8;
  }

  /** True when the Uint32Array fast path applies. */
  get fast(): boolean {
    return this.#fast;
  }

  /**
   * Writes an image of `width` x `height` pixels (rows `bytesPerLine(format, width)` apart in `src`) into `dst`
   * at (`x`, `y`). The rectangle must lie inside `dst`.
   */
  convert(src: Uint8Array, width: number, height: number, dst: Framebuffer, x: number, y: number): void {
    const stride = bytesPerLine(this.format, width);
    if (src.byteLength < stride * (height - 1) + ((width * this.format.bitsPerPixel) >> 3)) {
      throw new TesseraError(ErrorCode.Io, `x11: image data too short (${src.byteLength} bytes for ${width}x${height})`);
    }
    if (this.#fast) this.#convert32(src, stride, width, height, dst, x, y);
    else this.#convertGeneric(src, stride, width, height, dst, x, y);
  }

  #convert32(src: Uint8Array, stride: number, width: number, height: number, dst: Framebuffer, x: number, y: number): void {
    // Reply buffers may start at any byte offset; an unaligned source is copied once into an aligned scratch buffer.
    // Int32 views keep every value a small integer in the loop (no conversion to a heap number for alpha 255).
    let words: Int32Array;
    const wordStride = stride >> 2;
    if ((src.byteOffset & 3) === 0) {
      words = new Int32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
    } else {
      const need = (stride >> 2) * height;
      if (this.#scratch.length < need) this.#scratch = new Int32Array(need);
      new Uint8Array(this.#scratch.buffer, 0, need * 4).set(src.subarray(0, need * 4));
      words = this.#scratch;
    }
    const out = new Int32Array(dst.data.buffer, dst.data.byteOffset, dst.width * dst.height);
    const rs = this.#red.shift;
    const gs = this.#green.shift;
    const bs = this.#blue.shift;
    const dstWidth = dst.width;
    if (rs === 16 && gs === 8 && bs === 0) {
      // The usual X layout (0x00RRGGBB): swap the red and blue bytes and set alpha.
      for (let row = 0; row < height; row++) {
        let s = row * wordStride;
        let d = (y + row) * dstWidth + x;
        const end = s + width;
        // INVARIANT: s < end <= words.length and d < out.length, checked by the length test in convert().
        while (s < end) {
          const p = words[s++]!;
          out[d++] = ALPHA | ((p & 0xff) << 16) | (p & 0xff00) | ((p >> 16) & 0xff);
        }
      }
      return;
    }
    for (let row = 0; row < height; row++) {
      let s = row * wordStride;
      let d = (y + row) * dstWidth + x;
      const end = s + width;
      while (s < end) {
        const p = words[s++]!;
        out[d++] = ALPHA | (((p >>> bs) & 0xff) << 16) | (((p >>> gs) & 0xff) << 8) | ((p >>> rs) & 0xff);
      }
    }
  }

  #convertGeneric(src: Uint8Array, stride: number, width: number, height: number, dst: Framebuffer, x: number, y: number): void {
    const bytes = this.format.bitsPerPixel >> 3;
    const msb = this.format.imageByteOrder === 1;
    const out = dst.data;
    const red = this.#red;
    const green = this.#green;
    const blue = this.#blue;
    for (let row = 0; row < height; row++) {
      let s = row * stride;
      let d = ((y + row) * dst.width + x) * 4;
      for (let col = 0; col < width; col++) {
        let p = 0;
        if (msb) for (let i = 0; i < bytes; i++) p = p * 256 + src[s + i]!;
        else for (let i = bytes - 1; i >= 0; i--) p = p * 256 + src[s + i]!;
        out[d] = scale(p, red);
        out[d + 1] = scale(p, green);
        out[d + 2] = scale(p, blue);
        out[d + 3] = 255;
        s += bytes;
        d += 4;
      }
    }
  }
}

function scale(pixel: number, ch: Channel): number {
  const max = 2 ** ch.bits - 1;
  const value = Math.floor(pixel / 2 ** ch.shift) % (max + 1);
  return ch.bits === 8 ? value : Math.round((value * 255) / max);
}
