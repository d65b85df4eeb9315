/**
 * The tile delta decoder, spec/codec.md. Pure and browser-safe: the inflater and the lossy image codec are injected.
 * Every update is parsed in full and checked against the limits before any pixel changes; an update that
 * fails part-way through painting leaves the decoder waiting for a key frame.
 * Memory is bounded by maxWidth * maxHeight (the picture, and the per-update cap on what an update may expand to:
 * inflated tile records and decoded lossy tiles) and the cache size; copies are applied in place.
 * Lossy tile images are checked from their headers (format and size) before any image decoder sees them.
 */
import { DEFAULT_MAX_SCREEN_PX } from '../core/defaults.js';
import { ByteReader, ErrorCode, ProtocolError, StateError, TesseraError, invalidField } from '../core/index.js';
import { FflateInflateBackend, type ImageCodec, type InflateBackend, type LossyFormat } from './backends.js';
import {
  CODEC_VERSION, ENC_CACHE, ENC_FLAG_RGB, ENC_INDEXED, ENC_KNOWN_MASK, ENC_PALETTE, ENC_PALETTE_RLE, ENC_PIXELS, ENC_SOLID,
  FILTER_MED_RANGE, FILTER_PAETH, FILTER_PREV, FLAG_KEY, FLAGS_KNOWN, LOSSY_JPEG, LOSSY_WEBP, MAX_CACHE_TILES, MAX_COPIES,
  MAX_NEW_COLOURS, MAX_SESSION_COLOURS, MAX_TILE_RECORD_BYTES, TILE_PIXELS, TILE_SIZE_PX,
} from './constants.js';
import type { Framebuffer, Rect } from './framebuffer.js';
import { MAX_SCREEN_DIMENSION } from './framebuffer.js';
import { applyCopies, COPY_FIELDS, orderCopies } from './kernels/copy.js';
import { checkLossyImage } from './image-header.js';
import { decodeMedRange, MED_RANGE_BAD_START, MED_RANGE_OK, MED_RANGE_TRUNCATED, MedRangeScratch } from './kernels/med-range.js';
import { grabRect, readFiltered, readPrev } from './kernels/pixels.js';
import { TileCache } from './tile-cache.js';

/** Options of TileDecoder. */
export interface TileDecoderOptions {
  /**
   * Largest screen accepted, 1..16384 each; default 8192 x 8192 (DEFAULT_MAX_SCREEN_PX, the largest canvas
   * browsers reliably allocate). The decoder's memory is bounded by it: the picture is maxWidth * maxHeight * 4 bytes.
   */
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /** Largest tile cache a key frame may ask for; default 2048 slots (32 MiB). */
  readonly maxCacheTiles?: number;
  /** Inflater of the session stream; default FflateInflateBackend (browser-safe). */
  readonly inflate?: InflateBackend;
  /** Needed only for updates with lossy tiles. */
  readonly imageCodec?: ImageCodec;
}

/** What one decoded update did. */
export interface DecodeResult {
  /** The decoder's picture: one live object, changed in place by later updates (replaced on a key frame that resizes). */
  readonly framebuffer: Framebuffer;
  /** Rectangles that changed: copy destinations, then painted tiles merged along rows. */
  readonly rects: readonly Rect[];
  readonly seq: number;
  readonly keyFrame: boolean;
}

interface Parsed {
  key: boolean;
  seq: number;
  width: number;
  height: number;
  cacheTiles: number;
  copyCount: number;
  tileCount: number;
  rawLength: number;
  body: Uint8Array;
  lossyCount: number;
}

// The default largest screen edge of a decoder (spec/codec.md §8) lives with every other default.
export { DEFAULT_MAX_SCREEN_PX } from '../core/defaults.js';
/** Most an update may expand to, in screens of width * height * 4 bytes (spec/codec.md §8). */
export const MAX_UPDATE_SCREENS = 4;
/** Bytes an update may expand to beyond MAX_UPDATE_SCREENS screens (record overhead of tiny screens). */
export const UPDATE_SLACK_BYTES = 64 * 1024;

const CONTEXT = 'codec-update';
const RECORD_CONTEXT = 'tile-record';
/** version 1, flags 1, seq 4, width 2, height 2 */
const FIXED_PART_SIZE = 1 + 1 + 4 + 2 + 2;

/**
 * Decodes tile updates (spec/codec.md) onto a framebuffer, one decoder per session.
 */
export class TileDecoder {
  readonly #maxWidth: number;
  readonly #maxHeight: number;
  readonly #maxCacheTiles: number;
  readonly #inflate: InflateBackend;
  readonly #imageCodec: ImageCodec | undefined;
  #fb: Framebuffer | undefined;
  #pix: Uint32Array = new Uint32Array(0);
  #cols = 0;
  #tiles = 0;
  #expectSeq = 0;
  #failed = false;
  #cache: TileCache | undefined;
  #cacheTiles = 0;
  #raw = new Uint8Array(0);
  #copies = new Int32Array(16 * COPY_FIELDS);
  /** The order in which the parsed copies are applied in place, and orderCopies' counters. */
  #copyOrder = new Int32Array(16);
  #copyPending = new Int32Array(16);
  readonly #palette = new Uint32Array(256);
  /** The session colour table of INDEXED records, spec/codec.md §4.7. */
  readonly #colours = new Uint32Array(MAX_SESSION_COLOURS);
  #colourCount = 0;
  readonly #pred = new Uint32Array(TILE_PIXELS);
  readonly #medRange = new MedRangeScratch();
  #painted = new Uint8Array(0);
  #lossyTiles = new Int32Array(0);
  #lossyFormats = new Uint8Array(0);
  #lossyData: Uint8Array[] = [];
  #rects: Rect[] = [];

  /** @throws {StateError} TESSERA_ERR_BAD_STATE on limits outside 1..16384 */
  constructor(options: TileDecoderOptions = {}) {
    const maxWidth = options.maxWidth ?? DEFAULT_MAX_SCREEN_PX;
    const maxHeight = options.maxHeight ?? DEFAULT_MAX_SCREEN_PX;
    if (!(Number.isInteger(maxWidth) && Number.isInteger(maxHeight) && maxWidth >= 1 && maxHeight >= 1 && maxWidth <= MAX_SCREEN_DIMENSION && maxHeight <= MAX_SCREEN_DIMENSION)) {
      throw new StateError(`decoder limit ${maxWidth}x${maxHeight} is outside 1..${MAX_SCREEN_DIMENSION}`);
    }
    this.#maxWidth = maxWidth;
    this.#maxHeight = maxHeight;
    this.#maxCacheTiles = Math.min(MAX_CACHE_TILES, options.maxCacheTiles ?? 2048);
    this.#inflate = options.inflate ?? new FflateInflateBackend();
    this.#imageCodec = options.imageCodec;
  }

  /** The current picture, undefined before the first key frame. */
  get framebuffer(): Framebuffer | undefined {
    return this.#fb;
  }

  /** The largest screen this decoder accepts. */
  get maxWidth(): number {
    return this.#maxWidth;
  }

  get maxHeight(): number {
    return this.#maxHeight;
  }

  /**
   * Applies one update. Lossy tiles need an image codec that answers synchronously; otherwise use decodeAsync.
   * @throws {ProtocolError} with a TESSERA_ERR_* code on any malformed or hostile update (spec/codec.md §9)
   * @throws {StateError} TESSERA_ERR_BAD_STATE when lossy tiles need an asynchronous image codec (nothing was changed)
   */
  decode(update: Uint8Array): DecodeResult {
    const p = this.#parse(update);
    const images = this.#lossyCountImages(p);
    const decoded: Uint8Array[] = [];
    for (let i = 0; i < images; i++) {
      const res = this.#decodeImage(i, p);
      if (res instanceof Promise) {
        res.catch(() => undefined);
        throw new StateError('update has lossy tiles and the image codec is asynchronous; use decodeAsync');
      }
      decoded.push(res);
    }
    return this.#apply(p, decoded);
  }

  /** Applies one update, awaiting the image codec for lossy tiles. Do not interleave calls. */
  async decodeAsync(update: Uint8Array): Promise<DecodeResult> {
    const p = this.#parse(update);
    const images = this.#lossyCountImages(p);
    const decoded: Uint8Array[] = [];
    for (let i = 0; i < images; i++) {
      let res: Uint8Array;
      try {
        res = await this.#decodeImage(i, p);
      } catch (err) {
        throw this.#fail(this.#imageError(i, err));
      }
      decoded.push(res);
    }
    return this.#apply(p, decoded);
  }

  #fail(err: TesseraError): TesseraError {
    if (err instanceof ProtocolError) this.#failed = true;
    return err;
  }

  #lossyCountImages(p: Parsed): number {
    if (p.lossyCount > 0 && this.#imageCodec === undefined) {
      throw this.#fail(new ProtocolError(ErrorCode.UnexpectedMessage, 'update has lossy tiles but the decoder has no image codec', { context: CONTEXT, field: 'lossyCount' }));
    }
    return p.lossyCount;
  }

  #tileSize(t: number, width: number, height: number, cols: number): number {
    const tx = t % cols, ty = (t - tx) / cols;
    const w = Math.min(TILE_SIZE_PX, width - tx * TILE_SIZE_PX), h = Math.min(TILE_SIZE_PX, height - ty * TILE_SIZE_PX);
    return w * 65536 + h;
  }

  #decodeImage(i: number, p: Parsed): Uint8Array | Promise<Uint8Array> {
    const cols = Math.ceil(p.width / TILE_SIZE_PX);
    const size = this.#tileSize(this.#lossyTiles[i]!, p.width, p.height, cols);
    const format: LossyFormat = this.#lossyFormats[i] === LOSSY_WEBP ? 'webp' : 'jpeg';
    try {
      return this.#imageCodec!.decode(this.#lossyData[i]!, format, size >>> 16, size & 0xffff);
    } catch (err) {
      throw this.#fail(this.#imageError(i, err));
    }
  }

  #imageError(i: number, err: unknown): TesseraError {
    if (err instanceof TesseraError) return err;
    return new ProtocolError(ErrorCode.ImageDecodeFailed, `lossy tile ${i} could not be decoded`, { context: CONTEXT, field: 'lossyData', cause: err });
  }

  /** Parses and checks everything outside the deflated body; changes nothing. spec/codec.md §2. */
  #parse(update: Uint8Array): Parsed {
    try {
      return this.#parseInner(update);
    } catch (err) {
      if (err instanceof TesseraError) throw this.#fail(err);
      throw err;
    }
  }

  #parseInner(update: Uint8Array): Parsed {
    const r = new ByteReader(update, CONTEXT);
    r.need(FIXED_PART_SIZE, 'header');
    const version = r.u8('version');
    if (version !== CODEC_VERSION) {
      throw new ProtocolError(ErrorCode.UnsupportedVersion, `codec update version ${version} is not supported`, { context: CONTEXT, field: 'version', offset: 0, expected: CODEC_VERSION, received: version });
    }
    const flags = r.u8('flags');
    if ((flags & ~FLAGS_KNOWN) !== 0) throw invalidField(CONTEXT, 'flags', 1, 'has unknown bits set', flags);
    const key = (flags & FLAG_KEY) !== 0;
    const seq = r.u32('seq');
    const width = r.u16('width');
    const height = r.u16('height');
    if (width === 0 || height === 0) throw invalidField(CONTEXT, 'width', 6, 'is zero', `${width}x${height}`);
    if (width > this.#maxWidth || height > this.#maxHeight) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `screen ${width}x${height} exceeds the decoder limit ${this.#maxWidth}x${this.#maxHeight}`, { context: CONTEXT, field: 'width', offset: 6, received: `${width}x${height}` });
    }
    let cacheTiles = this.#cacheTiles;
    if (key) {
      cacheTiles = r.u16('cacheTiles');
      if (cacheTiles > this.#maxCacheTiles) {
        throw new ProtocolError(ErrorCode.LimitExceeded, `cache of ${cacheTiles} tiles exceeds the decoder limit ${this.#maxCacheTiles}`, { context: CONTEXT, field: 'cacheTiles', offset: 10, expected: this.#maxCacheTiles, received: cacheTiles });
      }
    } else {
      if (this.#fb === undefined || this.#failed) {
        throw new ProtocolError(ErrorCode.UnexpectedMessage, this.#failed ? 'decoder needs a key frame after a failed update' : 'first update must be a key frame', { context: CONTEXT, field: 'flags', offset: 1 });
      }
      if (width !== this.#fb.width || height !== this.#fb.height) throw invalidField(CONTEXT, 'width', 6, 'changes the screen size without a key frame', `${width}x${height}`);
      if (seq !== this.#expectSeq) throw invalidField(CONTEXT, 'seq', 2, `is not the expected ${this.#expectSeq}`, seq);
    }
    const cols = Math.ceil(width / TILE_SIZE_PX);
    const tiles = cols * Math.ceil(height / TILE_SIZE_PX);
    const copyAt = r.offset;
    const copyCount = r.varuint('copyCount');
    if (copyCount > MAX_COPIES) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `update has ${copyCount} copies, more than ${MAX_COPIES}`, { context: CONTEXT, field: 'copyCount', offset: copyAt, expected: MAX_COPIES, received: copyCount });
    }
    r.need(copyCount * 12, 'copies');
    if (this.#copies.length < copyCount * COPY_FIELDS) {
      this.#copies = new Int32Array(copyCount * COPY_FIELDS);
      this.#copyOrder = new Int32Array(copyCount);
      this.#copyPending = new Int32Array(copyCount);
    }
    const copies = this.#copies;
    // What the update may expand to (copied, inflated and decoded bytes), checked before each allocation.
    const budget = MAX_UPDATE_SCREENS * width * height * 4 + UPDATE_SLACK_BYTES;
    let expands = 0;
    for (let i = 0; i < copyCount; i++) {
      const at = r.offset;
      const c = i * COPY_FIELDS;
      const sx = (copies[c] = r.u16('copySrcX'));
      const sy = (copies[c + 1] = r.u16('copySrcY'));
      const dx = (copies[c + 2] = r.u16('copyDstX'));
      const dy = (copies[c + 3] = r.u16('copyDstY'));
      const w = (copies[c + 4] = r.u16('copyWidth'));
      const h = (copies[c + 5] = r.u16('copyHeight'));
      if (w === 0 || h === 0 || sx + w > width || dx + w > width || sy + h > height || dy + h > height) {
        throw invalidField(CONTEXT, 'copy', at, `${w}x${h} from ${sx},${sy} to ${dx},${dy} is outside the ${width}x${height} screen`);
      }
      expands += w * h * 4;
      if (expands > budget) throw overBudget('copy', at, budget, expands);
    }
    if (!orderCopies(copies, copyCount, this.#copyOrder, this.#copyPending)) {
      throw invalidField(CONTEXT, 'copies', copyAt, 'read and write each other in a cycle, so no order applies them in place');
    }
    const tileAt = r.offset;
    const tileCount = r.varuint('tileCount');
    if (tileCount > tiles) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `update has ${tileCount} tile records, the screen has ${tiles} tiles`, { context: CONTEXT, field: 'tileCount', offset: tileAt, expected: tiles, received: tileCount });
    }
    const rawAt = r.offset;
    const rawLength = r.varuint('rawLength');
    if (rawLength > tileCount * MAX_TILE_RECORD_BYTES) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `tile records of ${rawLength} bytes exceed ${tileCount * MAX_TILE_RECORD_BYTES} for ${tileCount} tiles`, { context: CONTEXT, field: 'rawLength', offset: rawAt, expected: tileCount * MAX_TILE_RECORD_BYTES, received: rawLength });
    }
    expands += rawLength;
    if (expands > budget) throw overBudget('rawLength', rawAt, budget, expands);
    const bodyAt = r.offset;
    const bodyLength = r.varuint('bodyLength');
    if ((tileCount === 0) !== (bodyLength === 0) || (tileCount === 0) !== (rawLength === 0)) {
      throw invalidField(CONTEXT, 'bodyLength', bodyAt, 'must be zero exactly when there are no tile records', bodyLength);
    }
    const body = r.bytesView(bodyLength, 'body');
    const lossyAt = r.offset;
    const lossyCount = r.varuint('lossyCount');
    if (lossyCount > tiles) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `update has ${lossyCount} lossy tiles, the screen has ${tiles} tiles`, { context: CONTEXT, field: 'lossyCount', offset: lossyAt, expected: tiles, received: lossyCount });
    }
    if (this.#lossyTiles.length < lossyCount) {
      this.#lossyTiles = new Int32Array(lossyCount);
      this.#lossyFormats = new Uint8Array(lossyCount);
    }
    this.#lossyData = [];
    let prev = -1;
    for (let i = 0; i < lossyCount; i++) {
      const at = r.offset;
      const t = r.varuint('lossyTile');
      if (t >= tiles || t <= prev) throw invalidField(CONTEXT, 'lossyTile', at, 'is out of range or out of order', t);
      prev = t;
      const format = r.u8('lossyFormat');
      if (format !== LOSSY_JPEG && format !== LOSSY_WEBP) throw invalidField(CONTEXT, 'lossyFormat', at, 'is unknown', format);
      const len = r.varuint('lossyLength');
      const data = r.bytesView(len, 'lossyData');
      const size = this.#tileSize(t, width, height, cols);
      const w = size >>> 16, h = size & 0xffff;
      expands += w * h * 4;
      if (expands > budget) throw overBudget('lossyTile', at, budget, expands);
      // The image's own header must name the wire's format and the tile's size before any decoder sees it.
      if (this.#imageCodec !== undefined) checkLossyImage(data, format === LOSSY_WEBP ? 'webp' : 'jpeg', w, h);
      this.#lossyTiles[i] = t;
      this.#lossyFormats[i] = format;
      this.#lossyData.push(data);
    }
    if (lossyCount > 0 && this.#imageCodec === undefined) {
      throw new ProtocolError(ErrorCode.UnexpectedMessage, 'update has lossy tiles but the decoder has no image codec', { context: CONTEXT, field: 'lossyCount', offset: lossyAt });
    }
    r.end();
    return { key, seq, width, height, cacheTiles, copyCount, tileCount, rawLength, body, lossyCount };
  }

  /** Paints a parsed update. spec/codec.md §2 order: copies, tile records, lossy tiles. */
  #apply(p: Parsed, images: Uint8Array[]): DecodeResult {
    // Image sizes are checked before anything is painted.
    const cols = Math.ceil(p.width / TILE_SIZE_PX);
    for (let i = 0; i < p.lossyCount; i++) {
      const size = this.#tileSize(this.#lossyTiles[i]!, p.width, p.height, cols);
      const img = images[i]!;
      if (!(img instanceof Uint8Array) || img.length !== (size >>> 16) * (size & 0xffff) * 4) {
        throw this.#fail(new ProtocolError(ErrorCode.ImageDecodeFailed, `lossy tile ${i} decoded to the wrong size`, { context: CONTEXT, field: 'lossyData' }));
      }
    }
    try {
      return this.#applyInner(p, images);
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  #applyInner(p: Parsed, images: Uint8Array[]): DecodeResult {
    if (p.key) {
      this.#inflate.reset();
      this.#colourCount = 0;
      if (this.#fb === undefined || this.#fb.width !== p.width || this.#fb.height !== p.height) {
        this.#pix = new Uint32Array(p.width * p.height);
        this.#fb = { width: p.width, height: p.height, data: new Uint8Array(this.#pix.buffer) };
      } else {
        this.#pix.fill(0);
      }
      this.#cols = Math.ceil(p.width / TILE_SIZE_PX);
      this.#tiles = this.#cols * Math.ceil(p.height / TILE_SIZE_PX);
      if (this.#painted.length !== this.#tiles) this.#painted = new Uint8Array(this.#tiles);
      if (p.cacheTiles === 0) this.#cache = undefined;
      else if (this.#cache === undefined || this.#cache.capacity !== p.cacheTiles) this.#cache = new TileCache(p.cacheTiles);
      else this.#cache.clear();
      this.#cacheTiles = p.cacheTiles;
      this.#failed = false;
    }
    const fb = this.#fb!;
    const pix = this.#pix;
    const W = fb.width, H = fb.height;
    const rects: Rect[] = [];
    this.#rects = rects;
    this.#painted.fill(0);
    applyCopies(pix, W, this.#copies, p.copyCount, this.#copyOrder);
    for (let i = 0; i < p.copyCount; i++) {
      const c = i * COPY_FIELDS;
      rects.push({ x: this.#copies[c + 2]!, y: this.#copies[c + 3]!, width: this.#copies[c + 4]!, height: this.#copies[c + 5]! });
    }
    if (p.tileCount > 0) {
      if (this.#raw.length < p.rawLength) this.#raw = new Uint8Array(p.rawLength);
      const raw = this.#raw.subarray(0, p.rawLength);
      const n = this.#inflate.inflateInto(p.body, raw);
      if (n !== p.rawLength) {
        throw new ProtocolError(ErrorCode.Truncated, `tile body inflated to ${n} bytes, ${p.rawLength} declared`, { context: CONTEXT, field: 'body', expected: p.rawLength, received: n });
      }
      this.#paintRecords(raw, p.tileCount);
    }
    for (let i = 0; i < p.lossyCount; i++) {
      const t = this.#lossyTiles[i]!;
      if (this.#painted[t] === 1) throw invalidField(CONTEXT, 'lossyTile', 0, 'paints a tile twice', t);
      this.#painted[t] = 1;
      const tx = t % this.#cols, ty = (t - tx) / this.#cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      const w = Math.min(TILE_SIZE_PX, W - x0), h = Math.min(TILE_SIZE_PX, H - y0);
      const img = images[i]!;
      for (let y = 0; y < h; y++) fb.data.set(img.subarray(y * w * 4, (y + 1) * w * 4), ((y0 + y) * W + x0) * 4);
      this.#pushRect(x0, y0, w, h);
    }
    this.#expectSeq = (p.seq + 1) >>> 0;
    return { framebuffer: fb, rects, seq: p.seq, keyFrame: p.key };
  }

  #pushRect(x: number, y: number, w: number, h: number): void {
    const rects = this.#rects;
    const last = rects[rects.length - 1];
    if (last !== undefined && last.y === y && last.height === h && last.x + last.width === x) {
      rects[rects.length - 1] = { x: last.x, y, width: last.width + w, height: h };
    } else {
      rects.push({ x, y, width: w, height: h });
    }
  }

  /** Paints the inflated tile records, spec/codec.md §4. */
  #paintRecords(raw: Uint8Array, tileCount: number): void {
    const fb = this.#fb!;
    const pix = this.#pix;
    const data = fb.data;
    const W = fb.width, H = fb.height;
    const cols = this.#cols;
    const r = new ByteReader(raw, RECORD_CONTEXT);
    const palette = this.#palette;
    let prev = -1;
    for (let k = 0; k < tileCount; k++) {
      const at = r.offset;
      const t = prev + 1 + r.varuint('tileSkip');
      if (t >= this.#tiles) throw invalidField(RECORD_CONTEXT, 'tileSkip', at, 'points past the last tile', t);
      if (this.#painted[t] === 1) throw invalidField(RECORD_CONTEXT, 'tileSkip', at, 'paints a tile twice', t);
      this.#painted[t] = 1;
      prev = t;
      const tx = t % cols, ty = (t - tx) / cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      const w = Math.min(TILE_SIZE_PX, W - x0), h = Math.min(TILE_SIZE_PX, H - y0);
      const n = w * h;
      const typeAt = r.offset;
      const type = r.u8('tileType');
      if ((type & ~ENC_KNOWN_MASK) !== 0) throw invalidField(RECORD_CONTEXT, 'tileType', typeAt, 'has unknown bits set', type);
      const enc = type & 7;
      const bpp = (type & ENC_FLAG_RGB) !== 0 ? 3 : 4;
      let cacheable = true;
      if (enc === ENC_SOLID) {
        const v = this.#readColour(r, bpp);
        for (let y = 0; y < h; y++) {
          const s = (y0 + y) * W + x0;
          pix.fill(v, s, s + w);
        }
        cacheable = false;
      } else if (enc === ENC_PALETTE || enc === ENC_PALETTE_RLE) {
        const count = r.u8('paletteSize') + 1;
        r.need(count * bpp, 'palette');
        for (let i = 0; i < count; i++) palette[i] = this.#readColour(r, bpp);
        if (enc === ENC_PALETTE) this.#readPacked(r, count, x0, y0, w, h);
        else this.#readRuns(r, count, x0, y0, w, h);
      } else if (enc === ENC_INDEXED) {
        this.#readIndexed(r, raw, bpp, x0, y0, w, h);
      } else if (enc === ENC_PIXELS) {
        const filterAt = r.offset;
        const filter = r.u8('filter');
        if (filter === FILTER_PREV) {
          const dx = r.i16('prevDx');
          const dy = r.i16('prevDy');
          const sx = x0 + dx, sy = y0 + dy;
          if (sx < 0 || sy < 0 || sx + w > W || sy + h > H) throw invalidField(RECORD_CONTEXT, 'prevOffset', filterAt, `${dx},${dy} reads outside the screen`);
          r.need(n * bpp, 'pixels');
          grabRect(pix, W, sx, sy, w, h, this.#pred);
          readPrev(raw, r.offset, pix, W, x0, y0, w, h, this.#pred, bpp);
        } else if (filter <= FILTER_PAETH) {
          r.need(n * bpp, 'pixels');
          readFiltered(raw, r.offset, data, W * 4, x0, y0, w, h, bpp, filter);
        } else if (filter === FILTER_MED_RANGE) {
          this.#readMedRange(r, raw, data, W, x0, y0, w, h, bpp);
        } else {
          throw invalidField(RECORD_CONTEXT, 'filter', filterAt, 'is unknown', filter);
        }
        if (filter !== FILTER_MED_RANGE) r.skip(n * bpp, 'pixels');
      } else if (enc === ENC_CACHE) {
        const slotAt = r.offset;
        const slot = r.varuint('cacheSlot');
        const cache = this.#cache;
        if (cache === undefined || !cache.has(slot)) throw invalidField(RECORD_CONTEXT, 'cacheSlot', slotAt, 'names an empty cache slot', slot);
        if (cache.widths[slot] !== w || cache.heights[slot] !== h) throw invalidField(RECORD_CONTEXT, 'cacheSlot', slotAt, `holds a ${cache.widths[slot]}x${cache.heights[slot]} tile, not ${w}x${h}`, slot);
        const base = slot * TILE_PIXELS;
        for (let y = 0; y < h; y++) pix.set(cache.pixels.subarray(base + y * w, base + (y + 1) * w), (y0 + y) * W + x0);
        cache.touch(slot);
        cacheable = false;
      } else {
        throw invalidField(RECORD_CONTEXT, 'tileType', typeAt, 'names an unknown encoding', type);
      }
      if (cacheable && this.#cache !== undefined) {
        const cache = this.#cache;
        const slot = cache.allocate(w, h);
        grabRect(pix, W, x0, y0, w, h, cache.pixels.subarray(slot * TILE_PIXELS, (slot + 1) * TILE_PIXELS));
      }
      this.#pushRect(x0, y0, w, h);
    }
    r.end();
  }

  /** A MED_RANGE pixel filter after its filter byte, spec/codec.md §4.4.1. */
  #readMedRange(r: ByteReader, raw: Uint8Array, data: Uint8Array, W: number, x0: number, y0: number, w: number, h: number, bpp: number): void {
    const at = r.offset;
    const len = r.varuint('codedLength');
    if (len > w * h * bpp) throw invalidField(RECORD_CONTEXT, 'codedLength', at, `is longer than the tile's ${w * h * bpp} raw bytes`, len);
    r.need(len, 'coded');
    const status = decodeMedRange(raw, r.offset, len, data, W * 4, x0, y0, w, h, bpp, this.#medRange);
    if (status === MED_RANGE_BAD_START) throw invalidField(RECORD_CONTEXT, 'coded', r.offset, 'does not start with a 0 byte');
    if (status === MED_RANGE_TRUNCATED) {
      throw new ProtocolError(ErrorCode.Truncated, `range-coded pixels need more than their ${len} bytes`, { context: RECORD_CONTEXT, field: 'coded', offset: r.offset, received: len });
    }
    if (status !== MED_RANGE_OK) {
      throw new ProtocolError(ErrorCode.TrailingBytes, `range-coded pixels leave bytes of their ${len} unread`, { context: RECORD_CONTEXT, field: 'coded', offset: r.offset, received: len });
    }
    r.skip(len, 'coded');
  }

  #readColour(r: ByteReader, bpp: number): number {
    r.need(bpp, 'colour');
    const red = r.u8('red'), green = r.u8('green'), blue = r.u8('blue');
    const alpha = bpp === 4 ? r.u8('alpha') : 255;
    return (red | (green << 8) | (blue << 16) | (alpha << 24)) >>> 0;
  }

  #readPacked(r: ByteReader, count: number, x0: number, y0: number, w: number, h: number): void {
    const bits = count <= 2 ? 1 : count <= 4 ? 2 : count <= 16 ? 4 : 8;
    const rowBytes = (w * bits + 7) >> 3;
    const at = r.offset;
    const src = r.bytesView(rowBytes * h, 'indices');
    const pix = this.#pix;
    const palette = this.#palette;
    const W = this.#fb!.width;
    const mask = (1 << bits) - 1;
    let bad = 0;
    for (let y = 0; y < h; y++) {
      let p = y * rowBytes;
      let o = (y0 + y) * W + x0;
      let shift = 8 - bits;
      let byte = src[p]!;
      for (let x = 0; x < w; x++) {
        const idx = (byte >>> shift) & mask;
        bad |= count - 1 - idx;
        pix[o++] = palette[idx]!;
        shift -= bits;
        if (shift < 0) {
          shift = 8 - bits;
          byte = src[++p]!;
        }
      }
    }
    // A negative (count - 1 - idx) sets the sign bit: some index was past the palette.
    if (bad < 0) throw invalidField(RECORD_CONTEXT, 'indices', at, `use an index past the ${count}-colour palette`);
  }

  /** An INDEXED record after its type byte, spec/codec.md §4.7. */
  #readIndexed(r: ByteReader, raw: Uint8Array, bpp: number, x0: number, y0: number, w: number, h: number): void {
    const at = r.offset;
    const added = r.varuint('newColours');
    if (added > MAX_NEW_COLOURS) throw invalidField(RECORD_CONTEXT, 'newColours', at, `adds more than ${MAX_NEW_COLOURS} colours`, added);
    const colours = this.#colours;
    let count = this.#colourCount;
    if (count + added > MAX_SESSION_COLOURS) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `session colour table would exceed ${MAX_SESSION_COLOURS} colours`, { context: RECORD_CONTEXT, field: 'newColours', offset: at, expected: MAX_SESSION_COLOURS - count, received: added });
    }
    r.need(added * bpp, 'newColours');
    for (let i = 0; i < added; i++) colours[count++] = this.#readColour(r, bpp);
    this.#colourCount = count;
    const pix = this.#pix;
    const W = this.#fb!.width;
    const n = w * h;
    // One-byte varuints are read inline from `raw` at `pos`; longer ones (and the end of the data) go through the reader.
    const end = raw.length;
    let pos = r.offset;
    let k = 0;
    while (k < n) {
      const runAt = pos;
      let code = pos < end ? raw[pos]! : 0x80;
      if (code < 0x80) pos++;
      else {
        r.skip(pos - r.offset, 'runCode');
        code = r.varuint('runCode');
        pos = r.offset;
      }
      const idx = code >>> 1;
      if (idx >= count) throw invalidField(RECORD_CONTEXT, 'runCode', runAt, `names colour ${idx} of a ${count}-colour table`, code);
      const v = colours[idx]!;
      if ((code & 1) === 0) {
        const y = (k / w) | 0;
        pix[(y0 + y) * W + x0 + k - y * w] = v;
        k++;
        continue;
      }
      let run = pos < end ? raw[pos]! : 0x80;
      if (run < 0x80) pos++;
      else {
        r.skip(pos - r.offset, 'runLength');
        run = r.varuint('runLength');
        pos = r.offset;
      }
      run += 2;
      if (run > n - k) throw invalidField(RECORD_CONTEXT, 'runLength', runAt, 'runs past the end of the tile', run);
      this.#fillRun(v, k, run, x0, y0, w);
      k += run;
    }
    r.skip(pos - r.offset, 'runs');
  }

  #readRuns(r: ByteReader, count: number, x0: number, y0: number, w: number, h: number): void {
    const palette = this.#palette;
    const n = w * h;
    let k = 0;
    while (k < n) {
      const at = r.offset;
      const idx = r.u8('runIndex');
      if (idx >= count) throw invalidField(RECORD_CONTEXT, 'runIndex', at, `is past the ${count}-colour palette`, idx);
      const run = r.varuint('runLength') + 1;
      if (run > n - k) throw invalidField(RECORD_CONTEXT, 'runLength', at, 'runs past the end of the tile', run);
      this.#fillRun(palette[idx]!, k, run, x0, y0, w);
      k += run;
    }
  }

  /**
   * Paints `run` pixels of colour `v` from tile position `k` on, in row order, into the tile at (x0, y0) of width `w`.
   * INVARIANT: the caller checked k + run <= the tile's pixel count.
   */
  #fillRun(v: number, k: number, run: number, x0: number, y0: number, w: number): void {
    const pix = this.#pix;
    const W = this.#fb!.width;
    for (const stop = k + run; k < stop;) {
      const y = (k / w) | 0;
      const x = k - y * w;
      const take = Math.min(w - x, stop - k);
      const o = (y0 + y) * W + x0 + x;
      pix.fill(v, o, o + take);
      k += take;
    }
  }
}

/** The error for an update whose parts would expand past the per-update cap, spec/codec.md §8. */
function overBudget(field: string, offset: number, budget: number, expands: number): ProtocolError {
  return new ProtocolError(ErrorCode.LimitExceeded, `update expands to more than ${budget} bytes (${MAX_UPDATE_SCREENS} screens)`, { context: CONTEXT, field, offset, expected: budget, received: expands });
}
