/**
 * The pointer's channel (channel 6, host → helper, once the `cursor` feature is on): spec/session.md §6.9.
 *
 * Two messages, each one frame's payload, big-endian:
 * - POSITION (type 1): where the pointer's hotspot is, whether it is shown, and which shape it has (an id the
 *   helper holds, or 0 for none);
 * - SHAPE (type 2): a shape's id, size (1..256 each way), hotspot and straight-alpha RGBA pixels.
 *
 * Both sides keep the shapes in a {@link CursorCache} with the same bounded least-recently-used rule, so the host
 * knows at every moment which ids the helper still holds: a shape crosses once while it stays in the cache, and
 * again only after the rule evicted it. Every decoder here is bounded and total: hostile bytes give a
 * ProtocolError with a code.
 */
import { ByteReader, ErrorCode, ProtocolError } from '../core/index.js';

/** Message types, the first byte of a Cursor payload. spec/session.md §6.9 */
export const CursorMessageType = {
  Position: 1,
  Shape: 2,
} as const;

/** POSITION: type 1, x 2, y 2, flags 1, shapeId 4. */
export const CURSOR_POSITION_BYTES = 10;
/** SHAPE before its pixels: type 1, shapeId 4, width 2, height 2, hotX 2, hotY 2. */
export const CURSOR_SHAPE_HEADER_BYTES = 13;
/** Largest shape, each way, in pixels. */
export const MAX_CURSOR_SIZE_PX = 256;
/** Most shapes a cache holds. */
export const CURSOR_CACHE_MAX_SHAPES = 64;
/** Most RGBA bytes a cache holds (4 MiB: sixteen 256x256 shapes, or a thousand 32x32). */
export const CURSOR_CACHE_MAX_BYTES = 4 * 1024 * 1024;
/** POSITION flags bit 0: the pointer is shown. Other bits are reserved and must be 0. */
const FLAG_VISIBLE = 1;

/** A pointer shape: straight-alpha RGBA, `width` x `height`, rows packed, with the hotspot inside it. */
export interface CursorShape {
  /** The host's id for this shape, 1..2^32−1; the same id always names the same pixels while both sides hold it. */
  readonly id: number;
  readonly width: number;
  readonly height: number;
  readonly hotX: number;
  readonly hotY: number;
  /** width * height * 4 bytes. */
  readonly rgba: Uint8Array;
}

/** Where the pointer is and how it looks. */
export interface CursorState {
  /** The hotspot's position in screen pixels. */
  readonly x: number;
  readonly y: number;
  /** False while the host hides its pointer (or has none to show). */
  readonly visible: boolean;
  /** The shape, when the host has one. */
  readonly shape?: CursorShape | undefined;
}

/** A decoded Cursor payload. */
export type CursorMessage =
  | { readonly type: 'position'; readonly x: number; readonly y: number; readonly visible: boolean; readonly shapeId: number }
  | { readonly type: 'shape'; readonly shape: CursorShape };

/** Encodes a POSITION message. spec/session.md §6.9.1 */
export function encodeCursorPosition(x: number, y: number, visible: boolean, shapeId: number): Uint8Array {
  const out = new Uint8Array(CURSOR_POSITION_BYTES);
  const view = new DataView(out.buffer);
  out[0] = CursorMessageType.Position;
  view.setUint16(1, clampU16(x));
  view.setUint16(3, clampU16(y));
  out[5] = visible ? FLAG_VISIBLE : 0;
  view.setUint32(6, shapeId >>> 0);
  return out;
}

/**
 * Encodes a SHAPE message. spec/session.md §6.9.2
 * @throws {ProtocolError} TESSERA_ERR_INVALID_FIELD / TESSERA_ERR_LIMIT_EXCEEDED for a shape this encoder's own decoder would refuse
 */
export function encodeCursorShape(shape: CursorShape): Uint8Array {
  checkShape(shape.id, shape.width, shape.height, shape.hotX, shape.hotY, 'cursor-shape');
  const pixels = shape.width * shape.height * 4;
  if (shape.rgba.byteLength !== pixels) {
    throw new ProtocolError(ErrorCode.InvalidField, `a ${shape.width}x${shape.height} cursor shape needs ${pixels} RGBA bytes, not ${shape.rgba.byteLength}`, {
      context: 'cursor-shape',
      field: 'rgba',
      expected: pixels,
      received: shape.rgba.byteLength,
    });
  }
  const out = new Uint8Array(CURSOR_SHAPE_HEADER_BYTES + pixels);
  const view = new DataView(out.buffer);
  out[0] = CursorMessageType.Shape;
  view.setUint32(1, shape.id);
  view.setUint16(5, shape.width);
  view.setUint16(7, shape.height);
  view.setUint16(9, shape.hotX);
  view.setUint16(11, shape.hotY);
  out.set(shape.rgba, CURSOR_SHAPE_HEADER_BYTES);
  return out;
}

/**
 * Decodes one Cursor payload. The shape's pixels are copied (the payload may be reused by the caller).
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED (short payload), TESSERA_ERR_TRAILING_BYTES (bytes after the message),
 *   TESSERA_ERR_INVALID_FIELD (unknown type, reserved flags, shape id 0, hotspot outside the shape, size 0),
 *   TESSERA_ERR_LIMIT_EXCEEDED (a shape over 256 pixels either way)
 */
export function decodeCursorMessage(payload: Uint8Array): CursorMessage {
  const r = new ByteReader(payload, 'cursor');
  const type = r.u8('type');
  if (type === CursorMessageType.Position) {
    const x = r.u16('x');
    const y = r.u16('y');
    const flags = r.u8('flags');
    const shapeId = r.u32('shapeId');
    r.end();
    if ((flags & ~FLAG_VISIBLE) !== 0) {
      throw new ProtocolError(ErrorCode.InvalidField, `cursor position flags 0x${flags.toString(16)} set reserved bits`, { context: 'cursor-position', field: 'flags', received: flags });
    }
    return { type: 'position', x, y, visible: (flags & FLAG_VISIBLE) !== 0, shapeId };
  }
  if (type === CursorMessageType.Shape) {
    const id = r.u32('shapeId');
    const width = r.u16('width');
    const height = r.u16('height');
    const hotX = r.u16('hotX');
    const hotY = r.u16('hotY');
    checkShape(id, width, height, hotX, hotY, 'cursor-shape');
    // Bounded before anything is allocated: at most 256 * 256 * 4 bytes.
    const rgba = r.bytesCopy(width * height * 4, 'rgba');
    r.end();
    return { type: 'shape', shape: { id, width, height, hotX, hotY, rgba } };
  }
  throw new ProtocolError(ErrorCode.InvalidField, `unknown cursor message type ${type}`, { context: 'cursor', field: 'type', received: type });
}

function checkShape(id: number, width: number, height: number, hotX: number, hotY: number, context: string): void {
  if (!(Number.isInteger(id) && id >= 1 && id <= 0xffffffff)) {
    throw new ProtocolError(ErrorCode.InvalidField, `cursor shape id ${id} is not in 1..2^32-1`, { context, field: 'shapeId', received: id });
  }
  for (const [field, v] of [['width', width], ['height', height]] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new ProtocolError(ErrorCode.InvalidField, `cursor shape ${field} ${v} is not at least 1`, { context, field, received: v });
    if (!(v <= MAX_CURSOR_SIZE_PX)) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `cursor shape ${field} ${v} is over ${MAX_CURSOR_SIZE_PX}`, { context, field, expected: MAX_CURSOR_SIZE_PX, received: v });
    }
  }
  if (!(Number.isInteger(hotX) && hotX >= 0 && hotX < width)) throw new ProtocolError(ErrorCode.InvalidField, `cursor hotspot x ${hotX} is outside the ${width}-pixel shape`, { context, field: 'hotX', received: hotX });
  if (!(Number.isInteger(hotY) && hotY >= 0 && hotY < height)) throw new ProtocolError(ErrorCode.InvalidField, `cursor hotspot y ${hotY} is outside the ${height}-pixel shape`, { context, field: 'hotY', received: hotY });
}

function clampU16(v: number): number {
  return Math.max(0, Math.min(0xffff, Math.round(v)));
}

/**
 * The shapes one side holds, under the rule both sides apply identically (spec/session.md §6.9.3): a SHAPE puts its
 * shape in (replacing one of the same id) as the most recently used; a POSITION naming a held shape makes it the most
 * recently used; then, while more than 64 shapes or more than 4 MiB of RGBA are held, the least recently used goes.
 */
export class CursorCache {
  readonly #shapes = new Map<number, CursorShape>();
  #bytes = 0;

  /** Shapes held. */
  get size(): number {
    return this.#shapes.size;
  }

  /** RGBA bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  has(id: number): boolean {
    return this.#shapes.has(id);
  }

  /** The shape `id` made the most recently used, or undefined when it is not held. */
  use(id: number): CursorShape | undefined {
    const shape = this.#shapes.get(id);
    if (shape === undefined) return undefined;
    this.#shapes.delete(id);
    this.#shapes.set(id, shape);
    return shape;
  }

  /** Puts `shape` in as the most recently used and evicts by the rule. */
  put(shape: CursorShape): void {
    const old = this.#shapes.get(shape.id);
    if (old !== undefined) {
      this.#shapes.delete(shape.id);
      this.#bytes -= old.width * old.height * 4;
    }
    this.#shapes.set(shape.id, shape);
    this.#bytes += shape.width * shape.height * 4;
    // INVARIANT: one shape is at most 256 KiB, under the byte cap, so the one just put is never evicted.
    while (this.#shapes.size > CURSOR_CACHE_MAX_SHAPES || this.#bytes > CURSOR_CACHE_MAX_BYTES) {
      const [oldest, evicted] = this.#shapes.entries().next().value as [number, CursorShape];
      this.#shapes.delete(oldest);
      this.#bytes -= evicted.width * evicted.height * 4;
    }
  }
}

/** True when `a` and `b` are the same pixels under the same id. */
function sameShape(a: CursorShape, b: CursorShape): boolean {
  if (a === b) return true;
  if (a.id !== b.id || a.width !== b.width || a.height !== b.height || a.hotX !== b.hotX || a.hotY !== b.hotY) return false;
  for (let i = 0; i < a.rgba.byteLength; i++) if (a.rgba[i] !== b.rgba[i]) return false;
  return true;
}

/**
 * The host's side of the channel for one session: turns pointer states into the messages to send, a SHAPE only when
 * the helper's cache (mirrored here, by the same rule) does not hold that shape, and nothing when nothing changed.
 */
export class CursorSender {
  readonly #cache = new CursorCache();
  #last: { x: number; y: number; visible: boolean; shapeId: number } | undefined;

  /** The payloads that bring the helper to `state`, in order (none when it is already there). */
  next(state: CursorState): Uint8Array[] {
    const out: Uint8Array[] = [];
    const shape = state.shape;
    if (shape !== undefined) {
      const held = this.#cache.use(shape.id);
      // A shape the helper does not hold, or different pixels under an id it holds, crosses (again).
      if (held === undefined || !sameShape(held, shape)) {
        out.push(encodeCursorShape(shape));
        this.#cache.put(shape);
      }
    }
    const x = clampU16(state.x);
    const y = clampU16(state.y);
    const shapeId = shape?.id ?? 0;
    const last = this.#last;
    if (out.length === 0 && last !== undefined && last.x === x && last.y === y && last.visible === state.visible && last.shapeId === shapeId) return out;
    this.#last = { x, y, visible: state.visible, shapeId };
    out.push(encodeCursorPosition(x, y, state.visible, shapeId));
    return out;
  }
}

/**
 * The helper's side of the channel: applies each message to its cache and gives the pointer's new state after a
 * POSITION (a SHAPE alone changes nothing shown).
 */
export class CursorReceiver {
  readonly #cache = new CursorCache();

  /**
   * @throws {ProtocolError} as decodeCursorMessage, and TESSERA_ERR_INVALID_FIELD for a POSITION naming a shape this
   *   side does not hold
   */
  receive(payload: Uint8Array): CursorState | undefined {
    const msg = decodeCursorMessage(payload);
    if (msg.type === 'shape') {
      this.#cache.put(msg.shape);
      return undefined;
    }
    let shape: CursorShape | undefined;
    if (msg.shapeId !== 0) {
      shape = this.#cache.use(msg.shapeId);
      if (shape === undefined) {
        throw new ProtocolError(ErrorCode.InvalidField, `cursor position names shape ${msg.shapeId}, which the host never sent or the cache evicted`, {
          context: 'cursor-position',
          field: 'shapeId',
          received: msg.shapeId,
        });
      }
    }
    return { x: msg.x, y: msg.y, visible: msg.visible, shape };
  }

  /** The shapes held (for tests). */
  get cache(): CursorCache {
    return this.#cache;
  }
}

/** An RGBA picture, as a framebuffer holds it. */
export interface RgbaPicture {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * A copy of `picture` with the pointer alpha-blended in at its position less its hotspot, clipped to the picture
 * (what `tessera connect --snapshot F.png --cursor` writes). A hidden pointer or one without a shape leaves the copy
 * unchanged.
 */
export function compositeCursor(picture: RgbaPicture, cursor: CursorState | undefined): { width: number; height: number; data: Uint8Array } {
  const out = { width: picture.width, height: picture.height, data: picture.data.slice() };
  const shape = cursor?.shape;
  if (cursor === undefined || !cursor.visible || shape === undefined) return out;
  const left = cursor.x - shape.hotX;
  const top = cursor.y - shape.hotY;
  const x0 = Math.max(0, left);
  const y0 = Math.max(0, top);
  const x1 = Math.min(picture.width, left + shape.width);
  const y1 = Math.min(picture.height, top + shape.height);
  const dst = out.data;
  const src = shape.rgba;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const s = ((y - top) * shape.width + (x - left)) * 4;
      const a = src[s + 3]!;
      if (a === 0) continue;
      const d = (y * picture.width + x) * 4;
      for (let c = 0; c < 3; c++) dst[d + c] = Math.round((src[s + c]! * a + dst[d + c]! * (255 - a)) / 255);
    }
  }
  return out;
}
