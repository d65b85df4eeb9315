import t from 'tap';
import fc from 'fast-check';
import { ErrorCode, ProtocolError, StateError, toHex } from '../../../src/core/index.js';
import {
  KEY_CODES,
  MAX_KEY_ID,
  decodeInputBatch,
  decodeText,
  encodeInputBatch,
  encodeText,
  keyCodeOf,
  keyIdOf,
  truncateText,
  type InputEvent,
} from '../../../src/input/index.js';
import { inputBatch } from './arbitraries.js';

t.test('key table: ids are 1-based positions, unique, and the common keys fit in one byte', async (t) => {
  t.equal(new Set(KEY_CODES).size, KEY_CODES.length);
  t.equal(MAX_KEY_ID, KEY_CODES.length);
  for (const code of KEY_CODES) t.equal(keyCodeOf(keyIdOf(code)!), code);
  t.equal(keyCodeOf(0), undefined);
  t.equal(keyCodeOf(MAX_KEY_ID + 1), undefined);
  t.equal(keyIdOf('NotAKey'), undefined);
  for (const code of ['KeyA', 'KeyZ', 'Digit9', 'Enter', 'Space', 'F12', 'ArrowUp', 'NumpadEnter', 'ShiftLeft', 'MetaRight']) {
    t.ok(keyIdOf(code)! <= 127, `${code} fits in one varuint byte`);
  }
});

t.test('decode(encode(batch)) equals the batch, and encode(decode(bytes)) reproduces the bytes', async () => {
  fc.assert(
    fc.property(inputBatch(), (events) => {
      const bytes = encodeInputBatch(events);
      const decoded = decodeInputBatch(bytes);
      if (JSON.stringify(decoded) !== JSON.stringify(events)) throw new Error('decode differs');
      if (toHex(encodeInputBatch(decoded)) !== toHex(bytes)) throw new Error('re-encode differs');
    }),
    { seed: 1234, numRuns: 500 },
  );
});

t.test('decoded events do not alias the input buffer', async (t) => {
  const bytes = encodeInputBatch([{ type: 'text', text: 'abc' }]);
  const events = decodeInputBatch(bytes);
  bytes.fill(0);
  t.same(events, [{ type: 'text', text: 'abc' }]);
});

t.test('limits are applied and checked', async (t) => {
  const three: InputEvent[] = [
    { type: 'wheel', dx: 0, dy: 1 },
    { type: 'wheel', dx: 0, dy: 2 },
    { type: 'wheel', dx: 0, dy: 3 },
  ];
  const bytes = encodeInputBatch(three);
  t.equal(decodeInputBatch(bytes, { maxEvents: 3 }).length, 3);
  t.throws(() => decodeInputBatch(bytes, { maxEvents: 2 }), { code: ErrorCode.TooManyEvents, field: 'count', expected: 2, received: 3 });
  t.throws(() => encodeInputBatch(three, { maxEvents: 2 }), StateError);
  t.throws(() => decodeInputBatch(bytes, { maxEvents: 0 }), StateError);
  t.throws(() => decodeInputBatch(bytes, { maxEvents: 5000 }), StateError);
  const text = encodeInputBatch([{ type: 'text', text: 'hello' }]);
  t.throws(() => decodeInputBatch(text, { maxTextBytes: 4 }), { code: ErrorCode.TextTooLong, expected: 4, received: 5 });
  t.throws(() => encodeInputBatch([{ type: 'text', text: 'hello' }], { maxTextBytes: 4 }), StateError);
});

t.test('the encoder refuses invalid events', async (t) => {
  const bad: unknown[] = [
    { type: 'keyDown', code: 'NoSuchKey', modifiers: 0 },
    { type: 'keyDown', code: 'KeyA', modifiers: 0x40 },
    { type: 'text', text: '' },
    { type: 'text', text: 'a\ud800' },
    { type: 'pointerMove', x: -1, y: 0, buttons: 0 },
    { type: 'pointerMove', x: 0, y: 16384, buttons: 0 },
    { type: 'pointerMove', x: 1.5, y: 0, buttons: 0 },
    { type: 'pointerMove', x: 0, y: 0, buttons: 0x20 },
    { type: 'buttonDown', button: 5, x: 0, y: 0 },
    { type: 'wheel', dx: 40000, dy: 0 },
    { type: 'wheel', dx: 0, dy: Number.NaN },
    { type: 'clipboard', text: 'x' },
  ];
  for (const event of bad) {
    t.throws(() => encodeInputBatch([event as InputEvent]), { code: ErrorCode.BadState }, JSON.stringify(event));
  }
});

t.test('errors carry structured fields', async (t) => {
  try {
    decodeInputBatch(Uint8Array.of(2, 0x07, 0, 0, 0x09));
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ProtocolError);
    const e = err as ProtocolError;
    t.equal(e.code, ErrorCode.UnknownEventType);
    t.equal(e.field, 'type');
    t.equal(e.offset, 4);
    t.equal(e.received, 9);
    t.match(e.message, /^[a-z]/);
  }
});

t.test('text channel helpers', async (t) => {
  t.equal(decodeText(encodeText('héllo', 6), 6), 'héllo');
  t.throws(() => encodeText('héllo', 5), StateError);
  t.throws(() => encodeText('\udc00', 5), StateError);
  t.throws(() => decodeText(Uint8Array.of(0xc3), 5), { code: ErrorCode.InvalidUtf8 });
  t.throws(() => decodeText(new Uint8Array(6), 5), { code: ErrorCode.TextTooLong });
  t.equal(decodeText(new Uint8Array(0), 0), '');
  t.equal(truncateText('abc', 2), 'ab');
  t.equal(truncateText('aé😀b', 3), 'aé');
  t.equal(truncateText('aé😀b', 6), 'aé');
  t.equal(truncateText('aé😀b', 7), 'aé😀');
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.integer({ min: 0, max: 40 }), (text, max) => {
      const cut = truncateText(text, max);
      if (!text.startsWith(cut)) throw new Error('not a prefix');
      if (encodeText(cut, max).length > max) throw new Error('too long');
    }),
    { seed: 99, numRuns: 300 },
  );
});
