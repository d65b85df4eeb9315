/**
 * The input batch: one Channel.Input payload carrying a count and that many events; spec/input.md §2.
 * Decoding is bounded and total: any malformed, truncated or oversized batch is a ProtocolError with a code.
 */
import { ByteReader, ByteWriter, ErrorCode, ProtocolError, StateError, invalidField } from '../core/index.js';
import {
  ABSOLUTE_MAX_EVENTS_PER_BATCH,
  ABSOLUTE_MAX_TEXT_BYTES,
  BUTTON_MASK,
  DEFAULT_MAX_EVENTS_PER_BATCH,
  DEFAULT_MAX_TEXT_BYTES,
  EventType,
  MAX_BUTTON,
  MAX_COORDINATE,
  MAX_WHEEL_DELTA,
  MIN_WHEEL_DELTA,
  MODIFIER_MASK,
} from './constants.js';
import type { InputEvent } from './events.js';
import { keyCodeOf, keyIdOf } from './key-codes.js';
import { decodeUtf8Strict, isWellFormedText, utf8Bytes } from './utf8.js';

/** Caps a receiver applies to a batch; spec/input.md §5. */
export interface InputLimits {
  /** Most events in one batch (default 256, at most 4096). */
  readonly maxEvents?: number;
  /** Most UTF-8 bytes in one text event (default 1024, at most 65536). */
  readonly maxTextBytes?: number;
}

const CONTEXT = 'input-batch';

/** Bytes a value takes as a varuint. */
function varuintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Reads a varuint and insists on its shortest form, so every batch has exactly one encoding. */
function readVaruint(r: ByteReader, field: string): number {
  const start = r.offset;
  const value = r.varuint(field);
  if (r.offset - start !== varuintSize(value)) throw invalidField(CONTEXT, field, start, 'is not minimally encoded');
  return value;
}

/** Zigzag maps signed to unsigned: 0, -1, 1, -2, 2 ... become 0, 1, 2, 3, 4 ... */
function zigzag(value: number): number {
  return value < 0 ? -2 * value - 1 : 2 * value;
}

function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

function readCoordinate(r: ByteReader, field: string): number {
  const at = r.offset;
  const value = readVaruint(r, field);
  if (value > MAX_COORDINATE) throw invalidField(CONTEXT, field, at, `is larger than ${MAX_COORDINATE}`, value);
  return value;
}

function readWheelDelta(r: ByteReader, field: string): number {
  const at = r.offset;
  const value = unzigzag(readVaruint(r, field));
  if (value < MIN_WHEEL_DELTA || value > MAX_WHEEL_DELTA) {
    throw invalidField(CONTEXT, field, at, `is outside ${MIN_WHEEL_DELTA}..${MAX_WHEEL_DELTA}`, value);
  }
  return value;
}

function resolveLimit(value: number | undefined, fallback: number, ceiling: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && value >= 1 && value <= ceiling)) {
    throw new StateError(`input limit ${name} must be an integer in 1..${ceiling}`);
  }
  return value;
}

/**
 * Decodes one Channel.Input payload.
 * @param bytes the payload (the frame body after its channel byte)
 * @param limits the receiver's caps; defaults per spec/input.md §5
 * @returns the events in order; the array and events are new objects that do not alias `bytes`
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED, TESSERA_ERR_TRAILING_BYTES, TESSERA_ERR_TOO_MANY_EVENTS,
 *   TESSERA_ERR_UNKNOWN_EVENT_TYPE, TESSERA_ERR_UNKNOWN_KEY, TESSERA_ERR_TEXT_TOO_LONG, TESSERA_ERR_INVALID_UTF8,
 *   TESSERA_ERR_INVALID_FIELD
 * @throws {StateError} when `limits` are out of range (a caller bug)
 */
export function decodeInputBatch(bytes: Uint8Array, limits: InputLimits = {}): InputEvent[] {
  const maxEvents = resolveLimit(limits.maxEvents, DEFAULT_MAX_EVENTS_PER_BATCH, ABSOLUTE_MAX_EVENTS_PER_BATCH, 'maxEvents');
  const maxTextBytes = resolveLimit(limits.maxTextBytes, DEFAULT_MAX_TEXT_BYTES, ABSOLUTE_MAX_TEXT_BYTES, 'maxTextBytes');
  const r = new ByteReader(bytes, CONTEXT);
  const count = readVaruint(r, 'count');
  if (count > maxEvents) {
    throw new ProtocolError(ErrorCode.TooManyEvents, `input batch has ${count} events, more than the limit of ${maxEvents}`, {
      context: CONTEXT,
      field: 'count',
      offset: 0,
      expected: maxEvents,
      received: count,
    });
  }
  const events: InputEvent[] = [];
  for (let i = 0; i < count; i++) events.push(decodeEvent(r, maxTextBytes));
  r.end();
  return events;
}

function decodeEvent(r: ByteReader, maxTextBytes: number): InputEvent {
  const at = r.offset;
  const type = r.u8('type');
  switch (type) {
    case EventType.KeyDown:
    case EventType.KeyUp: {
      const idAt = r.offset;
      const id = readVaruint(r, 'keyId');
      const code = keyCodeOf(id);
      if (code === undefined) {
        throw new ProtocolError(ErrorCode.UnknownKey, `invalid ${CONTEXT}: keyId ${id} at offset ${idAt} is not a known key`, {
          context: CONTEXT,
          field: 'keyId',
          offset: idAt,
          received: id,
        });
      }
      const modAt = r.offset;
      const modifiers = r.u8('modifiers');
      if ((modifiers & ~MODIFIER_MASK) !== 0) throw invalidField(CONTEXT, 'modifiers', modAt, 'has reserved bits set', modifiers);
      return { type: type === EventType.KeyDown ? 'keyDown' : 'keyUp', code, modifiers };
    }
    case EventType.Text: {
      const lenAt = r.offset;
      const length = readVaruint(r, 'textLength');
      if (length === 0) throw invalidField(CONTEXT, 'textLength', lenAt, 'is zero', 0);
      if (length > maxTextBytes) {
        throw new ProtocolError(ErrorCode.TextTooLong, `text event of ${length} bytes is longer than the limit of ${maxTextBytes}`, {
          context: CONTEXT,
          field: 'textLength',
          offset: lenAt,
          expected: maxTextBytes,
          received: length,
        });
      }
      const textAt = r.offset;
      const text = decodeUtf8Strict(r.bytesView(length, 'text'), CONTEXT, 'text', textAt);
      return { type: 'text', text };
    }
    case EventType.PointerMove: {
      const x = readCoordinate(r, 'x');
      const y = readCoordinate(r, 'y');
      const buttonsAt = r.offset;
      const buttons = r.u8('buttons');
      if ((buttons & ~BUTTON_MASK) !== 0) throw invalidField(CONTEXT, 'buttons', buttonsAt, 'has reserved bits set', buttons);
      return { type: 'pointerMove', x, y, buttons };
    }
    case EventType.ButtonDown:
    case EventType.ButtonUp: {
      const buttonAt = r.offset;
      const button = r.u8('button');
      if (button > MAX_BUTTON) throw invalidField(CONTEXT, 'button', buttonAt, `is larger than ${MAX_BUTTON}`, button);
      const x = readCoordinate(r, 'x');
      const y = readCoordinate(r, 'y');
      return { type: type === EventType.ButtonDown ? 'buttonDown' : 'buttonUp', button, x, y };
    }
    case EventType.Wheel: {
      const dx = readWheelDelta(r, 'dx');
      const dy = readWheelDelta(r, 'dy');
      return { type: 'wheel', dx, dy };
    }
    default:
      throw new ProtocolError(ErrorCode.UnknownEventType, `invalid ${CONTEXT}: event type 0x${type.toString(16).padStart(2, '0')} at offset ${at} is unknown`, {
        context: CONTEXT,
        field: 'type',
        offset: at,
        received: type,
      });
  }
}

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/**
 * Checks that an event is one this version can encode and a receiver with `limits` would accept.
 * @returns undefined when valid, else a short lowercase reason
 */
export function validateInputEvent(event: InputEvent, limits: InputLimits = {}): string | undefined {
  const maxTextBytes = limits.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES;
  if (typeof event !== 'object' || event === null) return 'event is not an object';
  switch (event.type) {
    case 'keyDown':
    case 'keyUp':
      if (keyIdOf(event.code) === undefined) return `key code ${JSON.stringify(String(event.code))} is unknown`;
      if (!isUint(event.modifiers, MODIFIER_MASK)) return 'modifiers is not a mask of modifier bits';
      return undefined;
    case 'text': {
      if (typeof event.text !== 'string' || event.text.length === 0) return 'text is empty';
      if (!isWellFormedText(event.text)) return 'text has a lone surrogate';
      // Three UTF-8 bytes per UTF-16 unit at most, so short strings skip the encode.
      if (event.text.length * 3 > maxTextBytes && utf8Bytes(event.text).length > maxTextBytes) {
        return `text is longer than ${maxTextBytes} utf-8 bytes`;
      }
      return undefined;
    }
    case 'pointerMove':
      if (!isUint(event.x, MAX_COORDINATE) || !isUint(event.y, MAX_COORDINATE)) return `pointer position is outside 0..${MAX_COORDINATE}`;
      if (!isUint(event.buttons, BUTTON_MASK)) return 'buttons is not a mask of button bits';
      return undefined;
    case 'buttonDown':
    case 'buttonUp':
      if (!isUint(event.button, MAX_BUTTON)) return `button is outside 0..${MAX_BUTTON}`;
      if (!isUint(event.x, MAX_COORDINATE) || !isUint(event.y, MAX_COORDINATE)) return `pointer position is outside 0..${MAX_COORDINATE}`;
      return undefined;
    case 'wheel':
      for (const delta of [event.dx, event.dy]) {
        if (!(typeof delta === 'number' && Number.isInteger(delta) && delta >= MIN_WHEEL_DELTA && delta <= MAX_WHEEL_DELTA)) {
          return `wheel delta is outside ${MIN_WHEEL_DELTA}..${MAX_WHEEL_DELTA}`;
        }
      }
      return undefined;
    default:
      return `event type ${JSON.stringify(String((event as { type: unknown }).type))} is unknown`;
  }
}

/**
 * Encodes events as one Channel.Input payload.
 * @param events at most `limits.maxEvents` events (split longer sequences into several batches)
 * @param limits the caps the receiver applies; the encoder refuses what the receiver would reject
 * @returns a new byte array
 * @throws {StateError} TESSERA_ERR_BAD_STATE for an invalid event or too many events (a caller bug)
 */
export function encodeInputBatch(events: readonly InputEvent[], limits: InputLimits = {}): Uint8Array {
  const maxEvents = resolveLimit(limits.maxEvents, DEFAULT_MAX_EVENTS_PER_BATCH, ABSOLUTE_MAX_EVENTS_PER_BATCH, 'maxEvents');
  if (events.length > maxEvents) throw new StateError(`input batch of ${events.length} events is longer than the limit of ${maxEvents}`);
  const w = new ByteWriter(16 + events.length * 6);
  w.varuint(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const problem = validateInputEvent(event, limits);
    if (problem !== undefined) throw new StateError(`cannot encode input event ${i}: ${problem}`);
    encodeEvent(w, event);
  }
  return w.toBytes();
}

function encodeEvent(w: ByteWriter, event: InputEvent): void {
  switch (event.type) {
    case 'keyDown':
    case 'keyUp':
      w.u8(event.type === 'keyDown' ? EventType.KeyDown : EventType.KeyUp);
      w.varuint(keyIdOf(event.code)!);
      w.u8(event.modifiers);
      return;
    case 'text': {
      const bytes = utf8Bytes(event.text);
      w.u8(EventType.Text).varuint(bytes.length).bytes(bytes);
      return;
    }
    case 'pointerMove':
      w.u8(EventType.PointerMove).varuint(event.x).varuint(event.y).u8(event.buttons);
      return;
    case 'buttonDown':
    case 'buttonUp':
      w.u8(event.type === 'buttonDown' ? EventType.ButtonDown : EventType.ButtonUp);
      w.u8(event.button).varuint(event.x).varuint(event.y);
      return;
    case 'wheel':
      w.u8(EventType.Wheel).varuint(zigzag(event.dx)).varuint(zigzag(event.dy));
      return;
  }
}
