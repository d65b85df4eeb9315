/**
 * The tile delta codec (spec/codec.md): pure and browser-safe.
 */
export { createFramebuffer, cloneFramebuffer, MAX_SCREEN_DIMENSION } from './framebuffer.js';
export type { Framebuffer, Rect } from './framebuffer.js';
export { TileEncoder } from './tile-encoder.js';
export type { TileEncoderOptions, EncodedUpdate, EncodeStats, QualityMode } from './tile-encoder.js';
export { TileDecoder, DEFAULT_MAX_SCREEN_PX } from './tile-decoder.js';
export { checkLossyImage, readImageHeader } from './image-header.js';
export type { ImageHeader } from './image-header.js';
export type { TileDecoderOptions, DecodeResult } from './tile-decoder.js';
export { FflateInflateBackend } from './backends.js';
export type { DeflateBackend, InflateBackend, ImageCodec, LossyFormat } from './backends.js';
export { TILE_SIZE_PX } from './constants.js';
