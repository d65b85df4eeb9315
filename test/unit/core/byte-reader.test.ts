import t from 'tap';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, ErrorCode, ProtocolError, StateError } from '../../../src/core/index.js';
import { caught } from '../../helpers/errors.js';

t.test('reads what the writer wrote, for every field kind', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.integer({ min: -0x8000, max: 0x7fff }),
      fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.uint8Array({ maxLength: 64 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      (a, b, c, d, e, f, g, bytes, text) => {
        const w = new ByteWriter(16);
        w.u8(a).u16(b).u32(c).u64(d).i16(e).i32(f).varuint(g).u32(bytes.length).bytes(bytes);
        const textAt = w.length;
        const textBytes = w.utf8(text);
        const r = new ByteReader(w.toBytes(), 'test');
        assert.equal(r.u8('a'), a);
        assert.equal(r.u16('b'), b);
        assert.equal(r.u32('c'), c);
        assert.equal(r.u64('d'), d);
        assert.equal(r.i16('e'), e);
        assert.equal(r.i32('f'), f);
        assert.equal(r.varuint('g'), g);
        assert.deepEqual(r.bytesView(r.u32('len'), 'bytes'), bytes);
        assert.equal(r.offset, textAt);
        assert.equal(r.utf8(textBytes, 'text'), text);
        r.end();
      },
    ),
    { numRuns: 300 },
  );
  t.pass('300 random records round-tripped');
});

t.test('a read past the end is TRUNCATED with structured fields', async (t) => {
  const r = new ByteReader(new Uint8Array([1, 2, 3]), 'tile-update');
  r.u8('kind');
  const err = caught(() => r.u32('tileCount'));
  t.ok(err instanceof ProtocolError);
  t.match(err, { code: ErrorCode.Truncated, context: 'tile-update', field: 'tileCount', offset: 1, expected: 4, received: 2 });
  t.equal(r.offset, 1, 'a failed read consumes nothing');
});

t.test('every fixed-size read on every short input throws TRUNCATED, never RangeError', async (t) => {
  const reads: Array<(r: ByteReader) => unknown> = [
    (r) => r.u8('x'), (r) => r.u16('x'), (r) => r.u32('x'), (r) => r.u64('x'), (r) => r.i16('x'), (r) => r.i32('x'),
    (r) => r.bytesView(9, 'x'), (r) => r.bytesCopy(9, 'x'), (r) => r.utf8(9, 'x'), (r) => r.skip(9, 'x'),
  ];
  for (const read of reads) {
    for (let n = 0; n < 8; n++) {
      const err = caught(() => read(new ByteReader(new Uint8Array(n), 'short')));
      if (err !== undefined) t.match(err, { code: ErrorCode.Truncated });
    }
  }
});

t.test('negative, fractional or NaN lengths are INVALID_FIELD and move nothing', async (t) => {
  for (const n of [-1, 1.5, Number.NaN, -0.5]) {
    const r = new ByteReader(new Uint8Array(8), 'len');
    t.match(caught(() => r.bytesView(n, 'body')), { code: ErrorCode.InvalidField, field: 'body' }, `n=${n}`);
    t.equal(r.offset, 0);
  }
});

t.test('varuint rejects over-long, oversized and non-shortest encodings', async (t) => {
  const cases: Array<[number[], string]> = [
    [[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], 'six bytes'],
    [[0xff, 0xff, 0xff, 0xff, 0x1f], 'over 2^32-1'],
    [[0x80, 0x00], 'zero padded'],
    [[0xff, 0x80, 0x00], 'padded 127'],
  ];
  for (const [bytes, name] of cases) {
    t.match(caught(() => new ByteReader(new Uint8Array(bytes), 'v').varuint('n')), { code: ErrorCode.InvalidField }, name);
  }
  t.match(caught(() => new ByteReader(new Uint8Array([0x80]), 'v').varuint('n')), { code: ErrorCode.Truncated });
  t.equal(new ByteReader(new Uint8Array([0x00]), 'v').varuint('n'), 0);
  t.equal(new ByteReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), 'v').varuint('n'), 0xffffffff);
});

t.test('utf8 rejects invalid sequences', async (t) => {
  for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff], [0xe2, 0x82]]) {
    t.match(caught(() => new ByteReader(new Uint8Array(bad), 's').utf8(bad.length, 'text')), { code: ErrorCode.InvalidField });
  }
});

t.test('end() reports trailing bytes', async (t) => {
  const r = new ByteReader(new Uint8Array(3), 'msg');
  r.u8('a');
  t.match(caught(() => r.end()), { code: ErrorCode.TrailingBytes, received: 2, offset: 1 });
});

t.test('bytesView shares memory, bytesCopy does not', async (t) => {
  const src = new Uint8Array([1, 2, 3]);
  const view = new ByteReader(src, 'x').bytesView(3, 'v');
  const copy = new ByteReader(src, 'x').bytesCopy(3, 'v');
  src[0] = 9;
  t.equal(view[0], 9);
  t.equal(copy[0], 1);
});

t.test('StateError is not a ProtocolError', async (t) => {
  t.notOk(new StateError('x') instanceof ProtocolError);
});
