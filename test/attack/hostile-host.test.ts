/**
 * A hostile host cannot hurt a helper (issue #16): a scripted host runs the real handshake and then sends crafted
 * display updates to a real Helper running in a child process. For each attack the helper must end the session with
 * a TesseraError code (no crash) and its peak RSS (process.resourceUsage().maxRSS in the child) must stay under
 * 300 MB. Each attack's peak RSS is printed as a comment.
 *
 * Image bombs that take sharp seconds to encode are fixtures (test/fixtures/image-bombs/, made by
 * scripts/make-image-bombs.ts); the quick ones are made here.
 */
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { ErrorCode, MAX_UNDECODED_UPDATES } from '../../src/core/index.js';
import { buildUpdate, runAttack, solidRecords, LOSSY_JPEG, LOSSY_WEBP, type AttackOptions, type AttackReport, type ScriptedHost } from './hostile-lib.js';

/** The budget the helper must stay under, whatever the host sends. */
const MAX_RSS_MIB = 300;

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/image-bombs/${name}`, import.meta.url)));

/** A solid 8192x8192 picture in `format`; sharp makes these small files in about a second each. */
async function solidBomb(format: 'png' | 'tiff', size = 8192): Promise<Uint8Array> {
  const img = sharp({ create: { width: size, height: size, channels: 3, background: { r: 10, g: 20, b: 30 } }, limitInputPixels: false });
  const buf = format === 'png' ? await img.png({ compressionLevel: 9 }).toBuffer() : await img.tiff({ compression: 'deflate' }).toBuffer();
  return new Uint8Array(buf);
}

/** A real w x h tile image from sharp. */
async function tileImage(format: 'jpeg' | 'webp', w = 64, h = 64): Promise<Uint8Array> {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 100, b: 50 } } });
  const buf = format === 'jpeg' ? await img.jpeg({ quality: 80 }).toBuffer() : await img.webp({ quality: 80, effort: 1 }).toBuffer();
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

/** A key frame of one 64x64 lossy tile. */
const lossyKey = (format: number, data: Uint8Array, size = 64): Uint8Array => buildUpdate({ width: size, height: size, lossy: [{ tile: 0, format, data }] });

/** Runs an attack and checks the helper's report: a clean close with `code`, and the RSS budget. */
async function expectRefused(t: Test, name: string, options: AttackOptions, script: (h: ScriptedHost) => Promise<void>, code: string): Promise<AttackReport> {
  const r = await runAttack(options, script);
  t.comment(`${name}: peak RSS ${r.maxRssMiB} MiB, closed ${r.closed} with ${r.code ?? 'no error'} after ${r.frames} frames${r.message ? ` (${r.message})` : ''}`);
  t.equal(r.exitCode, 0, `${name}: the helper process did not crash${r.exitCode === 0 ? '' : `: ${r.stderr}`}`);
  t.ok(r.closed, `${name}: the helper ended the session`);
  t.equal(r.code, code, `${name}: the session ended with ${code}`);
  t.ok(r.maxRssMiB < MAX_RSS_MIB, `${name}: peak RSS ${r.maxRssMiB} MiB is under ${MAX_RSS_MIB} MB`);
  return r;
}

const small = { welcome: { width: 64, height: 64 } } as const;
const sendAll = (...updates: Uint8Array[]) => async (h: ScriptedHost): Promise<void> => {
  for (const u of updates) if (!(await h.send(u))) return;
};

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

t.test('huge screens are refused by the default 8192x8192 budget', async (t) => {
  const { records } = solidRecords(64, 64, [1, 2, 3]);
  await expectRefused(t, '16384x16384 announced', { welcome: { width: 16384, height: 16384 } },
    sendAll(buildUpdate({ width: 16384, height: 16384, records, tileCount: 1 })), ErrorCode.LimitExceeded);
  await expectRefused(t, '65535x65535 announced', small,
    sendAll(buildUpdate({ width: 65535, height: 65535, records, tileCount: 1 })), ErrorCode.LimitExceeded);
});

t.test('a solid key frame at the largest screen plus overlapping copies holds one picture', async (t) => {
  // The default 8192x8192 picture alone is 256 MiB; the 300 MB budget is checked with the limit configured down to
  // 5120x5120 (100 MiB), where a second, snapshot-sized picture would show.
  const size = 5120;
  const options = { welcome: { width: size, height: size }, helper: { maxWidth: size, maxHeight: size } };
  const { records, tiles } = solidRecords(size, size, [40, 80, 120]);
  const key = buildUpdate({ width: size, height: size, records, tileCount: tiles });
  // A scroll up whose destination another copy writes first: the pair interferes (the old decoder snapshotted the
  // picture for it) but has an order that applies it in place.
  const pair = [[0, 128, 0, 0, size, 64], [0, 64, 0, 0, size, size - 64]];
  const deltas = [1, 2, 3].map((seq) => buildUpdate({ key: false, seq, width: size, height: size, copies: pair }));
  // Two copies that each overwrite the other's source: a cycle, an error since spec/codec.md §3 forbids it.
  const cycle = buildUpdate({ key: false, seq: 4, width: size, height: size, copies: [[0, 0, 0, 64, size, size - 64], [0, 64, 0, 0, size, size - 64]] });
  const r = await expectRefused(t, `solid ${size}x${size} key frame, 3 updates of overlapping copies, then a cycle`, options, sendAll(key, ...deltas, cycle), ErrorCode.InvalidField);
  t.equal(r.frames, 4, 'the key frame and the three copy updates were decoded');
});

t.test('an update that expands past four screens is refused before anything is allocated', async (t) => {
  const { records, tiles } = solidRecords(1024, 1024, [1, 2, 3]);
  const key = buildUpdate({ width: 1024, height: 1024, records, tileCount: tiles });
  const copies = Array.from({ length: 4096 }, () => [0, 0, 0, 0, 1024, 1024]);
  await expectRefused(t, '4096 full-screen copies', { welcome: { width: 1024, height: 1024 } },
    sendAll(key, buildUpdate({ key: false, seq: 1, width: 1024, height: 1024, copies })), ErrorCode.LimitExceeded);
});

/** A raw deflate stream of about `gib` GiB of zeros in about 1 MB: one 64 MiB sync-flushed part, repeated. */
function deflateBomb(gib: number): Uint8Array {
  const part = zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const copies = gib * 16;
  const out = new Uint8Array(part.length * copies);
  for (let i = 0; i < copies; i++) out.set(part, i * part.length);
  return out;
}

t.test('deflate bombs stop at the declared length', async (t) => {
  const body = deflateBomb(2);
  t.comment(`deflate bomb: ${body.length} bytes inflating to 2 GiB`);
  const size = 4096;
  const tiles = (size / 64) ** 2;
  await expectRefused(t, 'deflate bomb declaring 64 KiB', { welcome: { width: size, height: size } },
    sendAll(buildUpdate({ width: size, height: size, body, tileCount: tiles, rawLength: 65536 })), ErrorCode.LimitExceeded);
  await expectRefused(t, 'deflate bomb declaring the most a 4096x4096 key frame may hold', { welcome: { width: size, height: size } },
    sendAll(buildUpdate({ width: size, height: size, body, tileCount: tiles, rawLength: tiles * 17420 })), ErrorCode.LimitExceeded);
});

t.test('a flood of updates that ignores acks', async (t) => {
  // Every update carries a real 64x64 JPEG padded with 60 comment segments (about 4 MB), so decoding each takes a
  // trip through sharp while the next ones keep arriving; the host never waits for an ack.
  const jpeg = await tileImage('jpeg');
  const comment = new Uint8Array(4 + 65533);
  comment.set([0xff, 0xfe, 0xff, 0xff]);
  const padded = new Uint8Array(jpeg.length + 60 * comment.length);
  padded.set(jpeg.subarray(0, 2));
  for (let i = 0; i < 60; i++) padded.set(comment, 2 + i * comment.length);
  padded.set(jpeg.subarray(2), 2 + 60 * comment.length);
  const { records } = solidRecords(64, 64, [9, 9, 9]);
  const maxBytes = 256 * 1024 * 1024;
  let sent = 0;
  const r = await runAttack({ ...small, deadlineMs: 20_000 }, async (h) => {
    if (!(await h.send(buildUpdate({ width: 64, height: 64, records, tileCount: 1 })))) return;
    for (let seq = 1; sent < maxBytes; seq++) {
      const u = buildUpdate({ key: false, seq, width: 64, height: 64, lossy: [{ tile: 0, format: LOSSY_JPEG, data: padded }] });
      if (!(await h.send(u))) return;
      sent += u.length;
    }
    h.close();
  });
  const name = 'flood of 4 MB updates, acks ignored';
  t.comment(`${name}: host sent ${Math.round(sent / 1048576)} MiB and saw ${r.acks} acks; helper decoded ${r.frames} updates, peak RSS ${r.maxRssMiB} MiB, closed ${r.closed} with ${r.code ?? 'no error'}${r.message ? ` (${r.message})` : ''}`);
  t.equal(r.exitCode, 0, `${name}: the helper process did not crash${r.exitCode === 0 ? '' : `: ${r.stderr}`}`);
  // A helper holds at most MAX_UNDECODED_UPDATES updates it has not acknowledged (spec/session.md §6.3): either it
  // kept up (when the host closed, at most that many were still waiting, and were dropped with the session), or the
  // host outran it and the session ended with LIMIT_EXCEEDED.
  const { updatesSent } = r;
  const keptUp = r.code === undefined && r.frames >= updatesSent - MAX_UNDECODED_UPDATES;
  t.ok(r.code === ErrorCode.LimitExceeded || keptUp, `${name}: the helper decoded ${r.frames} of ${updatesSent} updates, or ended with LIMIT_EXCEEDED (${r.code ?? 'no error'})`);
  t.ok(r.maxRssMiB < MAX_RSS_MIB, `${name}: peak RSS ${r.maxRssMiB} MiB is under ${MAX_RSS_MIB} MB`);
});
