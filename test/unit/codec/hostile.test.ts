import t from 'tap';
import { ByteWriter, TesseraError } from '../../../src/core/index.js';
import zlib from 'node:zlib';
import { TileDecoder } from '../../../src/codec/index.js';
import { SharpImageCodec } from '../../../src/node/sharp-image-codec.js';
import sharp from 'sharp';
import { terminalScreen } from '../../helpers/codec-screens.js';
import { makePair } from '../../helpers/codec-harness.js';

/** Builds an update by hand: header, copies, raw tile records deflated with a fresh stream (key frames reset it). */
function build(opts: { key?: boolean; seq?: number; w?: number; h?: number; cache?: number; copies?: number[][]; tiles?: number; records?: Uint8Array; rawLength?: number; version?: number; flags?: number; lossy?: Uint8Array; body?: Uint8Array }): Uint8Array {
  const w = new ByteWriter();
  const key = opts.key ?? true;
  w.u8(opts.version ?? 1).u8(opts.flags ?? (key ? 1 : 0)).u32(opts.seq ?? 0).u16(opts.w ?? 64).u16(opts.h ?? 64);
  if (key) w.u16(opts.cache ?? 8);
  const copies = opts.copies ?? [];
  w.varuint(copies.length);
  for (const c of copies) for (const v of c) w.u16(v);
  const records = opts.records ?? new Uint8Array(0);
  w.varuint(opts.tiles ?? (records.length > 0 ? 1 : 0));
  if (records.length > 0) {
    const body = opts.body ?? new Uint8Array(zlib.deflateRawSync(records, { finishFlush: zlib.constants.Z_SYNC_FLUSH }));
    w.varuint(opts.rawLength ?? records.length).varuint(body.length).bytes(body);
  } else {
    w.varuint(0).varuint(0);
  }
  if (opts.lossy) w.bytes(opts.lossy);
  else w.varuint(0);
  return w.toBytes();
}

const dec = () => new TileDecoder({ maxWidth: 64 * 65, maxHeight: 256, maxCacheTiles: 64 });

t.test('a well-formed hand-built solid update decodes', async (t) => {
  const r = dec().decode(build({ records: Uint8Array.of(0, 0x08, 10, 20, 30) }));
  t.same([...r.framebuffer.data.subarray(0, 4)], [10, 20, 30, 255]);
});

const cases: Array<[string, () => Uint8Array, string]> = [
  ['empty input', () => new Uint8Array(0), 'TESSERA_ERR_TRUNCATED'],
  ['truncated header', () => build({}).subarray(0, 7), 'TESSERA_ERR_TRUNCATED'],
  ['unknown version', () => build({ version: 9 }), 'TESSERA_ERR_UNSUPPORTED_VERSION'],
  ['unknown flag bits', () => build({ flags: 0x81 }), 'TESSERA_ERR_INVALID_FIELD'],
  ['zero width', () => build({ w: 0 }), 'TESSERA_ERR_INVALID_FIELD'],
  ['absurd dimensions', () => build({ w: 65535, h: 65535 }), 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['cache larger than allowed', () => build({ cache: 60000 }), 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['delta before any key frame', () => build({ key: false }), 'TESSERA_ERR_UNEXPECTED_MESSAGE'],
  ['copy out of bounds', () => build({ copies: [[0, 0, 10, 10, 60, 60]] }), 'TESSERA_ERR_INVALID_FIELD'],
  ['empty copy', () => build({ copies: [[0, 0, 0, 0, 0, 5]] }), 'TESSERA_ERR_INVALID_FIELD'],
  ['too many tiles', () => build({ tiles: 5, records: Uint8Array.of(0, 8, 1, 2, 3) }), 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['declared raw length too large', () => build({ records: Uint8Array.of(0, 8, 1, 2, 3), rawLength: 1 << 24 }), 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['body inflates past declared length', () => build({ records: new Uint8Array(5000), rawLength: 100 }), 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['body shorter than declared', () => build({ records: Uint8Array.of(0, 8, 1, 2, 3), rawLength: 50 }), 'TESSERA_ERR_TRUNCATED'],
  ['tile out of bounds', () => build({ records: Uint8Array.of(5, 8, 1, 2, 3) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['unknown encoding', () => build({ records: Uint8Array.of(0, 7) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['unknown type bits', () => build({ records: Uint8Array.of(0, 0x40) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['palette index out of range (packed)', () => {
    // 3 colours use 2-bit indices; index 3 is past the palette.
    const rec = new Uint8Array(2 + 1 + 9 + 64 * 16);
    rec.set([0, 0x08 | 1, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    rec.fill(0xff, 12);
    return build({ records: rec });
  }, 'TESSERA_ERR_INVALID_FIELD'],
  ['palette index out of range (runs)', () => build({ records: Uint8Array.of(0, 0x08 | 2, 1, 1, 1, 1, 2, 2, 2, 5, 0) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['run past the end of the tile', () => build({ records: Uint8Array.of(0, 0x08 | 2, 1, 1, 1, 1, 2, 2, 2, 0, 0xff, 0x7f) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['indexed colour past the session table', () => build({ records: Uint8Array.of(0, 0x08 | 5, 1, 1, 2, 3, 2 * 1 + 1, 0x9e, 0x1f) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['indexed run past the end of the tile', () => build({ records: Uint8Array.of(0, 0x08 | 5, 1, 1, 2, 3, 1, 0xff, 0x1f) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['indexed run of two on the last pixel', () => build({ records: Uint8Array.of(0, 0x08 | 5, 1, 1, 2, 3, 1, 0xfd, 0x1f, 1, 0) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['indexed record adding too many colours', () => build({ records: Uint8Array.of(0, 0x08 | 5, 0x81, 0x04) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['indexed colours truncated', () => build({ records: Uint8Array.of(0, 0x08 | 5, 2, 1, 2, 3, 4) }), 'TESSERA_ERR_TRUNCATED'],
  ['indexed runs truncated', () => build({ records: Uint8Array.of(0, 0x08 | 5, 1, 1, 2, 3, 1, 0x80) }), 'TESSERA_ERR_TRUNCATED'],
  ['session colour table overflow', () => {
    // 65 tiles of 256 new colours each: the 65th passes the 16384-colour table.
    const recs = new ByteWriter();
    for (let k = 0; k < 65; k++) {
      recs.varuint(0).u8(0x08 | 5).varuint(256);
      for (let i = 0; i < 256; i++) recs.u8(i).u8(k).u8(k >> 8);
      recs.varuint((k * 256) * 2 + 1).varuint(64 * 64 - 2);
    }
    return build({ w: 64 * 65, h: 64, tiles: 65, records: recs.toBytes() });
  }, 'TESSERA_ERR_LIMIT_EXCEEDED'],
  ['truncated pixels', () => build({ records: Uint8Array.of(0, 0x08 | 3, 0, 1, 2, 3) }), 'TESSERA_ERR_TRUNCATED'],
  ['unknown filter', () => build({ records: Uint8Array.of(0, 0x08 | 3, 9) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['prediction outside the screen', () => build({ records: Uint8Array.of(0, 0x08 | 3, 4, 0xff, 0xf0, 0, 0) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['unknown cache slot', () => build({ records: Uint8Array.of(0, 4, 3) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['trailing bytes after records', () => build({ records: Uint8Array.of(0, 8, 1, 2, 3, 9) }), 'TESSERA_ERR_TRAILING_BYTES'],
  ['trailing bytes after update', () => { const u = build({}); const v = new Uint8Array(u.length + 1); v.set(u); return v; }, 'TESSERA_ERR_TRAILING_BYTES'],
  ['lossy tile without image codec', () => build({ lossy: Uint8Array.of(1, 0, 1, 3, 1, 2, 3) }), 'TESSERA_ERR_UNEXPECTED_MESSAGE'],
  ['lossy tile out of range', () => build({ lossy: Uint8Array.of(1, 9, 1, 0) }), 'TESSERA_ERR_INVALID_FIELD'],
  ['tile records announced with an empty body', () => build({ tiles: 1 }), 'TESSERA_ERR_INVALID_FIELD'],
  ['a deflate body with a zero rawLength', () => build({ records: Uint8Array.of(0, 8, 1, 2, 3), rawLength: 0 }), 'TESSERA_ERR_INVALID_FIELD'],
  ['not deflate data', () => build({ records: Uint8Array.of(0, 8, 1, 2, 3), body: Uint8Array.of(0xff, 0xff, 0xff, 0xff) }), 'TESSERA_ERR_DECOMPRESS_FAILED'],
];

for (const [name, make, code] of cases) {
  t.test(`rejects ${name}`, async (t) => {
    const d = dec();
    let err: unknown;
    try {
      d.decode(make());
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof TesseraError, `throws a TesseraError (${String(err)})`);
    t.ok((err as TesseraError).code.startsWith(code), `code ${(err as TesseraError).code} starts with ${code}`);
  });
}

t.test('after a failed update the decoder needs a key frame, then works again', async (t) => {
  const { enc } = makePair(200, 150);
  const d = new TileDecoder({ maxWidth: 256, maxHeight: 256 });
  const k = enc.encode(terminalScreen(200, 150, 0))!.bytes.slice();
  d.decode(k);
  const f1 = terminalScreen(200, 150, 1);
  const u1 = enc.encode(f1)!.bytes.slice();
  const bad = u1.slice();
  bad[2] = bad[2]! ^ 0xff; // wrong seq
  t.throws(() => d.decode(bad), { code: 'TESSERA_ERR_INVALID_FIELD' });
  t.throws(() => d.decode(u1), { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' }, 'deltas refused until a key frame');
  enc.reset();
  const f2 = terminalScreen(200, 150, 2);
  d.decode(enc.encode(f2)!.bytes.slice());
  t.same(Buffer.compare(d.framebuffer!.data, f2.data), 0, 'key frame restores the picture');
});

t.test('a tile painted twice in one update is INVALID_FIELD', async (t) => {
  // Tile 0 gets a SOLID record and then a lossy tile; the JPEG itself is valid and of the tile's size.
  const jpeg = new Uint8Array(await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 9, g: 9, b: 9 } } }).jpeg().toBuffer());
  const lossy = (tile: number) => new ByteWriter().varuint(1).varuint(tile).u8(1).varuint(jpeg.length).bytes(jpeg).toBytes();
  const d = () => new TileDecoder({ maxWidth: 128, maxHeight: 64, imageCodec: new SharpImageCodec() });
  const ok = await d().decodeAsync(build({ w: 128, records: Uint8Array.of(0, 0x08, 10, 20, 30), lossy: lossy(1) }));
  t.equal(ok.framebuffer.width, 128, 'a record and a lossy tile on different tiles decode');
  await t.rejects(d().decodeAsync(build({ w: 128, records: Uint8Array.of(0, 0x08, 10, 20, 30), lossy: lossy(0) })), { code: 'TESSERA_ERR_INVALID_FIELD' });
});
