import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { ErrorCode, ProtocolError, StateError } from '../../../src/core/index.js';
import {
  CLOSE_REASONS,
  CONTROL_MESSAGES,
  createControlCodec,
  decodeControl,
  defineControlMessage,
  encodeControl,
  field,
  MAX_CLOSE_MESSAGE_BYTES,
  MAX_CONTROL_MESSAGE_BYTES,
  MAX_SCREEN_EDGE_PX,
  MAX_FILE_NAME_BYTES,
  TRANSFER_CODES,
  type ControlMessage,
} from '../../../src/framing/index.js';
import { caught } from '../../helpers/errors.js';

const U32 = 0xffffffff;
const utf8Within = (maxBytes: number) =>
  fc.string({ unit: 'grapheme', maxLength: maxBytes }).filter((s) => new TextEncoder().encode(s).length <= maxBytes);

/** Every message of this version, as structured random values. */
const messageArb: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record({ t: fc.constant('ping' as const), n: fc.integer({ min: 0, max: U32 }), ts: fc.maxSafeNat() }),
  fc.record({ t: fc.constant('pong' as const), n: fc.integer({ min: 0, max: U32 }), ts: fc.maxSafeNat() }),
  fc.record({ t: fc.constant('ack' as const), seq: fc.integer({ min: 0, max: U32 }), decoded: fc.integer({ min: 0, max: U32 }) }),
  fc.constant({ t: 'control-request' as const }),
  fc.record({ t: fc.constant('control-grant' as const), mode: fc.constantFrom('view' as const, 'control' as const) }),
  fc.constant({ t: 'control-revoke' as const }),
  fc.record({ t: fc.constant('pause' as const), paused: fc.boolean() }),
  fc.record(
    { t: fc.constant('close' as const), reason: fc.constantFrom(...CLOSE_REASONS), message: utf8Within(MAX_CLOSE_MESSAGE_BYTES) },
    { requiredKeys: ['t', 'reason'] },
  ),
  fc.record({
    t: fc.constant('screen' as const),
    width: fc.integer({ min: 1, max: MAX_SCREEN_EDGE_PX }),
    height: fc.integer({ min: 1, max: MAX_SCREEN_EDGE_PX }),
  }),
  fc.record(
    { t: fc.constant('features' as const), cursor: fc.integer({ min: 1, max: 255 }), transfer: fc.integer({ min: 1, max: 255 }) },
    { requiredKeys: ['t'] },
  ),
  fc.record({
    t: fc.constant('file-offer' as const),
    id: fc.integer({ min: 0, max: U32 }),
    name: utf8Within(MAX_FILE_NAME_BYTES),
    size: fc.maxSafeNat(),
    sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  ...(['file-accept', 'file-ack'] as const).map((type) => fc.record({ t: fc.constant(type), id: fc.integer({ min: 0, max: U32 }), offset: fc.maxSafeNat() })),
  ...(['file-done', 'file-saved'] as const).map((type) => fc.record({ t: fc.constant(type), id: fc.integer({ min: 0, max: U32 }) })),
  ...(['file-reject', 'file-cancel'] as const).map((type) =>
    fc.record({ t: fc.constant(type), id: fc.integer({ min: 0, max: U32 }), code: fc.constantFrom(...TRANSFER_CODES) }),
  ),
);

t.test('decode(encode(m)) deep-equals m for every message type (fast-check)', async (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(messageArb, (m) => {
      seen.add(m.t);
      const bytes = encodeControl(m);
      assert.ok(bytes.length <= MAX_CONTROL_MESSAGE_BYTES);
      assert.deepEqual(decodeControl(bytes), { ...m });
    }),
    { numRuns: 1000 },
  );
  t.same([...seen].sort(), CONTROL_MESSAGES.map((d) => d.type).sort(), 'every type was generated');
});

t.test('decode accepts fields in any order and any integer width', async (t) => {
  const bytes = msgpackEncode({ ts: 5, n: 1, t: 'ping' });
  t.same(decodeControl(bytes), { t: 'ping', n: 1, ts: 5 });
  // n as uint32 (0xce) rather than the smallest form.
  const wide = new Uint8Array([0x83, 0xa1, 0x74, 0xa4, ...new TextEncoder().encode('ping'), 0xa1, 0x6e, 0xce, 0, 0, 0, 7, 0xa2, 0x74, 0x73, 0x00]);
  t.same(decodeControl(wide), { t: 'ping', n: 7, ts: 0 });
});

/** Encodes an arbitrary object with the msgpack library, bypassing our validation. */
const raw = (value: unknown) => msgpackEncode(value);

t.test('rejects each kind of invalid message with its code', async (t) => {
  const long = 'x'.repeat(MAX_CLOSE_MESSAGE_BYTES + 1);
  const cases: Array<[string, Uint8Array, ErrorCode, string?]> = [
    ['unknown type', raw({ t: 'teleport' }), ErrorCode.UnknownMessage, 't'],
    ['missing t', raw({ n: 1, ts: 1 }), ErrorCode.InvalidField, 't'],
    ['t not a string', raw({ t: 1 }), ErrorCode.InvalidField, 't'],
    ['not a map (array)', raw(['ping', 1, 2]), ErrorCode.InvalidField, 'message'],
    ['not a map (int)', raw(5), ErrorCode.InvalidField, 'message'],
    ['missing required field', raw({ t: 'ping', n: 1 }), ErrorCode.InvalidField, 'ts'],
    ['unknown extra field', raw({ t: 'ping', n: 1, ts: 2, x: 0 }), ErrorCode.InvalidField, 'x'],
    ['string where uint expected', raw({ t: 'ping', n: '1', ts: 2 }), ErrorCode.InvalidField, 'n'],
    ['float where uint expected', raw({ t: 'ping', n: 1.5, ts: 2 }), ErrorCode.InvalidField, 'n'],
    ['negative uint', raw({ t: 'ping', n: -1, ts: 2 }), ErrorCode.InvalidField, 'n'],
    ['uint over its range', raw({ t: 'ping', n: U32 + 1, ts: 2 }), ErrorCode.InvalidField, 'n'],
    ['uint over 2^53', new Uint8Array([0x83, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa1, 0x6e, 0x00, 0xa2, 0x74, 0x73, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), ErrorCode.InvalidField, 'ts'],
    ['screen width 0', raw({ t: 'screen', width: 0, height: 1 }), ErrorCode.InvalidField, 'width'],
    ['screen too tall', raw({ t: 'screen', width: 1, height: MAX_SCREEN_EDGE_PX + 1 }), ErrorCode.InvalidField, 'height'],
    ['bool as int', raw({ t: 'pause', paused: 1 }), ErrorCode.InvalidField, 'paused'],
    ['nil for a required field', raw({ t: 'pause', paused: null }), ErrorCode.InvalidField, 'paused'],
    ['enum value not in set', raw({ t: 'control-grant', mode: 'admin' }), ErrorCode.InvalidField, 'mode'],
    ['enum sent as bin', raw({ t: 'control-grant', mode: new TextEncoder().encode('view') }), ErrorCode.InvalidField, 'mode'],
    ['close reason unknown', raw({ t: 'close', reason: 'bored' }), ErrorCode.InvalidField, 'reason'],
    ['optional string too long', raw({ t: 'close', reason: 'normal', message: long }), ErrorCode.LimitExceeded, 'message'],
    ['optional as nil', raw({ t: 'close', reason: 'normal', message: null }), ErrorCode.InvalidField, 'message'],
    ['nested map value', raw({ t: 'ping', n: { a: 1 }, ts: 1 }), ErrorCode.InvalidField, 'n'],
    ['nested array value', raw({ t: 'ping', n: [1], ts: 1 }), ErrorCode.InvalidField, 'n'],
    ['whole message too big', raw({ t: 'close', reason: 'normal', message: 'y'.repeat(MAX_CONTROL_MESSAGE_BYTES) }), ErrorCode.LimitExceeded],
    ['truncated', raw({ t: 'ping', n: 1, ts: 2 }).subarray(0, 9), ErrorCode.Truncated],
    ['empty', new Uint8Array(0), ErrorCode.Truncated],
    ['trailing bytes', new Uint8Array([...raw({ t: 'control-revoke' }), 0x00]), ErrorCode.TrailingBytes],
    ['reserved byte 0xc1', new Uint8Array([0x82, 0xa1, 0x74, 0xa5, ...new TextEncoder().encode('pause'), 0xa6, ...new TextEncoder().encode('paused'), 0xc1]), ErrorCode.InvalidField, 'paused'],
    ['key not a string', new Uint8Array([0x81, 0x01, 0x02]), ErrorCode.InvalidField, 'key'],
    ['duplicate key', new Uint8Array([0x82, 0xa1, 0x74, 0xa1, 0x78, 0xa1, 0x74, 0xa1, 0x79]), ErrorCode.InvalidField, 't'],
    ['invalid utf-8 in a string value', new Uint8Array([0x82, 0xa1, 0x74, 0xa5, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0xa6, 0x72, 0x65, 0x61, 0x73, 0x6f, 0x6e, 0xa2, 0xc0, 0x80]), ErrorCode.InvalidField, 'reason'],
    ['map32 announcing 2^32-1 entries', new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff]), ErrorCode.LimitExceeded],
    ['str32 announcing 4 GiB', new Uint8Array([0x81, 0xa1, 0x74, 0xdb, 0xff, 0xff, 0xff, 0xff]), ErrorCode.Truncated, 't'],
    ['ext value', new Uint8Array([0x82, 0xa1, 0x74, 0xa5, ...new TextEncoder().encode('pause'), 0xa6, ...new TextEncoder().encode('paused'), 0xd4, 0x01, 0x00]), ErrorCode.InvalidField, 'paused'],
  ];
  for (const [name, bytes, code, fieldName] of cases) {
    const err = caught(() => decodeControl(bytes));
    t.ok(err instanceof ProtocolError, `${name}: ProtocolError`);
    t.match(err, fieldName === undefined ? { code } : { code, field: fieldName }, name);
  }
});

t.test('decoded bytes fields are copies', async (t) => {
  const codec = createControlCodec([defineControlMessage('blob', { data: field.bytes(16), note: field.optional(field.string(8)) })]);
  const bytes = codec.encode({ t: 'blob', data: new Uint8Array([1, 2, 3]) });
  const m = codec.decode(bytes);
  bytes.fill(0);
  t.same([...m.data], [1, 2, 3]);
  t.match(caught(() => codec.decode(raw({ t: 'blob', data: new Uint8Array(17) }))), { code: ErrorCode.LimitExceeded, field: 'data' });
  t.match(caught(() => codec.decode(raw({ t: 'blob', data: 'abc' }))), { code: ErrorCode.InvalidField, field: 'data' });
  t.match(caught(() => codec.decode(raw({ t: 'blob', data: new Uint8Array(1), note: '123456789' }))), { code: ErrorCode.LimitExceeded, field: 'note' });
});

t.test('a codec is made from a table, and extending it is one line', async (t) => {
  const codec = createControlCodec([...CONTROL_MESSAGES, defineControlMessage('typing', { on: field.bool() })]);
  t.same(codec.decode(codec.encode({ t: 'typing', on: true })), { t: 'typing', on: true });
  t.same(codec.decode(encodeControl({ t: 'pause', paused: false })), { t: 'pause', paused: false });
  t.match(caught(() => decodeControl(codec.encode({ t: 'typing', on: true }))), { code: ErrorCode.UnknownMessage });
  t.ok(caught(() => createControlCodec([defineControlMessage('a', {}), defineControlMessage('a', {})])) instanceof StateError);
  t.ok(caught(() => defineControlMessage('Bad Name', {})) instanceof StateError);
  t.ok(caught(() => defineControlMessage('x', { t: field.bool() })) instanceof StateError);
});

t.test('encode refuses messages that break their schema, with StateError', async (t) => {
  const bad: unknown[] = [
    { t: 'nope' },
    { t: 'ping', n: 1 },
    { t: 'ping', n: -1, ts: 0 },
    { t: 'ping', n: 1.5, ts: 0 },
    { t: 'ping', n: 1, ts: 0, extra: 1 },
    { t: 'close', reason: 'normal', message: 'é'.repeat(101) },
    { t: 'close', reason: 'normal', message: '\ud800' },
    { t: 'close', reason: 'whatever' },
    { t: 'pause', paused: 'yes' },
  ];
  for (const m of bad) {
    const err = caught(() => encodeControl(m as ControlMessage));
    t.ok(err instanceof StateError, JSON.stringify(m));
    t.match(err, { code: ErrorCode.BadState });
  }
  t.same(decodeControl(encodeControl({ t: 'close', reason: 'normal', message: undefined } as ControlMessage)), { t: 'close', reason: 'normal' });
});

t.test('the codec still decodes after rejecting bad input', async (t) => {
  caught(() => decodeControl(new Uint8Array([0xc1])));
  t.same(decodeControl(encodeControl({ t: 'control-request' })), { t: 'control-request' });
});
