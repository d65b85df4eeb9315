/**
 * Wire constants of the tile codec, spec/codec.md.
 */

/** Update format version, spec/codec.md §2. */
export const CODEC_VERSION = 1;
/** Tile edge in pixels; edge tiles are smaller, spec/codec.md §1. */
export const TILE_SIZE_PX = 64;
/** Pixels in a full tile. */
export const TILE_PIXELS = TILE_SIZE_PX * TILE_SIZE_PX;

/** Update flag: key frame (reset stream, cache and picture), spec/codec.md §2. */
export const FLAG_KEY = 0x01;
/** Every flag bit a version-1 decoder knows. */
export const FLAGS_KNOWN = FLAG_KEY;

/** Tile record types, spec/codec.md §4 (low 3 bits of the type byte). */
export const ENC_SOLID = 0;
export const ENC_PALETTE = 1;
export const ENC_PALETTE_RLE = 2;
export const ENC_PIXELS = 3;
export const ENC_CACHE = 4;
export const ENC_INDEXED = 5;
/** Type-byte bit: colours and pixels are 3-byte RGB, alpha is 255, spec/codec.md §4. */
export const ENC_FLAG_RGB = 0x08;
/** Mask of the type-byte bits a version-1 decoder knows. */
export const ENC_KNOWN_MASK = 0x0f;

/** Pixel filters of a PIXELS tile, spec/codec.md §4.4. */
export const FILTER_NONE = 0;
export const FILTER_SUB = 1;
export const FILTER_UP = 2;
export const FILTER_PAETH = 3;
export const FILTER_PREV = 4;
/** MED prediction, green-relative residuals, range-coded (photographs), spec/codec.md §4.4.1. */
export const FILTER_MED_RANGE = 5;

/** Lossy formats on the wire, spec/codec.md §4.6. */
export const LOSSY_JPEG = 1;
export const LOSSY_WEBP = 2;

/** Largest palette, spec/codec.md §4.2. */
export const MAX_PALETTE = 256;
/** Largest session colour table, spec/codec.md §4.7. */
export const MAX_SESSION_COLOURS = 16384;
/** Most colours one INDEXED record may add to the session colour table, spec/codec.md §4.7. */
export const MAX_NEW_COLOURS = 512;
/** Largest number of copies in one update, spec/codec.md §3. */
export const MAX_COPIES = 4096;
/** Largest tile cache both sides may agree on (16 KiB per slot, so 256 MiB). */
export const MAX_CACHE_TILES = 16384;
/** Bytes of one tile record beyond its pixels: skip varint, type, filter and vector, or palette. */
export const MAX_TILE_OVERHEAD_BYTES = 5 + 1 + 1 + 4 + 1 + MAX_PALETTE * 4;
/** Largest raw (inflated) record of one full tile. */
export const MAX_TILE_RECORD_BYTES = TILE_PIXELS * 4 + MAX_TILE_OVERHEAD_BYTES;
