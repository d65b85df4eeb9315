/**
 * The tile delta encoder, spec/codec.md.
 * One encoder per helper connection: it keeps the picture the helper holds (the reference), the helper's tile
 * cache mirror and the session deflate stream, and turns each captured frame into one update against that
 * reference. Skipped frames coalesce by themselves: an update always goes from the reference to the current frame.
 */
import { ByteWriter, ConfigError, StateError } from '../core/index.js';
import type { DeflateBackend, ImageCodec, LossyFormat } from './backends.js';
import {
  CODEC_VERSION, ENC_CACHE, ENC_FLAG_RGB, ENC_INDEXED, ENC_PALETTE, ENC_PALETTE_RLE, ENC_PIXELS, ENC_SOLID, FILTER_MED_RANGE, FILTER_PREV,
  FLAG_KEY, LOSSY_JPEG, LOSSY_WEBP, MAX_CACHE_TILES, MAX_SESSION_COLOURS, MAX_TILE_RECORD_BYTES, TILE_PIXELS, TILE_SIZE_PX,
} from './constants.js';
import { ColourTableEncoder, writeIndexedRuns } from './kernels/colour-table.js';
import { CopyDetector } from './copy-detect.js';
import type { Framebuffer, Rect } from './framebuffer.js';
import { MAX_SCREEN_DIMENSION } from './framebuffer.js';
import { countEqual, firstDifference, hashRows, rectEqual } from './kernels/compare.js';
import { applyCopies, COPY_FIELDS, orderCopiesDroppingCycles } from './kernels/copy.js';
import {
  buildPalette, chooseSpatialFilter, PALETTE_SCRATCH_COLOURS, indexBits, isOpaque, packIndices, PaletteScratch, sortPalette, writeColours, writeFiltered, writePrev, writeRuns,
} from './kernels/pixels.js';
import { encodeMedRange, MedRangeScratch } from './kernels/med-range.js';
import { TileCache, TileHashIndex } from './tile-cache.js';

/** Quality modes, spec/codec.md §7. */
export type QualityMode = 'lossless' | 'balanced' | 'low-bandwidth';

/** Options of TileEncoder. */
export interface TileEncoderOptions {
  /** Screen size in pixels, 1..16384 each. */
  readonly width: number;
  readonly height: number;
  /** Default 'lossless'; the lossy modes need `imageCodec` and `encodeAsync`. */
  readonly quality?: QualityMode;
  /** The session deflate stream (node:zlib in Node via ZlibDeflateBackend; see backends.ts for why there is no fflate one). */
  readonly deflate: DeflateBackend;
  /** Lossy image codec for the lossy modes. */
  readonly imageCodec?: ImageCodec;
  /** Lossy format, default 'jpeg'. */
  readonly lossyFormat?: LossyFormat;
  /** Tile cache slots both sides keep (16 KiB each); default 1024, 0 turns the cache off. */
  readonly cacheTiles?: number;
  /** Look for scrolls and moves and send them as COPY rectangles; default true. */
  readonly detectCopies?: boolean;
  /** Also look for window moves in two dimensions (costs more than the scroll search); default true. */
  readonly detectMoves?: boolean;
  /** Updates a lossy tile must stay unchanged before it is refreshed losslessly; default 2. */
  readonly refreshAfterUpdates?: number;
  /** Most lossless refresh tiles per update; default 64. */
  readonly refreshTilesPerUpdate?: number;
  /**
   * Optional fast whole-frame byte comparison used to recognise an unchanged frame (in Node: `nodeBytesEqual`
   * from src/node/zlib-backend.ts, memcmp through Buffer.equals); without it a 32-bit JS loop is used.
   */
  readonly bytesEqual?: (a: Uint8Array, b: Uint8Array) => boolean;
}

/** Counts of what an update carries. */
export interface EncodeStats {
  changedTiles: number;
  copies: number;
  solid: number;
  palette: number;
  /** INDEXED records (session colour table). */
  indexed: number;
  pixels: number;
  prev: number;
  cache: number;
  lossy: number;
  refresh: number;
  /** Tile records before deflate. */
  rawBodyBytes: number;
}

/** One encoded update. */
export interface EncodedUpdate {
  /** The update bytes: a view of the encoder's output buffer, valid until the next encode, reset or resize call. Copy to keep. */
  readonly bytes: Uint8Array;
  readonly seq: number;
  readonly keyFrame: boolean;
  /** Screen rectangles the update changes (copy destinations and painted tiles, tiles merged along rows). */
  readonly rects: readonly Rect[];
  readonly stats: Readonly<EncodeStats>;
}

/** Most colours for which PALETTE is considered. */
const PALETTE_USE_LIMIT = 256;
/** Most colours for which INDEXED is considered (the palette builder's capacity). */
const INDEXED_USE_LIMIT = PALETTE_SCRATCH_COLOURS;
/** Fraction of a tile that must match the prediction before FILTER_PREV is used. */
const PREV_MIN_MATCH = 0.75;
/** Copies an encoder drops to break a cycle among its copies before it sends none (spec/codec.md §3). */
const MAX_COPY_CYCLE_DROPS = 16;
/** Distinct colours (counted up to here) above which a tile counts as photographic for the lossy modes. */
const PHOTO_COLOURS = 256;
/** JPEG/WebP quality per lossy mode. */
const LOSSY_QUALITY = { balanced: 80, 'low-bandwidth': 50 } as const;

interface LossyJob {
  tile: number;
  width: number;
  height: number;
  rgba: Uint8Array;
}

/**
 * Encodes captured frames into tile updates (spec/codec.md) for one helper connection.
 */
export class TileEncoder {
  readonly quality: QualityMode;
  readonly cacheTiles: number;
  #width = 0;
  #height = 0;
  #cols = 0;
  #rows = 0;
  #tiles = 0;
  #seq = 0;
  #needKey = true;
  #busy = false;
  readonly #deflate: DeflateBackend;
  readonly #imageCodec: ImageCodec | undefined;
  readonly #lossyFormat: LossyFormat;
  readonly #detectMoves: boolean;
  readonly #detectCopies: boolean;
  readonly #bytesEqual: ((a: Uint8Array, b: Uint8Array) => boolean) | undefined;
  readonly #refreshAfter: number;
  readonly #refreshBudget: number;
  /** The picture the helper holds (the source pixels where it holds lossy approximations). */
  #ref!: Uint32Array;
  #ref8!: Uint8Array;
  #aligned: Uint32Array | undefined;
  /** Application order of the detected copies and orderCopies' counters (spec/codec.md §3). */
  #copyOrder = new Int32Array(64);
  #copyPending = new Int32Array(64);
  #changed!: Uint8Array;
  #changedList!: Int32Array;
  #paint!: Uint8Array;
  #lossy!: Uint8Array;
  #lossyAge!: Uint8Array;
  #newHash!: Uint32Array;
  #newUniform!: Uint8Array;
  #refHash!: Uint32Array;
  #refUniform!: Uint8Array;
  readonly #pal = new PaletteScratch();
  readonly #medRange = new MedRangeScratch();
  readonly #colourTable = new ColourTableEncoder();
  /** Tile palette index to session colour table index (-1: a new colour), per INDEXED tile. */
  readonly #remap = new Int32Array(PALETTE_SCRATCH_COLOURS);
  readonly #detector = new CopyDetector();
  readonly #cache: TileCache | undefined;
  readonly #index: TileHashIndex | undefined;
  #body = new Uint8Array(1 << 16);
  readonly #out = new ByteWriter(1 << 16);
  readonly #stats: EncodeStats = { changedTiles: 0, copies: 0, solid: 0, palette: 0, indexed: 0, pixels: 0, prev: 0, cache: 0, lossy: 0, refresh: 0, rawBodyBytes: 0 };
  #jobs: LossyJob[] = [];
  #rects: Rect[] = [];

  /** @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG on a bad size, cache size or a lossy mode without image codec */
  constructor(options: TileEncoderOptions) {
    this.quality = options.quality ?? 'lossless';
    if (this.quality !== 'lossless' && this.quality !== 'balanced' && this.quality !== 'low-bandwidth') {
      throw new ConfigError(`unknown quality mode ${String(this.quality)}`);
    }
    if (this.quality !== 'lossless' && options.imageCodec === undefined) {
      throw new ConfigError(`quality ${this.quality} needs an imageCodec`);
    }
    this.cacheTiles = options.cacheTiles ?? 1024;
    if (!(Number.isInteger(this.cacheTiles) && this.cacheTiles >= 0 && this.cacheTiles <= MAX_CACHE_TILES)) {
      throw new ConfigError(`cacheTiles ${this.cacheTiles} is outside 0..${MAX_CACHE_TILES}`);
    }
    this.#deflate = options.deflate;
    this.#imageCodec = options.imageCodec;
    this.#lossyFormat = options.lossyFormat ?? 'jpeg';
    this.#detectMoves = options.detectMoves ?? true;
    this.#detectCopies = options.detectCopies ?? true;
    this.#bytesEqual = options.bytesEqual;
    this.#refreshAfter = Math.max(1, Math.min(250, options.refreshAfterUpdates ?? 2));
    this.#refreshBudget = Math.max(1, options.refreshTilesPerUpdate ?? 64);
    if (this.cacheTiles > 0) {
      this.#cache = new TileCache(this.cacheTiles);
      this.#index = new TileHashIndex(this.cacheTiles);
    }
    this.resize(options.width, options.height);
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** Sequence number the next update will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** Makes the next update a key frame: fresh deflate stream, empty cache, every tile sent. */
  reset(): void {
    this.#needKey = true;
  }

  /**
   * Changes the screen size; the next update is a key frame carrying the new size.
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when a dimension is outside 1..16384
   */
  resize(width: number, height: number): void {
    if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1 && width <= MAX_SCREEN_DIMENSION && height <= MAX_SCREEN_DIMENSION)) {
      throw new ConfigError(`screen size ${width}x${height} is outside 1..${MAX_SCREEN_DIMENSION}`);
    }
    this.#width = width;
    this.#height = height;
    this.#cols = Math.ceil(width / TILE_SIZE_PX);
    this.#rows = Math.ceil(height / TILE_SIZE_PX);
    this.#tiles = this.#cols * this.#rows;
    this.#ref = new Uint32Array(width * height);
    this.#ref8 = new Uint8Array(this.#ref.buffer);
    this.#aligned = undefined;
    this.#changed = new Uint8Array(this.#tiles);
    this.#changedList = new Int32Array(this.#tiles);
    this.#paint = new Uint8Array(this.#tiles);
    this.#lossy = new Uint8Array(this.#tiles);
    this.#lossyAge = new Uint8Array(this.#tiles);
    this.#newHash = new Uint32Array(this.#cols * height);
    this.#newUniform = new Uint8Array(this.#cols * height);
    this.#refHash = new Uint32Array(this.#cols * height);
    this.#refUniform = new Uint8Array(this.#cols * height);
    this.#needKey = true;
  }

  /**
   * Encodes `frame` against what the helper holds. Lossless mode only (the lossy modes need `encodeAsync`).
   * @param damage rectangles the capture reports as changed; tiles outside them are assumed unchanged, tiles inside are still compared
   * @returns the update, or undefined when nothing changed
   * @throws {StateError} TESSERA_ERR_BAD_STATE on a frame of the wrong size, a lossy mode, or a call while encodeAsync runs
   */
  encode(frame: Framebuffer, damage?: readonly Rect[]): EncodedUpdate | undefined {
    if (this.quality !== 'lossless') throw new StateError(`quality ${this.quality} needs encodeAsync`);
    if (this.#busy) throw new StateError('encoder is busy with encodeAsync');
    const key = this.#encodeCore(frame, damage, false);
    if (key === undefined) return undefined;
    return this.#finish(key, 0, undefined);
  }

  /**
   * Encodes `frame` in any quality mode, awaiting the image codec for lossy tiles.
   * Do not call another encode method until the promise settles.
   */
  async encodeAsync(frame: Framebuffer, damage?: readonly Rect[]): Promise<EncodedUpdate | undefined> {
    if (this.#busy) throw new StateError('encoder is busy with encodeAsync');
    const key = this.#encodeCore(frame, damage, this.quality !== 'lossless');
    if (key === undefined) return undefined;
    const jobs = this.#jobs;
    if (jobs.length === 0) return this.#finish(key, 0, undefined);
    this.#busy = true;
    try {
      const codec = this.#imageCodec!;
      const quality = LOSSY_QUALITY[this.quality as 'balanced'];
      const images = await Promise.all(jobs.map((j) => codec.encode(j.rgba, j.width, j.height, this.#lossyFormat, quality)));
      return this.#finish(key, jobs.length, images);
    } finally {
      this.#busy = false;
    }
  }

  #frameWords(frame: Framebuffer): Uint32Array {
    if (frame.width !== this.#width || frame.height !== this.#height || frame.data.length !== this.#width * this.#height * 4) {
      throw new StateError(`frame is ${frame.width}x${frame.height}, encoder is ${this.#width}x${this.#height}; call resize first`);
    }
    const data = frame.data;
    if ((data.byteOffset & 3) === 0) return new Uint32Array(data.buffer, data.byteOffset, this.#width * this.#height);
    // A misaligned buffer cannot be viewed as words; copy it once.
    this.#aligned ??= new Uint32Array(this.#width * this.#height);
    new Uint8Array(this.#aligned.buffer).set(data);
    return this.#aligned;
  }

  /** Does everything but the lossy images; returns whether the update is a key frame, or undefined if there is nothing to send. */
  #encodeCore(frame: Framebuffer, damage: readonly Rect[] | undefined, lossyAllowed: boolean): boolean | undefined {
    const cur = this.#frameWords(frame);
    const W = this.#width, H = this.#height, cols = this.#cols;
    const key = this.#needKey;
    const stats = this.#stats;
    stats.changedTiles = stats.copies = stats.solid = stats.palette = stats.indexed = stats.pixels = stats.prev = stats.cache = stats.lossy = stats.refresh = stats.rawBodyBytes = 0;
    this.#jobs = [];
    this.#rects = [];
    const changed = this.#changed;
    const changedList = this.#changedList;
    const paint = this.#paint;
    changed.fill(0);
    paint.fill(0);
    let changedCount = 0;
    this.#detector.copyCount = 0;
    this.#detector.offsetCount = 0;

    if (key) {
      changed.fill(1);
      for (let t = 0; t < this.#tiles; t++) changedList[t] = t;
      changedCount = this.#tiles;
      this.#lossy.fill(0);
    } else {
      changedCount = this.#detectChanges(cur, damage);
    }
    // Lossless refresh of lossy tiles that stayed still.
    let refreshCount = 0;
    if (this.quality !== 'lossless') {
      for (let t = 0; t < this.#tiles; t++) {
        if (this.#lossy[t] !== 1 || changed[t] === 1) continue;
        if (this.#lossyAge[t]! < 255) this.#lossyAge[t]!++;
        if (this.#lossyAge[t]! >= this.#refreshAfter && refreshCount < this.#refreshBudget) {
          paint[t] = 2;
          refreshCount++;
        }
      }
    }
    if (changedCount === 0 && refreshCount === 0) return undefined;
    stats.changedTiles = changedCount;
    stats.refresh = refreshCount;

    // Row hashes of the changed tiles (scroll detection now, the reference's hashes afterwards, cache keys).
    for (let k = 0; k < changedCount; k++) {
      const t = changedList[k]!;
      const tx = t % cols, ty = (t - tx) / cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      hashRows(cur, W, x0, y0, Math.min(TILE_SIZE_PX, W - x0), Math.min(TILE_SIZE_PX, H - y0), this.#newHash, this.#newUniform, tx * H + y0);
    }

    const detector = this.#detector;
    if (!key && changedCount >= 2 && this.#detectCopies) {
      detector.detect({
        cur, ref: this.#ref, width: W, height: H, cols, rows: this.#rows, changed, changedList, changedCount,
        newHash: this.#newHash, newUniform: this.#newUniform, refHash: this.#refHash, refUniform: this.#refUniform,
      }, this.#detectMoves);
      if (detector.copyCount > 0) {
        if (this.#copyOrder.length < detector.copyCount) {
          this.#copyOrder = new Int32Array(detector.copies.length / COPY_FIELDS);
          this.#copyPending = new Int32Array(detector.copies.length / COPY_FIELDS);
        }
        // Copies whose reads and writes form a cycle cannot be applied in place (spec/codec.md §3): drop the weaker ones.
        detector.copyCount = orderCopiesDroppingCycles(detector.copies, detector.copyCount, this.#copyOrder, this.#copyPending, MAX_COPY_CYCLE_DROPS);
      }
      if (detector.copyCount > 0) {
        if (this.quality !== 'lossless') this.#taintCopies();
        applyCopies(this.#ref, W, detector.copies, detector.copyCount, this.#copyOrder);
        stats.copies = detector.copyCount;
        for (let i = 0; i < detector.copyCount; i++) {
          const c = i * COPY_FIELDS;
          const d = detector.copies;
          this.#rects.push({ x: d[c + 2]!, y: d[c + 3]!, width: d[c + 4]!, height: d[c + 5]! });
        }
      }
    }
    for (let k = 0; k < changedCount; k++) paint[changedList[k]!] = 1;

    // Tile records.
    if (key) {
      this.#deflate.reset();
      this.#colourTable.clear();
      this.#cache?.clear();
      this.#index?.clear();
    }
    let bodyLen = 0;
    let tileCount = 0;
    let prevTile = -1;
    for (let t = 0; t < this.#tiles; t++) {
      const mark = paint[t]!;
      if (mark === 0) continue;
      const tx = t % cols, ty = (t - tx) / cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      const w = Math.min(TILE_SIZE_PX, W - x0), h = Math.min(TILE_SIZE_PX, H - y0);
      // After the copies, a tile may already be right.
      if (!key && mark === 1 && rectEqual(cur, x0, y0, this.#ref, x0, y0, W, w, h)) continue;
      if (bodyLen + MAX_TILE_RECORD_BYTES > this.#body.length) this.#growBody(bodyLen + MAX_TILE_RECORD_BYTES);
      const skipAt = bodyLen;
      bodyLen = writeVaruint(this.#body, bodyLen, t - prevTile - 1);
      const end = this.#encodeTile(cur, t, x0, y0, w, h, key, mark === 2, lossyAllowed, bodyLen);
      if (end < 0) {
        // The tile went to the lossy section instead.
        bodyLen = skipAt;
      } else {
        bodyLen = end;
        prevTile = t;
        tileCount++;
      }
      this.#pushRect(x0, y0, w, h);
      // The helper now holds this tile (or an approximation of it, tracked in #lossy).
      for (let y = 0; y < h; y++) {
        const s = (y0 + y) * W + x0;
        this.#ref.set(cur.subarray(s, s + w), s);
      }
    }
    // The reference's row hashes follow the new frame wherever it changed.
    for (let k = 0; k < changedCount; k++) {
      const t = changedList[k]!;
      const tx = t % cols, ty = (t - tx) / cols;
      const base = tx * H + ty * TILE_SIZE_PX;
      const n = Math.min(TILE_SIZE_PX, H - ty * TILE_SIZE_PX);
      this.#refHash.set(this.#newHash.subarray(base, base + n), base);
      this.#refUniform.set(this.#newUniform.subarray(base, base + n), base);
    }
    this.#needKey = false;
    stats.rawBodyBytes = bodyLen;
    this.#tileCount = tileCount;
    this.#bodyLen = bodyLen;
    return key;
  }

  #tileCount = 0;
  #bodyLen = 0;

  /** Marks tiles lossy when a copy moves lossy pixels onto them. */
  #taintCopies(): void {
    const d = this.#detector;
    const cols = this.#cols;
    for (let i = 0; i < d.copyCount; i++) {
      const c = i * COPY_FIELDS;
      const sx = d.copies[c]!, sy = d.copies[c + 1]!, dx = d.copies[c + 2]!, dy = d.copies[c + 3]!, w = d.copies[c + 4]!, h = d.copies[c + 5]!;
      let tainted = false;
      for (let ty = (sy / TILE_SIZE_PX) | 0; ty <= ((sy + h - 1) / TILE_SIZE_PX | 0) && !tainted; ty++) {
        for (let tx = (sx / TILE_SIZE_PX) | 0; tx <= ((sx + w - 1) / TILE_SIZE_PX | 0); tx++) {
          if (this.#lossy[ty * cols + tx] === 1) { tainted = true; break; }
        }
      }
      if (!tainted) continue;
      for (let ty = (dy / TILE_SIZE_PX) | 0; ty <= ((dy + h - 1) / TILE_SIZE_PX | 0); ty++) {
        for (let tx = (dx / TILE_SIZE_PX) | 0; tx <= ((dx + w - 1) / TILE_SIZE_PX | 0); tx++) {
          this.#lossy[ty * cols + tx] = 1;
          this.#lossyAge[ty * cols + tx] = 0;
        }
      }
    }
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

  #growBody(need: number): void {
    let size = this.#body.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#body);
    this.#body = next;
  }

  /** Finds changed tiles; returns their count (list in #changedList, flags in #changed). */
  #detectChanges(cur: Uint32Array, damage: readonly Rect[] | undefined): number {
    const W = this.#width, H = this.#height, cols = this.#cols, rows = this.#rows;
    const ref = this.#ref;
    const changed = this.#changed;
    const list = this.#changedList;
    let count = 0;
    if (damage === undefined) {
      // Fast path: one early-exit compare of the whole picture; tile rows above the first difference are unchanged.
      if (this.#bytesEqual !== undefined && this.#bytesEqual(new Uint8Array(cur.buffer, cur.byteOffset, W * H * 4), this.#ref8)) return 0;
      const first = firstDifference(cur, ref, W * H);
      if (first === W * H) return 0;
      const firstRow = ((first / W) | 0) >> 6;
      for (let ty = firstRow; ty < rows; ty++) {
        const y0 = ty * TILE_SIZE_PX, h = Math.min(TILE_SIZE_PX, H - y0);
        for (let tx = 0; tx < cols; tx++) {
          const x0 = tx * TILE_SIZE_PX, w = Math.min(TILE_SIZE_PX, W - x0);
          if (!rectEqual(cur, x0, y0, ref, x0, y0, W, w, h)) {
            const t = ty * cols + tx;
            changed[t] = 1;
            list[count++] = t;
          }
        }
      }
      return count;
    }
    // Damage narrows which tiles are read; every tile it touches is still compared (damage overstates change).
    const candidate = this.#paint;
    for (const r of damage) {
      const x0 = Math.max(0, Math.floor(r.x)), y0 = Math.max(0, Math.floor(r.y));
      const x1 = Math.min(W, Math.ceil(r.x + r.width)), y1 = Math.min(H, Math.ceil(r.y + r.height));
      if (!(x1 > x0 && y1 > y0)) continue;
      for (let ty = y0 >> 6; ty <= (y1 - 1) >> 6; ty++) {
        for (let tx = x0 >> 6; tx <= (x1 - 1) >> 6; tx++) candidate[ty * cols + tx] = 1;
      }
    }
    for (let t = 0; t < this.#tiles; t++) {
      if (candidate[t] !== 1) continue;
      candidate[t] = 0;
      const tx = t % cols, ty = (t - tx) / cols;
      const x0 = tx * TILE_SIZE_PX, y0 = ty * TILE_SIZE_PX;
      if (!rectEqual(cur, x0, y0, ref, x0, y0, W, Math.min(TILE_SIZE_PX, W - x0), Math.min(TILE_SIZE_PX, H - y0))) {
        changed[t] = 1;
        list[count++] = t;
      }
    }
    return count;
  }

  /** 64-bit content key of a tile from its row hashes: two 32-bit lanes. */
  #tileKey(hashes: Uint32Array, tx: number, y0: number, w: number, h: number): void {
    const base = tx * this.#height + y0;
    let lo = 0x9e3779b9 ^ (w << 8) ^ h;
    let hi = 0x85ebca6b ^ (h << 8) ^ w;
    for (let y = 0; y < h; y++) {
      const r = hashes[base + y]!;
      lo = Math.imul(lo ^ r, 0x01000193);
      hi = Math.imul((hi + r) | 0, 0x2545f491) ^ (hi >>> 15);
    }
    this.#keyLo = (lo ^ (lo >>> 16)) >>> 0;
    this.#keyHi = (hi ^ (hi >>> 13)) >>> 0;
  }

  #keyLo = 0;
  #keyHi = 0;

  /** True when the source rectangle at (x0 + dx, y0 + dy) lies in the screen and holds no lossy tile. */
  #exactSource(x0: number, y0: number, w: number, h: number, dx: number, dy: number): boolean {
    const sx = x0 + dx, sy = y0 + dy;
    if (sx < 0 || sy < 0 || sx + w > this.#width || sy + h > this.#height) return false;
    if (this.quality === 'lossless') return true;
    for (let ty = sy >> 6; ty <= (sy + h - 1) >> 6; ty++) {
      for (let tx = sx >> 6; tx <= (sx + w - 1) >> 6; tx++) if (this.#lossy[ty * this.#cols + tx] === 1) return false;
    }
    return true;
  }

  /**
   * Writes one tile record after its skip field; returns the new body length, or -1 when the tile goes lossy.
   * spec/codec.md §4.
   */
  #encodeTile(cur: Uint32Array, t: number, x0: number, y0: number, w: number, h: number, key: boolean, refresh: boolean, lossyAllowed: boolean, off: number): number {
    const W = this.#width;
    const body = this.#body;
    const pal = this.#pal;
    const stats = this.#stats;
    const n = w * h;
    const tx = t % this.#cols;
    buildPalette(cur, W, x0, y0, w, h, INDEXED_USE_LIMIT, pal);
    const colours = pal.count;
    if (colours === 1) {
      const v = pal.colours[0]!;
      const rgb = v >>> 24 === 255;
      body[off++] = ENC_SOLID | (rgb ? ENC_FLAG_RGB : 0);
      off = writeColours(pal.colours, 1, rgb, body, off);
      stats.solid++;
      this.#lossy[t] = 0;
      return off;
    }
    let opaque: boolean;
    if (colours <= INDEXED_USE_LIMIT) {
      let and = 0xff000000 | 0;
      for (let i = 0; i < colours; i++) and &= pal.colours[i]!;
      opaque = and >>> 24 === 255;
    } else {
      opaque = isOpaque(cur, W, x0, y0, w, h);
    }
    const bpp = opaque ? 3 : 4;
    const rgbFlag = opaque ? ENC_FLAG_RGB : 0;
    const cache = this.#cache;
    const index = this.#index;
    if (cache !== undefined && index !== undefined) {
      // A refresh tile did not change, so the reference's row hashes describe it.
      this.#tileKey(refresh ? this.#refHash : this.#newHash, tx, y0, w, h);
      const slot = index.find(this.#keyLo, this.#keyHi);
      if (slot >= 0 && cache.widths[slot] === w && cache.heights[slot] === h && this.#cacheMatches(cur, slot, x0, y0, w, h)) {
        body[off++] = ENC_CACHE;
        off = writeVaruint(body, off, slot);
        cache.touch(slot);
        stats.cache++;
        this.#lossy[t] = 0;
        return off;
      }
    }
    // Temporal prediction from the helper's picture: the same place, or where a scroll or move came from.
    let bestMatch = -1, bestDx = 0, bestDy = 0;
    if (!key) {
      if (this.#exactSource(x0, y0, w, h, 0, 0)) {
        bestMatch = countEqual(cur, x0, y0, this.#ref, x0, y0, W, w, h);
      }
      const det = this.#detector;
      for (let i = 0; i < det.offsetCount; i++) {
        const dx = det.offsets[i * 2]!, dy = det.offsets[i * 2 + 1]!;
        if (!this.#exactSource(x0, y0, w, h, dx, dy)) continue;
        const m = countEqual(cur, x0, y0, this.#ref, x0 + dx, y0 + dy, W, w, h);
        if (m > bestMatch) {
          bestMatch = m;
          bestDx = dx;
          bestDy = dy;
        }
      }
    }
    if (lossyAllowed && !refresh && colours > PHOTO_COLOURS && bestMatch < n / 2 && w >= 8 && h >= 8) {
      this.#queueLossy(cur, t, x0, y0, w, h);
      return -1;
    }
    const usePalette = colours <= PALETTE_USE_LIMIT;
    const bits = indexBits(colours);
    const packedBytes = h * ((w * bits + 7) >> 3);
    const rleBytes = pal.runs * 2;
    // INDEXED when the session colour table has room for the tile's new colours and runs beat packed indices
    // (or, past 256 colours, raw pixels).
    let newColours = -1;
    if (colours <= INDEXED_USE_LIMIT && rleBytes <= (usePalette ? packedBytes + colours * bpp : n * bpp)) {
      const table = this.#colourTable, remap = this.#remap;
      newColours = 0;
      for (let i = 0; i < colours; i++) {
        const k = table.find(pal.colours[i]!);
        remap[i] = k;
        if (k < 0) newColours++;
      }
      // Past 256 colours, only tiles that mostly reuse known colours (anti-aliased text, not photos that would fill the table).
      if (table.size + newColours > MAX_SESSION_COLOURS || (!usePalette && newColours * 2 > colours)) newColours = -1;
    }
    const paletteCost = newColours >= 0 ? rleBytes + newColours * bpp : usePalette ? Math.min(packedBytes, rleBytes) + colours * bpp : Infinity;
    const prevCost = bestMatch >= 0 ? (n - bestMatch) * bpp : Infinity;
    if (prevCost < paletteCost && bestMatch >= ((n * PREV_MIN_MATCH) | 0)) {
      body[off++] = ENC_PIXELS | rgbFlag;
      body[off++] = FILTER_PREV;
      body[off++] = (bestDx >> 8) & 255;
      body[off++] = bestDx & 255;
      body[off++] = (bestDy >> 8) & 255;
      body[off++] = bestDy & 255;
      off = writePrev(cur, this.#ref, W, x0, y0, w, h, bestDx, bestDy, bpp, body, off);
      stats.prev++;
    } else if (newColours >= 0) {
      const table = this.#colourTable, remap = this.#remap;
      body[off++] = ENC_INDEXED | rgbFlag;
      off = writeVaruint(body, off, newColours);
      for (let i = 0; i < colours; i++) {
        if (remap[i]! >= 0) continue;
        const v = pal.colours[i]!;
        remap[i] = table.add(v);
        body[off++] = v & 255;
        body[off++] = (v >>> 8) & 255;
        body[off++] = (v >>> 16) & 255;
        if (bpp === 4) body[off++] = v >>> 24;
      }
      off = writeIndexedRuns(pal.indices, n, remap, body, off);
      stats.indexed++;
    } else if (usePalette) {
      sortPalette(pal, n);
      body[off++] = (rleBytes < packedBytes ? ENC_PALETTE_RLE : ENC_PALETTE) | rgbFlag;
      body[off++] = colours - 1;
      off = writeColours(pal.colours, colours, opaque, body, off);
      off = rleBytes < packedBytes ? writeRuns(pal.indices, n, body, off) : packIndices(pal.indices, w, h, bits, body, off);
      stats.palette++;
    } else {
      // Only tiles that no palette or colour-table record fits get here (photographs, fine gradients): text and
      // flat tiles never pay for the range coder. Its output must be smaller than the raw pixels, else a PNG filter.
      const src8 = this.#curBytes(cur);
      const scratch = this.#medRange;
      const coded = encodeMedRange(src8, W * 4, x0, y0, w, h, bpp, n * bpp, scratch);
      body[off++] = ENC_PIXELS | rgbFlag;
      if (coded >= 0) {
        body[off++] = FILTER_MED_RANGE;
        off = writeVaruint(body, off, coded);
        body.set(scratch.out.subarray(0, coded), off);
        off += coded;
      } else {
        const filter = chooseSpatialFilter(src8, W * 4, x0, y0, w, h, bpp);
        body[off++] = filter;
        off = writeFiltered(src8, W * 4, x0, y0, w, h, bpp, filter, body, off);
      }
      stats.pixels++;
    }
    this.#lossy[t] = 0;
    if (cache !== undefined && index !== undefined) {
      const victim = cache.peekVictim();
      if (cache.has(victim)) index.remove(victim);
      const slot = cache.allocate(w, h);
      const px = cache.pixels;
      const base = slot * TILE_PIXELS;
      for (let y = 0; y < h; y++) {
        const s = (y0 + y) * W + x0;
        px.set(cur.subarray(s, s + w), base + y * w);
      }
      index.set(slot, this.#keyLo, this.#keyHi);
    }
    return off;
  }

  #cacheMatches(cur: Uint32Array, slot: number, x0: number, y0: number, w: number, h: number): boolean {
    const px = this.#cache!.pixels;
    const W = this.#width;
    let j = slot * TILE_PIXELS;
    for (let y = 0; y < h; y++) {
      let i = (y0 + y) * W + x0;
      const end = i + w;
      for (; i < end; i++, j++) if (cur[i] !== px[j]) return false;
    }
    return true;
  }

  #curBytes(cur: Uint32Array): Uint8Array {
    return new Uint8Array(cur.buffer, cur.byteOffset, cur.length * 4);
  }

  #queueLossy(cur: Uint32Array, t: number, x0: number, y0: number, w: number, h: number): void {
    const rgba = new Uint8Array(w * h * 4);
    const words = new Uint32Array(rgba.buffer);
    for (let y = 0; y < h; y++) {
      const s = (y0 + y) * this.#width + x0;
      words.set(cur.subarray(s, s + w), y * w);
    }
    this.#jobs.push({ tile: t, width: w, height: h, rgba });
    this.#lossy[t] = 1;
    this.#lossyAge[t] = 0;
    this.#stats.lossy++;
  }

  /** Writes the update: header, copies, deflated tile records, lossy section. spec/codec.md §2. */
  #finish(key: boolean, lossyCount: number, images: Uint8Array[] | undefined): EncodedUpdate {
    const out = this.#out.reset();
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) >>> 0;
    out.u8(CODEC_VERSION).u8(key ? FLAG_KEY : 0).u32(seq).u16(this.#width).u16(this.#height);
    if (key) out.u16(this.cacheTiles);
    const det = this.#detector;
    out.varuint(det.copyCount);
    for (let i = 0; i < det.copyCount * COPY_FIELDS; i++) out.u16(det.copies[i]!);
    out.varuint(this.#tileCount);
    if (this.#tileCount > 0) {
      const compressed = this.#deflate.deflateSync(this.#body.subarray(0, this.#bodyLen));
      out.varuint(this.#bodyLen).varuint(compressed.length).bytes(compressed);
    } else {
      out.varuint(0).varuint(0);
    }
    out.varuint(lossyCount);
    const format = this.#lossyFormat === 'webp' ? LOSSY_WEBP : LOSSY_JPEG;
    for (let i = 0; i < lossyCount; i++) {
      const job = this.#jobs[i]!;
      const img = images![i]!;
      out.varuint(job.tile).u8(format).varuint(img.length).bytes(img);
    }
    this.#jobs = [];
    return { bytes: out.viewShared(), seq, keyFrame: key, rects: this.#rects, stats: { ...this.#stats } };
  }
}

/** Writes an unsigned LEB128 varint into `buf` at `off`; returns the new offset. */
function writeVaruint(buf: Uint8Array, off: number, v: number): number {
  while (v >= 0x80) {
    buf[off++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[off++] = v;
  return off;
}
