/**
 * A hostile host cannot hurt a helper with image tiles (issue #16; the other attacks are in hostile-host.test.ts): a scripted host runs the real handshake and then sends crafted
 * display updates to a real Helper running in a child process. For each attack the helper must end the session with
 * a TesseraError code (no crash) and its peak RSS (process.resourceUsage().maxRSS in the child) must stay under
 * 300 MB. Each attack's peak RSS is printed as a comment.
 *
 * Image bombs that take sharp seconds to encode are fixtures (test/fixtures/image-bombs/, made by
 * scripts/make-image-bombs.ts); the quick ones are made here.
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import t from 'tap';
import { ErrorCode } from '../../src/core/index.js';
import { buildUpdate, expectRefused, lossyKey, sendAll, small, tileImage, LOSSY_JPEG, LOSSY_WEBP } from './hostile-lib.js';


const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/image-bombs/${name}`, import.meta.url)));

/** A solid 8192x8192 picture in `format`; sharp makes these small files in about a second each. */
async function solidBomb(format: 'png' | 'tiff', size = 8192): Promise<Uint8Array> {
  const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: 10, g: 20, b: 30 } }, limitInputPixels: false });
  const buf = format === 'png' ? await img.png({ compressionLevel: 9 }).toBuffer() : await img.tiff({ compression: 'deflate' }).toBuffer();
  return new Uint8Array(buf);
}


/** A real 64x64 JPEG whose SOF0 frame header is patched to announce 16383x16383. */
async function hugeSofJpeg(): Promise<Uint8Array> {
  const jpeg = await tileImage('jpeg');
  let at = -1;
  for (let i = 2; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) { at = i; break; }
  if (at < 0) throw new Error('sharp wrote no SOF0');
  jpeg.set([0x3f, 0xff, 0x3f, 0xff], at + 5);
  return jpeg;
}

/** A real 64x64 lossy WebP (VP8) wrapped in a VP8X chunk whose canvas is 16384x16384. */
async function hugeCanvasWebp(): Promise<Uint8Array> {
  const simple = await tileImage('webp');
  const vp8 = simple.subarray(12);
  const out = new Uint8Array(12 + 18 + vp8.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('RIFF'), 0);
  view.setUint32(4, out.length - 8, true);
  out.set(new TextEncoder().encode('WEBPVP8X'), 8);
  view.setUint32(16, 10, true);
  // flags 0, reserved, canvas width-1 and height-1 as 24-bit little-endian.
  out.set([0, 0, 0, 0, 0xff, 0x3f, 0x00, 0xff, 0x3f, 0x00], 20);
  out.set(vp8, 30);
  return out;
}

const SVG_BOMB = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="16384" height="16384"><rect width="100%" height="100%" fill="#123456"/></svg>');




t.test('image bombs in every format libvips reads are refused before decoding', async (t) => {
  const bombs: Array<[string, number, () => Uint8Array | Promise<Uint8Array>]> = [
    ['PNG 8192x8192', LOSSY_JPEG, () => solidBomb('png')],
    ['TIFF 8192x8192', LOSSY_JPEG, () => solidBomb('tiff')],
    ['GIF 8192x8192', LOSSY_JPEG, () => fixture('solid-8192.gif')],
    ['AVIF 8192x8192', LOSSY_WEBP, () => fixture('solid-8192.avif')],
    ['SVG 16384x16384', LOSSY_JPEG, () => SVG_BOMB],
    ['lossless WebP 16383x16383 (38 bytes)', LOSSY_WEBP, () => fixture('lossless-16383.webp')],
    ['JPEG with a 16383x16383 SOF', LOSSY_JPEG, hugeSofJpeg],
    ['WebP VP8X with a 16384x16384 canvas', LOSSY_WEBP, hugeCanvasWebp],
  ];
  for (const [name, format, make] of bombs) {
    const data = await make();
    await expectRefused(t, `${name} (${data.length} bytes)`, small, sendAll(lossyKey(format, data)), ErrorCode.ImageDecodeFailed);
  }
});

t.test('image tiles whose header differs from the tile or the format byte are refused', async (t) => {
  const cases: Array<[string, () => Promise<Uint8Array>]> = [
    ['a 32x32 JPEG in a 64x64 tile', async () => lossyKey(LOSSY_JPEG, await tileImage('jpeg', 32, 32))],
    ['a 64x64 WebP in a 64x64 tile of a 100x40 screen (the tile is 64x40)', async () => buildUpdate({ width: 100, height: 40, lossy: [{ tile: 0, format: LOSSY_WEBP, data: await tileImage('webp') }] })],
    ['a JPEG under the WebP format byte', async () => lossyKey(LOSSY_WEBP, await tileImage('jpeg'))],
    ['a WebP under the JPEG format byte', async () => lossyKey(LOSSY_JPEG, await tileImage('webp'))],
  ];
  for (const [name, make] of cases) {
    const update = await make();
    await expectRefused(t, name, small, sendAll(update), ErrorCode.ImageDecodeFailed);
  }
});

