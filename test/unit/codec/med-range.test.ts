import t from 'tap';
import zlib from 'node:zlib';
import { ByteWriter, TesseraError } from '../../../src/core/index.js';
import { createFramebuffer, TileDecoder } from '../../../src/codec/index.js';
import { ENC_FLAG_RGB, ENC_PIXELS, FILTER_MED_RANGE } from '../../../src/codec/constants.js';
import { decodeMedRange, encodeMedRange, MED_RANGE_OK, MedRangeScratch } from '../../../src/codec/kernels/med-range.js';
import { photoScreen, prng, terminalScreen } from '../../helpers/codec-screens.js';
import { firstDiff, makePair, roundTrip } from '../../helpers/codec-harness.js';

/** A 64x64 picture of `kind` content: noise, a noisy gradient (photo-like) or flat with a few edges. */
function picture(kind: number, rnd: () => number, alpha: boolean): Uint8Array {
  const px = new Uint8Array(80 * 80 * 4);
  for (let y = 0; y < 80; y++) {
    for (let x = 0; x < 80; x++) {
      const i = (y * 80 + x) * 4;
      const n = Math.floor(rnd() * 16);
      for (let c = 0; c < 3; c++) px[i + c] = kind === 0 ? Math.floor(rnd() * 256) : kind === 1 ? (x * (c + 1) + y * 2 + n) & 255 : x > 40 ? 200 : y > 30 ? 10 : 90;
      px[i + 3] = alpha ? (kind === 0 ? Math.floor(rnd() * 256) : (x + y) & 255) : 255;
    }
  }
  return px;
}

t.test('the kernel round-trips random tiles of every size, RGB and RGBA, exactly', async (t) => {
  const rnd = prng(7);
  const s = new MedRangeScratch();
  let bad = 0;
  for (let trial = 0; trial < 150; trial++) {
    const bpp = trial % 2 === 0 ? 3 : 4;
    const src = picture(trial % 3, rnd, bpp === 4);
    const w = 1 + Math.floor(rnd() * 64), h = 1 + Math.floor(rnd() * 64);
    const x0 = Math.floor(rnd() * (80 - w + 1)), y0 = Math.floor(rnd() * (80 - h + 1));
    // A generous limit: noise may code to more than the raw bytes; the round trip must hold anyway.
    const len = encodeMedRange(src, 80 * 4, x0, y0, w, h, bpp, 64 * 64 * 4 + 64, s);
    if (len < 0) continue;
    const coded = s.out.slice(0, len);
    const dst = new Uint8Array(src.length);
    if (decodeMedRange(coded, 0, len, dst, 80 * 4, x0, y0, w, h, bpp, s) !== MED_RANGE_OK) bad++;
    for (let y = 0; y < h; y++) {
      const a = ((y0 + y) * 80 + x0) * 4;
      if (firstDiff(src.subarray(a, a + w * 4), dst.subarray(a, a + w * 4)) >= 0) bad++;
    }
  }
  t.equal(bad, 0, 'every tile decodes to its pixels and reads exactly its coded bytes');
});

t.test('the encoder gives up past its limit, so noise falls back to a PNG filter', async (t) => {
  const s = new MedRangeScratch();
  const noise = picture(0, prng(3), false);
  t.equal(encodeMedRange(noise, 80 * 4, 0, 0, 64, 64, 3, 64 * 64 * 3, s), -1);
  t.ok(encodeMedRange(picture(1, prng(3), false), 80 * 4, 0, 0, 64, 64, 3, 64 * 64 * 3, s) > 0);
});

t.test('photographs go as MED_RANGE records, decode exactly with both inflaters, and cost well under raw pixels', async (t) => {
  for (const backend of ['zlib', 'fflate'] as const) {
    const { enc, dec } = makePair(200, 130, backend);
    const frames = [photoScreen(200, 130, 1), photoScreen(200, 130, 2), terminalScreen(200, 130, 0), photoScreen(200, 130, 1)];
    const r = roundTrip(enc, dec, frames);
    t.equal(r.mismatchAt, -1, `${backend}: every frame decodes exactly`);
  }
  const { enc } = makePair(200, 130);
  const u = enc.encode(photoScreen(200, 130, 1))!;
  t.ok(u.stats.pixels > 0, 'photo tiles are PIXELS records');
  // Raw pixels are 200 * 130 * 3 bytes; this synthetic photo is noisy (24 levels per pixel), so 0.7 of that.
  t.ok(u.bytes.length < 200 * 130 * 3 * 0.7, `${u.bytes.length} bytes`);
});

/** A key update of one 16x8 tile whose only record is `record`, deflated with a fresh stream. */
function oneTile(record: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.u8(1).u8(1).u32(0).u16(16).u16(8).u16(0).varuint(0).varuint(1);
  const body = zlib.deflateRawSync(record, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  w.varuint(record.length).varuint(body.length).bytes(body).varuint(0);
  return w.toBytes();
}

function medRecord(coded: Uint8Array, codedLength = coded.length): Uint8Array {
  const w = new ByteWriter();
  w.u8(0).u8(ENC_PIXELS | ENC_FLAG_RGB).u8(FILTER_MED_RANGE).varuint(codedLength).bytes(coded);
  return w.toBytes();
}

t.test('the decoder rejects malformed MED_RANGE records with codes, and every truncation', async (t) => {
  const fb = createFramebuffer(16, 8);
  const rnd = prng(11);
  for (let i = 0; i < fb.data.length; i++) fb.data[i] = (i & 3) === 3 ? 255 : ((i >> 2) * 3 + Math.floor(rnd() * 8)) & 255;
  const s = new MedRangeScratch();
  const len = encodeMedRange(fb.data, 16 * 4, 0, 0, 16, 8, 3, 16 * 8 * 3, s);
  t.ok(len > 5, `coded in ${len} bytes`);
  const coded = s.out.slice(0, len);
  const dec = () => new TileDecoder({ maxWidth: 64, maxHeight: 64 });
  t.equal(firstDiff(dec().decode(oneTile(medRecord(coded))).framebuffer.data, fb.data), -1, 'the hand-built record decodes exactly');
  const code = (u: Uint8Array): string | undefined => {
    try {
      dec().decode(u);
      return undefined;
    } catch (err) {
      return err instanceof TesseraError ? err.code : `foreign ${String(err)}`;
    }
  };
  const badStart = coded.slice();
  badStart[0] = 7;
  t.equal(code(oneTile(medRecord(badStart))), 'TESSERA_ERR_INVALID_FIELD', 'a first coded byte other than 0');
  t.equal(code(oneTile(medRecord(coded.subarray(0, len - 1)))), 'TESSERA_ERR_TRUNCATED', 'a coded length one short');
  t.equal(code(oneTile(medRecord(Uint8Array.from([...coded, 0])))), 'TESSERA_ERR_TRAILING_BYTES', 'a coded length one long');
  t.equal(code(oneTile(medRecord(new Uint8Array(16 * 8 * 3 + 1)))), 'TESSERA_ERR_INVALID_FIELD', 'a coded length past the raw pixels');
  t.equal(code(oneTile(medRecord(coded, len + 3))), 'TESSERA_ERR_TRUNCATED', 'a coded length past the record');
  const foreign: string[] = [];
  for (let cut = 0; cut < len; cut++) {
    const c = code(oneTile(medRecord(coded.subarray(0, cut))));
    if (c === undefined || c.startsWith('foreign')) foreign.push(`${cut}: ${c}`);
  }
  const flips = prng(5);
  for (let k = 0; k < 300; k++) {
    const m = coded.slice();
    m[1 + Math.floor(flips() * (len - 1))]! ^= 1 << Math.floor(flips() * 8);
    const c = code(oneTile(medRecord(m)));
    if (c !== undefined && c.startsWith('foreign')) foreign.push(`flip ${k}: ${c}`);
  }
  t.same(foreign, [], 'every truncation is refused and bit flips give pixels or a tessera error');
});
