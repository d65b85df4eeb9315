/**
 * X11Screen: a {@link ScreenSource} that shares the root window of a real X display, through the pure-JS `x11`
 * package (no native code).
 *
 * - Pixels come from GetImage of the root window, through MIT-SHM where a shared segment works (a local
 *   connection to a server with SHM 1.2), otherwise in the reply of the core request.
 * - With the DAMAGE and XFIXES extensions, a damage object on the root window (report level NonEmpty) tells when
 *   something changed; each capture takes the damaged region atomically (DamageSubtract into an XFIXES region,
 *   then FetchRegion) and re-reads only those rectangles into a persistent RGBA framebuffer, reported as `damage`.
 *   Without them the source is polled: each capture reads the whole screen and reports no damage.
 * - Screen size changes arrive as RandR ScreenChangeNotify events (or, without RandR, from the root geometry);
 *   `onResize` listeners hear of them and the next capture is a full one at the new size.
 * - With XFIXES (and without `drawCursor`), the pointer goes to helpers on its own channel (spec/session.md §6.9):
 *   `readCursor` gives its position (QueryPointer) and shape (XFixesGetCursorImage, fetched again only after a
 *   CursorNotify, XFixesSelectCursorInput on the root), and `onCursor` listeners hear of shape changes at once and of
 *   moves from a QueryPointer poll (every 33 ms while someone listens). The capture has no cursor in it (as `xwd` and
 *   the other X capture tools), unless the `drawCursor` option composites it in. {@link X11Screen.cursor} holds the
 *   pointer as of the last capture.
 */
import { ConfigError, ErrorCode, TesseraError } from '../../core/index.js';
import type { Framebuffer, Rect } from '../../codec/framebuffer.js';
import { MAX_SCREEN_DIMENSION } from '../../codec/framebuffer.js';
import type { Capture, CursorListener, CursorShape, CursorState as PointerState, DamageListener, ResizeListener, ScreenSource, Unsubscribe } from '../types.js';
import { CURSOR_POLL_MS } from '../../core/defaults.js';
import { MAX_CURSOR_SIZE_PX } from '../../session/cursor.js';
import { X11Connection, type RawEvent, type RawExtension } from './x11-connection.js';
import { PixelConverter, bytesPerLine, type PixelFormat } from './pixels.js';

/** Options of {@link X11Screen.open}. */
export interface X11ScreenOptions {
  /** X display name such as ':0' (default: the DISPLAY environment variable). */
  readonly display?: string;
  /** Use MIT-SHM for large reads where it works (default true). */
  readonly shm?: boolean;
  /** Use the DAMAGE extension where present (default true); false polls full captures. */
  readonly damage?: boolean;
  /** Composite the cursor image into captured frames (default false: frames match `xwd`, which has no cursor). */
  readonly drawCursor?: boolean;
  /** With `drawCursor`, how often the pointer position is polled for movement (default 33 ms). */
  readonly pointerPollMs?: number;
  /** Past this many damaged rectangles, one capture reads their bounding box instead (default 32). */
  readonly maxDamageRects?: number;
  /** Connection deadline (default 5 s). */
  readonly timeoutMs?: number;
}

/** The cursor image, RGBA (straight alpha), with its hotspot. */
export interface CursorImage {
  readonly width: number;
  readonly height: number;
  readonly xhot: number;
  readonly yhot: number;
  /** Server cursor serial: changes when the cursor shape changes. */
  readonly serial: number;
  readonly data: Uint8Array;
}

/** The pointer as of the last capture: position in screen pixels and, with XFIXES, the cursor image. */
export interface CursorState {
  readonly x: number;
  readonly y: number;
  readonly image?: CursorImage | undefined;
}

/** How a capture reads pixels. */
export type X11CaptureMethod = 'shm' | 'getimage';

// Rectangles this large or larger are read through shared memory when it works; smaller ones are cheaper in a reply.
const SHM_MIN_PIXELS = 128 * 128;
// X TrueColor and DirectColor visual classes.
const VISUAL_TRUE_COLOR = 4;
const VISUAL_DIRECT_COLOR = 5;
const Z_PIXMAP = 2;
const ALL_PLANES = 0xffffffff;
// DAMAGE report level: one event when the damage region becomes non-empty.
const DAMAGE_REPORT_NON_EMPTY = 3;

interface ShmSegment {
  readonly size: number;
  readonly buffer: Buffer;
  getImage(drawable: number, x: number, y: number, w: number, h: number, planeMask: number, format: number, offset: number, cb: (err: unknown, rep: { size: number }) => void): void;
  detach(cb?: () => void): void;
}

/** A real X display as a tessera screen source. */
export class X11Screen implements ScreenSource {
  readonly #conn: X11Connection;
  readonly #root: number;
  readonly #converter: PixelConverter;
  readonly #options: X11ScreenOptions;
  readonly #maxDamageRects: number;
  #width: number;
  #height: number;
  /** What the screen shows, patched in place by each capture. */
  #clean: Framebuffer;
  /** With drawCursor, `#clean` plus the cursor; otherwise the same object as `#clean`. */
  #frame: Framebuffer;
  #shmExt: RawExtension | undefined;
  #segment: ShmSegment | undefined;
  #damageExt: RawExtension | undefined;
  #fixes: RawExtension | undefined;
  #damageId = 0;
  #regionId = 0;
  #randr = false;
  #fullNext = true;
  #notified = false;
  #closed = false;
  #captureChain: Promise<unknown> = Promise.resolve();
  #geometryCheck: Promise<void> | undefined;
  #cursor: CursorState = { x: 0, y: 0 };
  #cursorSerial = -1;
  #cursorStale = true;
  #drawnCursor: Rect | undefined;
  #pointerTimer: NodeJS.Timeout | undefined;
  #lastMethod: X11CaptureMethod = 'getimage';
  readonly #damageListeners = new Set<DamageListener>();
  readonly #resizeListeners = new Set<ResizeListener>();
  readonly #cursorListeners = new Set<CursorListener>();
  #cursorPoll: NodeJS.Timeout | undefined;
  #shape: CursorShape | undefined;
  #unlisten: (() => void) | undefined;

  /**
   * Present when the server has DAMAGE and XFIXES (and the `damage` option is not false): tells `listener` when
   * the screen changed since the last capture. Absent otherwise, so tessera polls this source at its frame rate.
   */
  readonly onDamage?: (listener: DamageListener) => Unsubscribe;
  /** Present with XFIXES and without `drawCursor`: the pointer now, for the cursor channel (spec/session.md §6.9). */
  readonly readCursor?: () => Promise<PointerState>;
  /** Present with `readCursor`: tells `listener` when the pointer moved (polled) or changed shape (CursorNotify). */
  readonly onCursor?: (listener: CursorListener) => Unsubscribe;

  private constructor(conn: X11Connection, converter: PixelConverter, width: number, height: number, options: X11ScreenOptions, exts: { shm?: RawExtension; segment?: ShmSegment; damage?: RawExtension; fixes?: RawExtension; randr: boolean }) {
    this.#conn = conn;
    this.#root = conn.screen.root;
    this.#converter = converter;
    this.#options = options;
    this.#maxDamageRects = options.maxDamageRects ?? 32;
    this.#width = width;
    this.#height = height;
    this.#clean = allocate(width, height);
    this.#frame = options.drawCursor ? allocate(width, height) : this.#clean;
    this.#shmExt = exts.shm;
    this.#segment = exts.segment;
    this.#fixes = exts.fixes;
    this.#randr = exts.randr;
    if (exts.damage && exts.fixes) {
      this.#damageExt = exts.damage;
      this.#damageId = conn.allocId();
      this.#regionId = conn.allocId();
      conn.send(exts.fixes, 'CreateRegion', this.#regionId, []);
      conn.send(exts.damage, 'Create', this.#damageId, this.#root, DAMAGE_REPORT_NON_EMPTY);
      this.onDamage = (listener) => {
        this.#damageListeners.add(listener);
        return () => void this.#damageListeners.delete(listener);
      };
    }
    if (exts.fixes) {
      // CursorNotify tells when the cursor shape changes, so the image is fetched only then.
      conn.send(exts.fixes, 'SelectCursorInput', this.#root, 1);
      if (!options.drawCursor) {
        this.readCursor = () => this.#readCursor();
        this.onCursor = (listener) => {
          this.#cursorListeners.add(listener);
          if (!this.#cursorPoll && !this.#closed) {
            this.#cursorPoll = setInterval(() => void this.#pollCursor(), Math.max(5, options.pointerPollMs ?? CURSOR_POLL_MS));
            this.#cursorPoll.unref();
          }
          return () => {
            this.#cursorListeners.delete(listener);
            if (this.#cursorListeners.size === 0 && this.#cursorPoll) {
              clearInterval(this.#cursorPoll);
              this.#cursorPoll = undefined;
            }
          };
        };
      }
    }
    this.#unlisten = conn.onEvent((event) => this.#onEvent(event));
    if (options.drawCursor) {
      const every = Math.max(5, options.pointerPollMs ?? 33);
      this.#pointerTimer = setInterval(() => void this.#pollPointer(), every);
      this.#pointerTimer.unref();
    }
  }

  /**
   * Connects to an X display and prepares capture (shared memory, damage tracking, RandR and cursor events).
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG without a display name and DISPLAY, or for a screen that is not
   *   TrueColor/DirectColor at 16, 24 or 32 bits per pixel
   * @throws {TesseraError} TESSERA_ERR_IO when the display cannot be reached
   */
  static async open(options: X11ScreenOptions = {}): Promise<X11Screen> {
    const conn = await X11Connection.open({ display: options.display, shm: options.shm, timeoutMs: options.timeoutMs });
    try {
      const screen = conn.screen;
      const depth = screen.root_depth;
      const visual = screen.depths[String(depth)]?.[String(screen.root_visual)];
      const pixmapFormat = conn.setup.format[String(depth)];
      if (!visual || !pixmapFormat) throw new ConfigError(`x11: display ${conn.displayName} has no pixmap format for its root depth ${depth}`);
      if (visual.class !== VISUAL_TRUE_COLOR && visual.class !== VISUAL_DIRECT_COLOR) {
        throw new ConfigError(`x11: display ${conn.displayName} uses a colormapped visual (class ${visual.class}); only TrueColor is supported`);
      }
      const format: PixelFormat = {
        bitsPerPixel: pixmapFormat.bits_per_pixel,
        scanlinePad: pixmapFormat.scanline_pad,
        imageByteOrder: conn.setup.image_byte_order,
        redMask: visual.red_mask,
        greenMask: visual.green_mask,
        blueMask: visual.blue_mask,
      };
      const converter = new PixelConverter(format);
      const geometry = await conn.call<{ width: number; height: number }>(conn.X, 'GetGeometry', screen.root);
      checkSize(geometry.width, geometry.height);
      const [shm, damage, fixes, randr] = await Promise.all([
        options.shm === false || !conn.setup.isLocalSocket ? undefined : conn.extension('shm'),
        options.damage === false ? undefined : conn.extension('damage'),
        conn.extension('fixes'),
        conn.extension('randr'),
      ]);
      let segment: ShmSegment | undefined;
      if (shm) segment = await createSegment(shm, bytesPerLine(format, geometry.width) * geometry.height);
      if (randr) {
        // Announce the version we speak (1.2) before selecting events; RandR tailors its replies to it.
        await conn.call(randr, 'QueryVersion', 1, 2).catch(() => undefined);
        conn.send(randr, 'SelectInput', screen.root, randr.NotifyMask?.ScreenChange ?? 1);
      }
      const source = new X11Screen(conn, converter, geometry.width, geometry.height, options, {
        ...(shm && segment ? { shm, segment } : {}),
        ...(damage ? { damage } : {}),
        ...(fixes ? { fixes } : {}),
        randr: randr !== undefined,
      });
      await conn.sync();
      return source;
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** The display this source captures, e.g. ':0'. */
  get display(): string {
    return this.#conn.displayName;
  }

  /** True when captures are driven by the DAMAGE extension (only damaged rectangles are re-read). */
  get damageTracking(): boolean {
    return this.#damageExt !== undefined;
  }

  /** True when large reads go through MIT-SHM. */
  get sharedMemory(): boolean {
    return this.#segment !== undefined;
  }

  /** How the last capture read its largest rectangle. */
  get lastCaptureMethod(): X11CaptureMethod {
    return this.#lastMethod;
  }

  /**
   * The pointer as of the last capture: position in screen pixels and, when XFIXES is present, the cursor image.
   * The cursor channel uses `readCursor` instead (fresh at each call); this is what the last capture saw.
   */
  get cursor(): CursorState {
    return this.#cursor;
  }

  /**
   * Reads what changed (or everything, the first time, after a resize and without DAMAGE) into the framebuffer.
   * The returned framebuffer is this source's own and is patched in place by the next capture.
   * @throws {TesseraError} TESSERA_ERR_IO when the X connection fails, TESSERA_ERR_CLOSED after close()
   */
  capture(): Promise<Capture> {
    const run = this.#captureChain.then(() => this.#capture());
    this.#captureChain = run.catch(() => undefined);
    return run;
  }

  onResize(listener: ResizeListener): Unsubscribe {
    this.#resizeListeners.add(listener);
    return () => void this.#resizeListeners.delete(listener);
  }

  /** Closes the X connection (the damage object, region and shared segment go with it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pointerTimer) clearInterval(this.#pointerTimer);
    if (this.#cursorPoll) clearInterval(this.#cursorPoll);
    this.#cursorListeners.clear();
    this.#unlisten?.();
    this.#damageListeners.clear();
    this.#resizeListeners.clear();
    await this.#captureChain;
    if (!this.#conn.closed) {
      try {
        if (this.#damageExt) this.#conn.send(this.#damageExt, 'Destroy', this.#damageId);
        if (this.#fixes && this.#regionId) this.#conn.send(this.#fixes, 'DestroyRegion', this.#regionId);
        this.#segment?.detach();
      } catch {
        // The connection is going away anyway.
      }
    }
    this.#segment = undefined;
    await this.#conn.close();
  }

  async #capture(): Promise<Capture> {
    if (this.#closed) throw new TesseraError(ErrorCode.Closed, 'x11: the screen source is closed');
    this.#conn.checkOpen();
    this.#notified = false;
    if (this.#geometryCheck) await this.#geometryCheck;
    if (!this.#damageExt && !this.#randr) await this.#checkGeometry();
    const width = this.#width;
    const height = this.#height;
    let rects: Rect[];
    const full = this.#fullNext;
    this.#fullNext = false;
    if (this.#damageExt) {
      // Take the damage region atomically: what changes after this point is damage for the next capture, and the
      // pixels read below are at least as new as this region, so nothing is ever missed.
      this.#conn.send(this.#damageExt, 'Subtract', this.#damageId, 0, this.#regionId);
      const region = await this.#conn.call<{ rectangles: Rect[] }>(this.#fixes, 'FetchRegion', this.#regionId);
      rects = full ? [{ x: 0, y: 0, width, height }] : clipRects(region.rectangles, width, height);
      if (rects.length > this.#maxDamageRects) rects = [boundingBox(rects)];
    } else {
      rects = [{ x: 0, y: 0, width, height }];
    }
    const pointer = this.#queryPointer();
    await this.#read(rects);
    await pointer;
    if (this.#cursorStale && this.#fixes) await this.#fetchCursorImage();
    let damage: Rect[] = rects;
    if (this.#options.drawCursor) damage = this.#compose(rects);
    // Without damage tracking the source does not know what changed; the consumer compares frames itself.
    return this.#damageExt ? { frame: this.#frame, damage } : { frame: this.#frame };
  }

  /** Reads rectangles of the root window into the clean framebuffer, pipelined. */
  async #read(rects: readonly Rect[]): Promise<void> {
    if (rects.length === 0) return;
    const reads: Promise<void>[] = [];
    let shmOffset = 0;
    let method: X11CaptureMethod = 'getimage';
    let largest = 0;
    for (const rect of rects) {
      const pixels = rect.width * rect.height;
      const bytes = bytesPerLine(this.#converter.format, rect.width) * rect.height;
      const segment = this.#segment;
      const useShm = segment !== undefined && pixels >= SHM_MIN_PIXELS && shmOffset + bytes <= segment.size;
      if (pixels > largest) {
        largest = pixels;
        method = useShm ? 'shm' : 'getimage';
      }
      if (useShm) {
        const offset = shmOffset;
        shmOffset += bytes;
        reads.push(this.#readShm(segment, rect, offset, bytes));
      } else {
        reads.push(
          this.#conn.call<{ data: Buffer }>(this.#conn.X, 'GetImage', Z_PIXMAP, this.#root, rect.x, rect.y, rect.width, rect.height, ALL_PLANES).then((reply) => {
            this.#converter.convert(reply.data, rect.width, rect.height, this.#clean, rect.x, rect.y);
          }),
        );
      }
    }
    this.#lastMethod = method;
    await Promise.all(reads);
  }

  #readShm(segment: ShmSegment, rect: Rect, offset: number, bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      segment.getImage(this.#root, rect.x, rect.y, rect.width, rect.height, ALL_PLANES, Z_PIXMAP, offset, (err) => {
        if (err) {
          reject(new TesseraError(ErrorCode.Io, `x11: shared-memory GetImage failed: ${String((err as Error).message ?? err)}`, { cause: err }));
          return;
        }
        try {
          this.#converter.convert(segment.buffer.subarray(offset, offset + bytes), rect.width, rect.height, this.#clean, rect.x, rect.y);
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  async #queryPointer(): Promise<void> {
    const p = await this.#conn.call<{ rootX: number; rootY: number }>(this.#conn.X, 'QueryPointer', this.#root);
    this.#cursor = { x: p.rootX, y: p.rootY, image: this.#cursor.image };
  }

  async #fetchCursorImage(): Promise<void> {
    this.#cursorStale = false;
    try {
      const img = await this.#conn.call<{ width: number; height: number; xhot: number; yhot: number; cursorSerial: number; cursorImage: Buffer }>(this.#fixes, 'GetCursorImage');
      if (img.cursorSerial === this.#cursorSerial && this.#cursor.image) return;
      this.#cursorSerial = img.cursorSerial;
      this.#cursor = { x: this.#cursor.x, y: this.#cursor.y, image: cursorToRgba(img) };
    } catch {
      // A missing cursor image is not worth failing a capture for.
    }
  }

  /** Copies the damaged areas and the old and new cursor areas to the output frame and draws the cursor. */
  #compose(rects: Rect[]): Rect[] {
    const out = this.#frame;
    const clean = this.#clean;
    const damage = [...rects];
    const old = this.#drawnCursor;
    const image = this.#cursor.image;
    const now = image ? clipRect({ x: this.#cursor.x - image.xhot, y: this.#cursor.y - image.yhot, width: image.width, height: image.height }, this.#width, this.#height) : undefined;
    const moved = !sameRect(old, now);
    if (old && moved) damage.push(old);
    if (now && moved) damage.push(now);
    for (const r of damage) copyRect(clean, out, r);
    if (now && image) {
      drawCursor(out, image, this.#cursor.x - image.xhot, this.#cursor.y - image.yhot, now);
      if (!moved && intersectsAny(now, rects)) damage.push(now);
    }
    this.#drawnCursor = now;
    return damage;
  }

  /** The pointer now: its position and, fetched again only after a CursorNotify, its shape. */
  async #readCursor(): Promise<PointerState> {
    await this.#queryPointer();
    if ((this.#cursorStale || !this.#cursor.image) && this.#fixes) await this.#fetchCursorImage();
    const image = this.#cursor.image;
    if (image && this.#shape?.id !== shapeId(image.serial)) this.#shape = cursorShape(image);
    return { x: this.#cursor.x, y: this.#cursor.y, visible: image !== undefined, shape: image ? this.#shape : undefined };
  }

  async #pollCursor(): Promise<void> {
    if (this.#closed || this.#conn.closed) return;
    try {
      const p = await this.#conn.call<{ rootX: number; rootY: number }>(this.#conn.X, 'QueryPointer', this.#root);
      if (p.rootX !== this.#cursor.x || p.rootY !== this.#cursor.y) {
        this.#cursor = { x: p.rootX, y: p.rootY, image: this.#cursor.image };
        this.#notifyCursor();
      }
    } catch {
      // The next capture reports a lost connection.
    }
  }

  #notifyCursor(): void {
    for (const listener of [...this.#cursorListeners]) listener();
  }

  async #pollPointer(): Promise<void> {
    if (this.#closed || this.#conn.closed) return;
    try {
      const p = await this.#conn.call<{ rootX: number; rootY: number }>(this.#conn.X, 'QueryPointer', this.#root);
      if (p.rootX !== this.#cursor.x || p.rootY !== this.#cursor.y) this.#notify();
    } catch {
      // The next capture reports a lost connection.
    }
  }

  #onEvent(event: RawEvent): void {
    if (this.#closed) return;
    switch (event.name) {
      case 'DamageNotify': {
        const geometry = event['geometry'] as { w: number; h: number } | undefined;
        if (!this.#randr && geometry && (geometry.w !== this.#width || geometry.h !== this.#height)) this.#scheduleGeometryCheck();
        this.#notify();
        return;
      }
      case 'RRScreenChangeNotify':
        this.#scheduleGeometryCheck();
        return;
      case 'CursorNotify':
        this.#cursorStale = true;
        if (this.#options.drawCursor) this.#notify();
        this.#notifyCursor();
        return;
    }
  }

  #notify(): void {
    // Latch only once somebody heard it: a listener added after an unheard notification must still hear the next.
    if (this.#notified || this.#damageListeners.size === 0) return;
    this.#notified = true;
    for (const listener of [...this.#damageListeners]) listener();
  }

  #scheduleGeometryCheck(): void {
    if (this.#geometryCheck) return;
    this.#geometryCheck = this.#checkGeometry()
      .catch(() => undefined)
      .finally(() => {
        this.#geometryCheck = undefined;
      });
  }

  /** Re-reads the root window size; on a change, reallocates and tells the resize listeners. */
  async #checkGeometry(): Promise<void> {
    const g = await this.#conn.call<{ width: number; height: number }>(this.#conn.X, 'GetGeometry', this.#root);
    if (g.width === this.#width && g.height === this.#height) return;
    checkSize(g.width, g.height);
    this.#width = g.width;
    this.#height = g.height;
    this.#clean = allocate(g.width, g.height);
    this.#frame = this.#options.drawCursor ? allocate(g.width, g.height) : this.#clean;
    this.#drawnCursor = undefined;
    this.#fullNext = true;
    const bytes = bytesPerLine(this.#converter.format, g.width) * g.height;
    if (this.#segment && this.#segment.size < bytes && this.#shmExt) {
      this.#segment.detach();
      this.#segment = await createSegment(this.#shmExt, bytes);
    }
    for (const listener of [...this.#resizeListeners]) listener(g.width, g.height);
    this.#notified = false;
    this.#notify();
  }
}

async function createSegment(shm: RawExtension, size: number): Promise<ShmSegment | undefined> {
  const usable = await new Promise<boolean>((resolve) => {
    try {
      shm.usable((_err: unknown, ok: boolean) => resolve(ok === true));
    } catch {
      resolve(false);
    }
  });
  if (!usable) return undefined;
  return new Promise<ShmSegment | undefined>((resolve) => {
    try {
      shm.createSegment(size, (err: unknown, seg: ShmSegment) => resolve(err ? undefined : seg));
    } catch {
      resolve(undefined);
    }
  });
}

function allocate(width: number, height: number): Framebuffer {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

function checkSize(width: number, height: number): void {
  if (!(width >= 1 && height >= 1 && width <= MAX_SCREEN_DIMENSION && height <= MAX_SCREEN_DIMENSION)) {
    throw new TesseraError(ErrorCode.LimitExceeded, `x11: screen size ${width}x${height} is outside 1x1..${MAX_SCREEN_DIMENSION}x${MAX_SCREEN_DIMENSION}`);
  }
}

function clipRect(r: Rect, width: number, height: number): Rect | undefined {
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(width, r.x + r.width);
  const y1 = Math.min(height, r.y + r.height);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : undefined;
}

function clipRects(rects: readonly Rect[], width: number, height: number): Rect[] {
  const out: Rect[] = [];
  for (const r of rects) {
    const c = clipRect(r, width, height);
    if (c) out.push(c);
  }
  return out;
}

function boundingBox(rects: readonly Rect[]): Rect {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.width);
    y1 = Math.max(y1, r.y + r.height);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function sameRect(a: Rect | undefined, b: Rect | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

function intersectsAny(r: Rect, rects: readonly Rect[]): boolean {
  for (const o of rects) {
    if (r.x < o.x + o.width && o.x < r.x + r.width && r.y < o.y + o.height && o.y < r.y + r.height) return true;
  }
  return false;
}

function copyRect(src: Framebuffer, dst: Framebuffer, r: Rect): void {
  for (let y = r.y; y < r.y + r.height; y++) {
    const start = (y * src.width + r.x) * 4;
    dst.data.set(src.data.subarray(start, start + r.width * 4), start);
  }
}

/** XFIXES cursor images are premultiplied ARGB32 words; tessera uses straight-alpha RGBA. */
function cursorToRgba(img: { width: number; height: number; xhot: number; yhot: number; cursorSerial: number; cursorImage: Buffer }): CursorImage {
  const count = img.width * img.height;
  const data = new Uint8Array(count * 4);
  for (let i = 0; i < count && i * 4 + 3 < img.cursorImage.byteLength; i++) {
    const argb = img.cursorImage.readUInt32LE(i * 4);
    const a = argb >>> 24;
    const unpremultiply = (c: number) => (a === 0 ? 0 : Math.min(255, Math.round((c * 255) / a)));
    data[i * 4] = unpremultiply((argb >>> 16) & 0xff);
    data[i * 4 + 1] = unpremultiply((argb >>> 8) & 0xff);
    data[i * 4 + 2] = unpremultiply(argb & 0xff);
    data[i * 4 + 3] = a;
  }
  return { width: img.width, height: img.height, xhot: img.xhot, yhot: img.yhot, serial: img.cursorSerial, data };
}

/** The channel's shape id for a cursor serial (0 is not an id). */
function shapeId(serial: number): number {
  return serial >>> 0 || 0xffffffff;
}

/** A cursor image as the channel's shape: cropped to 256x256 (the channel's cap), the hotspot kept inside. */
function cursorShape(image: CursorImage): CursorShape {
  const width = Math.max(1, Math.min(MAX_CURSOR_SIZE_PX, image.width));
  const height = Math.max(1, Math.min(MAX_CURSOR_SIZE_PX, image.height));
  const rgba = new Uint8Array(width * height * 4);
  if (image.width > 0) {
    for (let y = 0; y < Math.min(height, image.height); y++) rgba.set(image.data.subarray(y * image.width * 4, (y * image.width + width) * 4), y * width * 4);
  }
  const hotX = Math.max(0, Math.min(width - 1, image.xhot));
  const hotY = Math.max(0, Math.min(height - 1, image.yhot));
  return { id: shapeId(image.serial), width, height, hotX, hotY, rgba };
}

/** Alpha-blends the cursor image, placed at (left, top), into `fb` within `clip`. */
function drawCursor(fb: Framebuffer, image: CursorImage, left: number, top: number, clip: Rect): void {
  for (let y = clip.y; y < clip.y + clip.height; y++) {
    for (let x = clip.x; x < clip.x + clip.width; x++) {
      const s = ((y - top) * image.width + (x - left)) * 4;
      const a = image.data[s + 3]!;
      if (a === 0) continue;
      const d = (y * fb.width + x) * 4;
      for (let c = 0; c < 3; c++) fb.data[d + c] = Math.round((image.data[s + c]! * a + fb.data[d + c]! * (255 - a)) / 255);
    }
  }
}
