import t from 'tap';
import sharp from 'sharp';
import { ErrorCode, ProtocolError } from '../../../src/core/index.js';
import { checkLossyImage, readImageHeader, TileDecoder } from '../../../src/codec/index.js';
import { orderCopies, COPY_FIELDS } from '../../../src/codec/kernels/copy.js';
import { SharpImageCodec } from '../../../src/node/sharp-image-codec.js';

const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 1, g: 2, b: 3 } } });

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof ProtocolError ? err.code : `foreign: ${String(err)}`;
  }
  return undefined;
}

t.test('reads the size of the JPEG and WebP files sharp writes', async (t) => {
  for (const [w, h] of [[64, 64], [17, 5], [1, 64]] as const) {
    const jpeg = new Uint8Array(await solid(w, h).jpeg().toBuffer());
    const progressive = new Uint8Array(await solid(w, h).jpeg({ progressive: true }).toBuffer());
    const webp = new Uint8Array(await solid(w, h).webp({ quality: 50 }).toBuffer());
    const lossless = new Uint8Array(await solid(w, h).webp({ lossless: true }).toBuffer());
    t.same(readImageHeader(jpeg), { format: 'jpeg', width: w, height: h, lossless: false }, `JPEG ${w}x${h}`);
    t.same(readImageHeader(progressive), { format: 'jpeg', width: w, height: h, lossless: false }, `progressive JPEG ${w}x${h}`);
    t.same(readImageHeader(webp), { format: 'webp', width: w, height: h, lossless: false }, `WebP ${w}x${h}`);
    t.same(readImageHeader(lossless), { format: 'webp', width: w, height: h, lossless: true }, `lossless WebP ${w}x${h}`);
    t.equal(codeOf(() => checkLossyImage(jpeg, 'jpeg', w, h)), undefined, 'a JPEG of the tile size passes');
    t.equal(codeOf(() => checkLossyImage(webp, 'webp', w, h)), undefined, 'a lossy WebP of the tile size passes');
    t.equal(codeOf(() => checkLossyImage(lossless, 'webp', w, h)), ErrorCode.ImageDecodeFailed, 'a lossless WebP is refused');
    t.equal(codeOf(() => checkLossyImage(jpeg, 'webp', w, h)), ErrorCode.ImageDecodeFailed, 'a JPEG under the WebP format byte is refused');
    t.equal(codeOf(() => checkLossyImage(jpeg, 'jpeg', w + 1, h)), ErrorCode.ImageDecodeFailed, 'a size other than the tile is refused');
  }
});

t.test('every prefix of a valid tile image is refused with a tessera code, never a foreign error', async (t) => {
  for (const bytes of [new Uint8Array(await solid(64, 64).jpeg().toBuffer()), new Uint8Array(await solid(64, 64).webp().toBuffer())]) {
    const format = bytes[0] === 0xff ? 'jpeg' : 'webp';
    const codes = new Set<string | undefined>();
    // The RIFF size makes every WebP prefix wrong; a JPEG prefix is fine once it holds the frame header.
    for (let cut = 0; cut < bytes.length; cut++) codes.add(codeOf(() => checkLossyImage(bytes.subarray(0, cut), format, 64, 64)));
    codes.delete(undefined);
    t.same([...codes], [ErrorCode.ImageDecodeFailed], `${format}: only TESSERA_ERR_IMAGE_DECODE_FAILED`);
  }
});

t.test('the sharp codec refuses other formats and sizes before decoding', async (t) => {
  const codec = new SharpImageCodec();
  const png = new Uint8Array(await solid(64, 64).png().toBuffer());
  await t.rejects(codec.decode(png, 'jpeg', 64, 64), { code: ErrorCode.ImageDecodeFailed });
  const jpeg = new Uint8Array(await solid(64, 64).jpeg().toBuffer());
  await t.rejects(codec.decode(jpeg, 'jpeg', 32, 64), { code: ErrorCode.ImageDecodeFailed });
  const rgba = await codec.decode(jpeg, 'jpeg', 64, 64);
  t.equal(rgba.length, 64 * 64 * 4, 'a tile of the right size decodes');
  t.equal(rgba[3], 255, 'alpha is 255');
});

/** A key frame of a `w x h` screen with no records. */
function emptyKey(w: number, h: number, copies: number[][] = [], key = true, seq = 0): Uint8Array {
  const out: number[] = [1, key ? 1 : 0, 0, 0, 0, seq, w >> 8, w & 255, h >> 8, h & 255];
  if (key) out.push(0, 0);
  out.push(copies.length);
  for (const c of copies) for (const v of c) out.push(v >> 8, v & 255);
  out.push(0, 0, 0, 0);
  return Uint8Array.from(out);
}

t.test('copies are applied in place in an order that keeps every read before the update', async (t) => {
  const W = 8, H = 8;
  // A reference result: every copy reads a snapshot, in list order.
  const reference = (pix: Uint32Array, copies: number[][]): Uint32Array => {
    const snap = pix.slice();
    const out = pix.slice();
    for (const [sx, sy, dx, dy, w, h] of copies) for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) out[(dy! + y) * W + dx! + x] = snap[(sy! + y) * W + sx! + x]!;
    return out;
  };
  const sets: number[][][] = [
    [[0, 1, 0, 0, 8, 7]],
    [[0, 0, 0, 1, 8, 7]],
    [[1, 0, 0, 0, 7, 8]],
    [[0, 0, 1, 1, 7, 7]],
    [[0, 4, 0, 0, 8, 2], [0, 2, 0, 0, 8, 6]],
    [[0, 0, 2, 0, 2, 8], [2, 0, 4, 0, 2, 8], [4, 0, 6, 0, 2, 8]],
    [[2, 2, 0, 0, 2, 2], [0, 0, 4, 4, 4, 4]],
    [[0, 0, 0, 0, 8, 8]],
  ];
  for (const copies of sets) {
    const d = new TileDecoder({ maxWidth: 64, maxHeight: 64 });
    const fb = d.decode(emptyKey(W, H)).framebuffer;
    const pix = new Uint32Array(fb.data.buffer);
    for (let i = 0; i < pix.length; i++) pix[i] = i + 1;
    const want = reference(pix, copies);
    d.decode(emptyKey(W, H, copies, false, 1));
    t.same([...pix], [...want], `copies ${JSON.stringify(copies)}`);
  }
  const swap = [[0, 0, 4, 0, 4, 8], [4, 0, 0, 0, 4, 8]];
  const flat = Int32Array.from(swap.flat());
  t.notOk(orderCopies(flat, 2, new Int32Array(2), new Int32Array(2)), 'a swap is a cycle');
  const d = new TileDecoder({ maxWidth: 64, maxHeight: 64 });
  d.decode(emptyKey(W, H));
  t.throws(() => d.decode(emptyKey(W, H, swap, false, 1)), { code: ErrorCode.InvalidField, field: 'copies' }, 'a cycle is refused');
  t.equal(COPY_FIELDS, 6);
});

t.test('an update whose copies move more than four screens is refused', async (t) => {
  const d = new TileDecoder({ maxWidth: 64, maxHeight: 64 });
  d.decode(emptyKey(64, 64));
  t.doesNotThrow(() => d.decode(emptyKey(64, 64, [[0, 1, 0, 0, 64, 63]], false, 1)), 'a screen fits');
  // Four screens plus 64 KiB of slack: 12 screens of 16 KiB are past it.
  const many = Array.from({ length: 12 }, () => [0, 0, 0, 0, 64, 64]);
  t.throws(() => d.decode(emptyKey(64, 64, many, false, 2)), { code: ErrorCode.LimitExceeded });
});

t.test('the default screen budget is 8192x8192', async (t) => {
  const d = new TileDecoder();
  t.doesNotThrow(() => d.decode(emptyKey(8192, 1)));
  t.throws(() => d.decode(emptyKey(8193, 1)), { code: ErrorCode.LimitExceeded });
});
