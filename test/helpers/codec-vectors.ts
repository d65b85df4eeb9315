/**
 * Builds spec/vectors/codec.json: small sessions whose updates use every encoding at least once.
 * Run `node --import tsx test/helpers/codec-vectors.ts` to regenerate; the conformance test only decodes them.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cloneFramebuffer, createFramebuffer, FflateInflateBackend, TileDecoder, TileEncoder, type Framebuffer, type QualityMode } from '../../src/codec/index.js';
import { fromHex, ProtocolError, toHex } from '../../src/core/index.js';
import { ZlibDeflateBackend } from '../../src/node/zlib-backend.js';
import { SharpImageCodec } from '../../src/node/sharp-image-codec.js';
import { desktopWithWindow, fillRect, noiseScreen, photoScreen, terminalScreen } from './codec-screens.js';
import { repoRoot } from './codec-corpus.js';
import { ENC_FLAG_RGB, ENC_PIXELS, FILTER_MED_RANGE, FLAG_KEY } from '../../src/codec/constants.js';
import { encodeMedRange, MedRangeScratch } from '../../src/codec/kernels/med-range.js';

export interface CodecVector {
  name: string;
  quality: QualityMode;
  width: number;
  height: number;
  /** How the updates were made from the encoder's output, when they were changed after it (spec/codec.md §2). */
  note?: string;
  /** `error`: the update must be rejected with this code (it is the last of its vector). */
  updates: Array<{ hex: string; keyFrame: boolean; sha256: string | null; stats: Record<string, number>; error?: string }>;
}

/** Decodes `updates` in order with a fresh decoder and returns the error code each one raises (undefined: none). */
function decodeErrors(width: number, height: number, updates: Uint8Array[]): Array<string | undefined> {
  const dec = new TileDecoder({ maxWidth: width, maxHeight: height, inflate: new FflateInflateBackend() });
  return updates.map((u) => {
    try {
      dec.decode(u);
      return undefined;
    } catch (err) {
      if (err instanceof ProtocolError) return err.code;
      throw err;
    }
  });
}

/**
 * Updates changed after encoding, to pin what a decoder accepts and refuses (spec/codec.md §2): a key update whose
 * copyCount varint `00` is rewritten as `80 00` (not the shortest form), and a session whose seq fields are rewritten
 * to start at 2^32 - 1 and wrap to 0. seq and copyCount sit outside the deflate body, so nothing else changes.
 */
function rewritten(one: CodecVector, pair: CodecVector): CodecVector[] {
  const key = fromHex(one.updates[0]!.hex)!;
  if (key[12] !== 0) throw new Error('expected copyCount 0 at offset 12');
  const long = new Uint8Array(key.byteLength + 1);
  long.set(key.subarray(0, 12), 0);
  long.set([0x80, 0x00], 12);
  long.set(key.subarray(13), 14);
  const [varintError] = decodeErrors(one.width, one.height, [long]);
  if (varintError === undefined) throw new Error('the decoder accepted a non-shortest varint');
  const seqs = [0xffffffff, 0, 1];
  const wrapped = pair.updates.slice(0, 3).map((u, i) => {
    const b = fromHex(u.hex)!;
    new DataView(b.buffer).setUint32(2, seqs[i]!);
    return b;
  });
  const wrapErrors = decodeErrors(pair.width, pair.height, wrapped);
  if (wrapErrors.some((e) => e !== undefined)) throw new Error(`the decoder refused the wrapped seq: ${wrapErrors}`);
  const skipped = fromHex(pair.updates[1]!.hex)!;
  new DataView(skipped.buffer).setUint32(2, 1);
  const [skipError] = decodeErrors(pair.width, pair.height, [wrapped[0]!, skipped]).slice(1);
  if (skipError === undefined) throw new Error('the decoder accepted a skipped seq');
  return [
    {
      name: 'reject-non-shortest-varint', quality: 'lossless', width: one.width, height: one.height,
      note: `the one-pixel key update with copyCount 00 rewritten as 80 00 (bytes 12..13)`,
      updates: [{ hex: toHex(long), keyFrame: true, sha256: null, stats: {}, error: varintError }],
    },
    {
      name: 'seq-wrap', quality: 'lossless', width: pair.width, height: pair.height,
      note: 'the scroll-copy session with seq (bytes 2..5) rewritten to ffffffff, 00000000, 00000001: a key update may carry any seq, and seq + 1 wraps mod 2^32',
      updates: wrapped.map((b, i) => ({ ...pair.updates[i]!, hex: toHex(b) })),
    },
    {
      name: 'reject-seq-skip', quality: 'lossless', width: pair.width, height: pair.height,
      note: 'the scroll-copy key update with seq ffffffff, then its next update with seq 00000001 instead of 00000000',
      updates: [{ ...pair.updates[0]!, hex: toHex(wrapped[0]!) }, { hex: toHex(skipped), keyFrame: false, sha256: null, stats: {}, error: skipError }],
    },
  ];
}

/**
 * One-tile key updates built by hand around a MED_RANGE record (spec/codec.md §4.4.1), so that its coded bytes can be
 * changed inside the deflate body (stored blocks): the valid record, then a first coded byte of 1, a coded length one byte short,
 * one byte too long (a 0 appended) and longer than the raw pixels.
 */
function medRangeHand(): CodecVector[] {
  const w = 24, h = 20;
  const photo = photoScreen(w, h, 5);
  const scratch = new MedRangeScratch();
  const len = encodeMedRange(photo.data, w * 4, 0, 0, w, h, 3, w * h * 3, scratch);
  if (len < 0) throw new Error('the photo did not range-code below its raw size');
  const coded = scratch.out.slice(0, len);
  const update = (codedLength: number, bytes: Uint8Array): Uint8Array => {
    const record = [0, ENC_PIXELS | ENC_FLAG_RGB, FILTER_MED_RANGE];
    for (let v = codedLength; ; v >>>= 7) {
      if (v < 0x80) { record.push(v); break; }
      record.push((v & 0x7f) | 0x80);
    }
    const raw = Uint8Array.from([...record, ...bytes]);
    // Stored deflate blocks (level 0): the record reads as it is in the hex, and mutations reach the coded bytes.
    const body = new ZlibDeflateBackend(0).deflateSync(raw);
    const varuint = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...varuint(v >>> 7)]);
    return Uint8Array.from([1, FLAG_KEY, 0, 0, 0, 0, 0, w, 0, h, 0, 0, 0, 1, ...varuint(raw.length), ...varuint(body.length), ...body, 0]);
  };
  const badStart = coded.slice();
  badStart[0] = 1;
  const cases: Array<[string, string, Uint8Array]> = [
    ['reject-med-range-start', 'the first coded byte rewritten from 00 to 01', update(len, badStart)],
    ['reject-med-range-short', 'the last coded byte dropped (coded length one less)', update(len - 1, coded.subarray(0, len - 1))],
    ['reject-med-range-long', 'a 00 byte appended to the coded bytes (coded length one more)', update(len + 1, Uint8Array.from([...coded, 0]))],
    ['reject-med-range-length', `coded length ${w * h * 3 + 1}, one more than the raw pixels, with that many bytes`, update(w * h * 3 + 1, Uint8Array.from([...coded, ...new Uint8Array(w * h * 3 + 1 - len)]))],
  ];
  const good = update(len, coded);
  const [goodError] = decodeErrors(w, h, [good]);
  if (goodError !== undefined) throw new Error(`the decoder refused the hand-made MED_RANGE update: ${goodError}`);
  const out: CodecVector[] = [{
    name: 'med-range-hand', quality: 'lossless', width: w, height: h,
    note: `a hand-made key update: one PIXELS record, RGB, filter 5 (MED_RANGE), coded length ${len}, its deflate body stored (node:zlib level 0), so the record shows in the hex`,
    updates: [{ hex: toHex(good), keyFrame: true, sha256: sha256(photo), stats: {} }],
  }];
  for (const [name, what, bytes] of cases) {
    const [error] = decodeErrors(w, h, [bytes]);
    if (error === undefined) throw new Error(`the decoder accepted ${name}`);
    out.push({ name, quality: 'lossless', width: w, height: h, note: `med-range-hand with ${what}`, updates: [{ hex: toHex(bytes), keyFrame: true, sha256: null, stats: {}, error }] });
  }
  return out;
}

/** A photograph with a smooth alpha ramp, so its PIXELS records carry four channels. */
function translucentPhoto(width: number, height: number, seed: number): Framebuffer {
  const fb = photoScreen(width, height, seed);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) fb.data[(y * width + x) * 4 + 3] = (64 + x + y * 2) & 255;
  return fb;
}

export function sha256(fb: Framebuffer): string {
  return createHash('sha256').update(fb.data).digest('hex');
}

function lossless(name: string, width: number, height: number, frames: Framebuffer[], cacheTiles = 8): CodecVector {
  const enc = new TileEncoder({ width, height, deflate: new ZlibDeflateBackend(6), cacheTiles });
  const updates: CodecVector['updates'] = [];
  for (const f of frames) {
    const u = enc.encode(f);
    if (u === undefined) continue;
    updates.push({ hex: toHex(u.bytes), keyFrame: u.keyFrame, sha256: sha256(f), stats: { ...u.stats } });
  }
  return { name, quality: 'lossless', width, height, updates };
}

export async function buildVectors(): Promise<CodecVector[]> {
  const out: CodecVector[] = [];
  // Solid, palette (packed and runs), pixels with spatial filters, edge tiles (70x66).
  const a = createFramebuffer(70, 66);
  fillRect(a, 0, 0, 70, 66, 30, 60, 90);
  fillRect(a, 0, 0, 64, 64, 200, 10, 10);
  fillRect(a, 10, 10, 20, 20, 0, 0, 0);
  const b = cloneFramebuffer(a);
  fillRect(b, 0, 0, 64, 64, 10, 200, 10);
  for (let i = 0; i < 64; i++) fillRect(b, i, (i * 7) % 64, 1, 1, i * 4, 255 - i * 4, 0);
  // A checkerboard: runs cost more than packed indices, so a PALETTE record rather than INDEXED.
  const chk = cloneFramebuffer(b);
  for (let y = 0; y < 64; y++) for (let x = (y & 1); x < 64; x += 2) fillRect(chk, x, y, 1, 1, 250, 250, 250);
  const c = photoScreen(70, 66, 7);
  out.push(lossless('solid-palette-pixels', 70, 66, [a, b, chk, c, noiseScreen(70, 66, 3)]));
  // Scroll copies and PREV prediction.
  out.push(lossless('scroll-copy', 128, 140, [terminalScreen(128, 140, 0), terminalScreen(128, 140, 2), terminalScreen(128, 140, 5)]));
  // Window move: copies and PREV with an offset.
  out.push(lossless('window-move', 256, 192, [desktopWithWindow(256, 192, 20, 20, 160, 120), desktopWithWindow(256, 192, 44, 32, 160, 120)]));
  // Cache: a screen returns; transparent pixels (RGBA records).
  const t1 = terminalScreen(128, 64, 0), t2 = terminalScreen(128, 64, 9);
  const alpha = createFramebuffer(128, 64);
  fillRect(alpha, 0, 0, 128, 64, 5, 6, 7, 100);
  out.push(lossless('cache-and-alpha', 128, 64, [t1, t2, t1, alpha], 4));
  // One 1x1 screen.
  const one = createFramebuffer(1, 1);
  fillRect(one, 0, 0, 1, 1, 1, 2, 3);
  out.push(lossless('one-pixel', 1, 1, [one]));
  // Lossy: the decoded picture is only checked for size (sha256 null), then the lossless refresh makes it exact.
  const enc = new TileEncoder({ width: 128, height: 64, quality: 'balanced', deflate: new ZlibDeflateBackend(6), imageCodec: new SharpImageCodec() });
  const photo = photoScreen(128, 64, 11);
  const updates: CodecVector['updates'] = [];
  for (let k = 0; k < 4; k++) {
    const u = await enc.encodeAsync(photo);
    if (u === undefined) continue;
    updates.push({ hex: toHex(u.bytes), keyFrame: u.keyFrame, sha256: u.stats.lossy > 0 ? null : sha256(photo), stats: { ...u.stats } });
  }
  out.push({ name: 'lossy-then-refresh', quality: 'balanced', width: 128, height: 64, updates });
  // Photographs: PIXELS records with the MED_RANGE filter, RGB (edge tiles too) then RGBA.
  out.push(lossless('med-range', 70, 66, [photoScreen(70, 66, 21), translucentPhoto(70, 66, 22)]));
  out.push(...medRangeHand());
  out.push(...rewritten(out.find((v) => v.name === 'one-pixel')!, out.find((v) => v.name === 'scroll-copy')!));
  return out;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]).endsWith(path.join('test', 'helpers', 'codec-vectors.ts'))) {
  const vectors = await buildVectors();
  const file = path.join(repoRoot, 'spec/vectors/codec.json');
  writeFileSync(file, JSON.stringify({ description: 'spec/codec.md vectors: decode each update in order with a fresh decoder per vector; sha256 is of the RGBA picture after it (null: lossy, check size only); error: the update is rejected with that code; stats: what the encoder counted in it (spec/codec.md §10)', vectors }, null, 1) + '\n');
  console.log(`wrote ${file}`);
}
