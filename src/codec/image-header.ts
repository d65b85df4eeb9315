/**
 * Checks the header of a lossy tile image before any image decoder sees it, spec/codec.md §4.6.
 * Pure and browser-safe: the Node codec (sharp) and the browser codec (createImageBitmap) both call it,
 * and the tile decoder calls it while parsing an update, so no pixel is decoded from an image whose format
 * differs from the wire's format byte or whose size differs from the tile's.
 *
 * Image decoders pick the format from the magic bytes, whatever the caller says, and allocate the size the
 * header announces: a 38-byte lossless WebP announcing 16383x16383 makes libvips allocate 1 GiB before its
 * size can be compared with the tile. So the format and the size are read here, from the header only.
 *
 * JPEG: ITU T.81 §B.2 (marker segments, SOFn frame header). WebP: the RIFF container as documented at
 * https://developers.google.com/speed/webp/docs/riff_container (VP8, VP8L and VP8X chunks) and RFC 6386 §9.1
 * (the VP8 key frame header).
 */
import { ErrorCode, ProtocolError } from '../core/index.js';
import type { LossyFormat } from './backends.js';

/** What a lossy tile's header says. */
export interface ImageHeader {
  readonly format: LossyFormat;
  readonly width: number;
  readonly height: number;
}

const CONTEXT = 'lossy-tile';

/** Most marker segments read before the JPEG frame header; a real JPEG has a handful (APPn, DQT, DHT). */
const MAX_JPEG_SEGMENTS = 64;
/** Most RIFF chunks read in a VP8X file before its image chunk (ICCP, ALPH and unknown chunks). */
const MAX_WEBP_CHUNKS = 16;
/** RIFF header: "RIFF" 4, size 4, "WEBP" 4. */
const RIFF_HEADER_SIZE = 4 + 4 + 4;
/** Chunk header: fourcc 4, size 4. */
const CHUNK_HEADER_SIZE = 4 + 4;
/** VP8 key frame header: frame tag 3, start code 3, width 2, height 2 (RFC 6386 §9.1). */
const VP8_HEADER_SIZE = 3 + 3 + 2 + 2;
/** VP8X payload: flags 1, reserved 3, canvas width-1 3, canvas height-1 3. */
const VP8X_PAYLOAD_SIZE = 1 + 3 + 3 + 3;
/** VP8X flag: the file is an animation. */
const VP8X_ANIMATION = 0x02;

function bad(why: string, received?: string): ProtocolError {
  return new ProtocolError(ErrorCode.ImageDecodeFailed, `lossy tile image ${why}`, received === undefined ? { context: CONTEXT, field: 'lossyData' } : { context: CONTEXT, field: 'lossyData', received });
}

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function u24le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
}

/** True for the start of a JPEG file: SOI (FF D8) followed by a marker (FF). */
function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** True for the start of a WebP file: "RIFF" size "WEBP". */
function isWebp(b: Uint8Array): boolean {
  return b.length >= RIFF_HEADER_SIZE && fourcc(b, 0) === 'RIFF' && fourcc(b, 8) === 'WEBP';
}

/**
 * Reads the frame size of a JPEG: the marker segments after SOI are walked by their lengths up to the first
 * frame header, which must be SOF0, SOF1 or SOF2 (Huffman baseline, extended or progressive: what libjpeg and
 * every browser decode). Anything else before it (a scan, an end of image, a stray byte, a restart marker) is an
 * error, as are a frame height of 0 (DNL) and a segment running past the end.
 */
function jpegHeader(b: Uint8Array): ImageHeader {
  let pos = 2;
  for (let segments = 0; segments < MAX_JPEG_SEGMENTS; segments++) {
    if (!(pos + 4 <= b.length)) throw bad('is a JPEG that ends before its frame header');
    if (b[pos] !== 0xff) throw bad(`is a JPEG with a non-marker byte at offset ${pos}`);
    const marker = b[pos + 1]!;
    const length = (b[pos + 2]! << 8) | b[pos + 3]!;
    if (marker === 0xc0 || marker === 0xc1 || marker === 0xc2) {
      // SOFn: length 2, precision 1, height 2, width 2, components 1, then 3 bytes per component.
      if (!(length >= 8 && pos + 2 + length <= b.length)) throw bad('is a JPEG with a truncated frame header');
      const height = (b[pos + 5]! << 8) | b[pos + 6]!;
      const width = (b[pos + 7]! << 8) | b[pos + 8]!;
      const components = b[pos + 9]!;
      if (!(length === 8 + 3 * components)) throw bad('is a JPEG whose frame header length does not match its components');
      return { format: 'jpeg', width, height };
    }
    // Markers 0xC3..0xCF other than DHT (C4), JPG (C8) and DAC (CC) are frame types nobody is asked to decode.
    const sof = marker >= 0xc3 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) throw bad(`is a JPEG of an unsupported frame type (SOF${marker - 0xc0})`);
    // Standalone markers (TEM, RSTn, SOI, EOI), a scan or fill bytes before the frame header are not a tile.
    if (marker === 0x01 || marker === 0xff || marker === 0x00 || (marker >= 0xd0 && marker <= 0xda)) {
      throw bad(`is a JPEG with marker ${marker.toString(16).toUpperCase()} before its frame header`);
    }
    if (!(length >= 2)) throw bad('is a JPEG with a segment shorter than its length field');
    pos += 2 + length;
  }
  throw bad(`is a JPEG with more than ${MAX_JPEG_SEGMENTS} segments before its frame header`);
}

/** Reads a VP8 (lossy) key frame header at `at`, the start of a VP8 chunk's payload of `size` bytes. */
function vp8Size(b: Uint8Array, at: number, size: number): { width: number; height: number } {
  if (!(size >= VP8_HEADER_SIZE)) throw bad('is a WebP with a truncated VP8 header');
  const tag = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
  const keyFrame = (tag & 1) === 0;
  const profile = (tag >> 1) & 7;
  const shown = (tag >> 4) & 1;
  const partition = tag >> 5;
  if (!keyFrame || profile > 3 || shown !== 1 || !(partition < size)) throw bad('is a WebP whose VP8 frame tag is not a shown key frame');
  if (!(b[at + 3] === 0x9d && b[at + 4] === 0x01 && b[at + 5] === 0x2a)) throw bad('is a WebP without the VP8 start code');
  // The top two bits of each dimension are an upscaling hint that decoders ignore.
  const width = (b[at + 6]! | (b[at + 7]! << 8)) & 0x3fff;
  const height = (b[at + 8]! | (b[at + 9]! << 8)) & 0x3fff;
  return { width, height };
}

/** Reads a VP8L (lossless) header at `at`: signature 0x2F, then 14 bits width-1, 14 bits height-1, 1 alpha, 3 version. */
function vp8lSize(b: Uint8Array, at: number, size: number): { width: number; height: number } {
  if (!(size >= 5) || b[at] !== 0x2f) throw bad('is a WebP with a malformed VP8L header');
  const bits = u32le(b, at + 1);
  return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
}

/**
 * Reads a WebP's size. The RIFF size must cover the file exactly. The first chunk is VP8 (simple lossy file),
 * VP8L (lossless, reported as such so the caller can refuse it) or VP8X (extended: no animation, a canvas, then
 * optional chunks and one VP8 or VP8L image chunk, which must have the canvas's size).
 */
function webpHeader(b: Uint8Array): ImageHeader & { lossless: boolean } {
  const riffSize = u32le(b, 4);
  if (!(riffSize + 8 === b.length)) throw bad(`is a WebP whose RIFF size ${riffSize} does not match its ${b.length} bytes`);
  let pos = RIFF_HEADER_SIZE;
  let canvas: { width: number; height: number } | undefined;
  for (let chunks = 0; chunks < MAX_WEBP_CHUNKS; chunks++) {
    if (!(pos + CHUNK_HEADER_SIZE <= b.length)) throw bad('is a WebP without an image chunk');
    const id = fourcc(b, pos);
    const size = u32le(b, pos + 4);
    const at = pos + CHUNK_HEADER_SIZE;
    if (!(size <= b.length - at)) throw bad(`is a WebP whose ${JSON.stringify(id)} chunk runs past the end`);
    if (id === 'VP8 ' || id === 'VP8L') {
      const lossless = id === 'VP8L';
      const { width, height } = lossless ? vp8lSize(b, at, size) : vp8Size(b, at, size);
      if (canvas !== undefined && (canvas.width !== width || canvas.height !== height)) {
        throw bad(`is a WebP whose ${width}x${height} image differs from its ${canvas.width}x${canvas.height} canvas`);
      }
      return { format: 'webp', width, height, lossless };
    }
    if (chunks === 0) {
      if (id !== 'VP8X') throw bad(`is a WebP whose first chunk is ${JSON.stringify(id)}`);
      if (!(size >= VP8X_PAYLOAD_SIZE)) throw bad('is a WebP with a truncated VP8X chunk');
      if ((b[at]! & VP8X_ANIMATION) !== 0) throw bad('is an animated WebP');
      canvas = { width: u24le(b, at + 4) + 1, height: u24le(b, at + 7) + 1 };
    } else if (id === 'ANIM' || id === 'ANMF' || id === 'VP8X') {
      throw bad(`is a WebP with a ${JSON.stringify(id)} chunk`);
    }
    // Chunks are padded to an even size.
    pos = at + size + (size & 1);
  }
  throw bad(`is a WebP with more than ${MAX_WEBP_CHUNKS} chunks before its image`);
}

/**
 * Reads the format and size of a lossy tile image from its header alone (nothing is decoded).
 * @throws {ProtocolError} TESSERA_ERR_IMAGE_DECODE_FAILED when the bytes are neither a JPEG nor a WebP, or the header is malformed
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader & { readonly lossless: boolean } {
  if (isJpeg(bytes)) return { ...jpegHeader(bytes), lossless: false };
  if (isWebp(bytes)) return webpHeader(bytes);
  throw bad('is neither a JPEG nor a WebP file', bytes.length >= 4 ? fourcc(bytes, 0).replace(/[^\x20-\x7e]/g, '.') : undefined);
}

/**
 * Checks a lossy tile before it is decoded, spec/codec.md §4.6: the image's format must be the one the wire's
 * format byte names (a JPEG, or a lossy WebP: VP8, alone or in VP8X), and its header's width and height must equal
 * the tile's. Image codecs call this before handing bytes to a decoder.
 * @throws {ProtocolError} TESSERA_ERR_IMAGE_DECODE_FAILED on any mismatch or malformed header
 */
export function checkLossyImage(bytes: Uint8Array, format: LossyFormat, width: number, height: number): void {
  const header = readImageHeader(bytes);
  if (header.format !== format) throw bad(`is a ${header.format === 'jpeg' ? 'JPEG' : 'WebP'} file but the format byte says ${format === 'jpeg' ? 'JPEG' : 'WebP'}`, header.format);
  if (header.lossless) throw bad('is a lossless WebP (VP8L), which is not a lossy tile format', 'VP8L');
  if (header.width !== width || header.height !== height) {
    throw new ProtocolError(ErrorCode.ImageDecodeFailed, `lossy tile image is ${header.width}x${header.height}, the tile is ${width}x${height}`, {
      context: CONTEXT,
      field: 'lossyData',
      expected: `${width}x${height}`,
      received: `${header.width}x${header.height}`,
    });
  }
}
