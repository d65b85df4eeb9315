import t from 'tap';
import { ByteWriter, ErrorCode, StateError } from '../../../src/core/index.js';
import { caught } from '../../helpers/errors.js';

t.test('refuses out-of-range values instead of wrapping them', async (t) => {
  const w = new ByteWriter();
  const bad: Array<[string, () => unknown]> = [
    ['u8 256', () => w.u8(256)], ['u8 -1', () => w.u8(-1)], ['u8 1.5', () => w.u8(1.5)],
    ['u16 65536', () => w.u16(65536)], ['u32 2^32', () => w.u32(2 ** 32)], ['u32 -1', () => w.u32(-1)],
    ['u64 -1', () => w.u64(-1n)], ['u64 2^64', () => w.u64(2n ** 64n)],
    ['i16 32768', () => w.i16(32768)], ['i32 2^31', () => w.i32(2 ** 31)], ['varuint 2^32', () => w.varuint(2 ** 32)],
    ['varuint NaN', () => w.varuint(Number.NaN)],
  ];
  for (const [name, fn] of bad) {
    const err = caught(fn);
    t.ok(err instanceof StateError, name);
    t.match(err, { code: ErrorCode.BadState }, name);
  }
  t.equal(w.length, 0, 'nothing was written');
});

t.test('grows by doubling, keeps content, and honours its cap', async (t) => {
  const w = new ByteWriter(16, 100);
  for (let i = 0; i < 100; i++) w.u8(i);
  t.equal(w.length, 100);
  t.equal(w.viewShared()[99], 99);
  t.match(caught(() => w.u8(0)), { code: ErrorCode.BadState });
});

t.test('reset keeps the buffer; toBytes copies, viewShared does not', async (t) => {
  const w = new ByteWriter();
  w.u32(0x01020304);
  const copy = w.toBytes();
  const view = w.viewShared();
  w.reset().u32(0x0a0b0c0d);
  t.same([...copy], [1, 2, 3, 4]);
  t.same([...view], [10, 11, 12, 13]);
});

t.test('patchU32 writes only inside what was written', async (t) => {
  const w = new ByteWriter();
  w.u32(0).u8(7);
  w.patchU32(0, 5);
  t.same([...w.toBytes()], [0, 0, 0, 5, 7]);
  t.match(caught(() => w.patchU32(2, 1)), { code: ErrorCode.BadState });
  t.match(caught(() => w.patchU32(-1, 1)), { code: ErrorCode.BadState });
});

t.test('utf8 writes multi-byte text', async (t) => {
  const w = new ByteWriter(16);
  t.equal(w.utf8('é😀'), 6);
  t.same([...w.toBytes()], [...new TextEncoder().encode('é😀')]);
});
