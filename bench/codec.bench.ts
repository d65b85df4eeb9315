/**
 * Codec benchmark over the screen corpus: node --import tsx bench/codec.bench.ts [--json] [--corpus DIR] [--modes lossless,balanced]
 * Per sequence and mode: total bytes, bytes per frame, encode and decode ms per frame; baselines measured in the same
 * run: (a) each changed 64x64 tile deflated on its own with node:zlib level 6 (RGBA), (b) the full frame as PNG via
 * sharp whenever it changed. Also: unchanged-frame detection time against Buffer.equals over the frame.
 * Where the bytes go, per sequence and mode: key-frame bytes against delta bytes, and the encoder's counts (EncodeStats,
 * spec/codec.md §10) summed over the updates: copies, records by kind, inflated body bytes.
 */
import zlib from 'node:zlib';
import Benchmark from 'benchmark';
import { TileDecoder, TileEncoder, FflateInflateBackend, type EncodeStats, type Framebuffer, type QualityMode } from '../src/codec/index.js';
import { nodeBytesEqual, ZlibDeflateBackend, ZlibInflateBackend } from '../src/node/zlib-backend.js';
import { SharpImageCodec } from '../src/node/sharp-image-codec.js';
import { encodePng } from '../src/node/png.js';
import { corpusSequences, defaultCorpusDir, loadSequence } from '../test/helpers/codec-corpus.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const corpusAt = args.indexOf('--corpus');
const dir = corpusAt >= 0 ? args[corpusAt + 1]! : defaultCorpusDir;
const modesAt = args.indexOf('--modes');
const modes = (modesAt >= 0 ? args[modesAt + 1]! : 'lossless,balanced').split(',') as QualityMode[];
const log = (s: string): void => {
  if (!json) console.log(s);
};

function baselineTiles(prev: Uint8Array | undefined, f: Framebuffer): number {
  let bytes = 0;
  const W = f.width;
  for (let ty = 0; ty < f.height; ty += 64) {
    for (let tx = 0; tx < W; tx += 64) {
      const w = Math.min(64, W - tx), h = Math.min(64, f.height - ty);
      let changed = prev === undefined;
      const tile = new Uint8Array(w * h * 4);
      for (let y = 0; y < h; y++) {
        const s = ((ty + y) * W + tx) * 4;
        const row = f.data.subarray(s, s + w * 4);
        tile.set(row, y * w * 4);
        if (!changed && Buffer.compare(row, prev!.subarray(s, s + w * 4)) !== 0) changed = true;
      }
      if (changed) bytes += zlib.deflateSync(tile, { level: 6 }).length;
    }
  }
  return bytes;
}

interface Row {
  sequence: string;
  mode: string;
  frames: number;
  bytes: number;
  bytesPerFrame: number;
  encodeMsPerFrame: number;
  decodeMsPerFrame: number;
  decodeFflateMsPerFrame: number;
  baselineTilesBytes: number;
  baselineTilesMsPerFrame: number;
  baselinePngBytes: number;
  baselinePngMsPerFrame: number;
  ratioBytesVsTiles: number;
  ratioBytesVsPng: number;
  ratioEncodeTimeVsTiles: number;
  ratioEncodeTimeVsPng: number;
  /** Bytes of the first (key) update and of the rest. */
  keyBytes: number;
  deltaBytes: number;
  /** The encoder's counts summed over every update. */
  stats: EncodeStats;
}

function addStats(sum: EncodeStats, s: Readonly<EncodeStats>): void {
  for (const k of Object.keys(sum) as (keyof EncodeStats)[]) sum[k] += s[k];
}

const rows: Row[] = [];
const sequences = corpusSequences(dir);
if (sequences.length === 0) {
  console.error(`no corpus at ${dir}`);
  process.exit(2);
}
let sampleFrame: Framebuffer | undefined;
for (const sequence of sequences) {
  const frames: Framebuffer[] = [];
  for await (const f of loadSequence(sequence, dir)) frames.push(f);
  sampleFrame ??= frames[0];
  const first = frames[0]!;
  // Baselines.
  let tilesBytes = 0, tilesMs = 0, pngBytes = 0, pngMs = 0;
  let prev: Uint8Array | undefined;
  for (const f of frames) {
    let t0 = performance.now();
    tilesBytes += baselineTiles(prev, f);
    tilesMs += performance.now() - t0;
    if (prev === undefined || Buffer.compare(prev, f.data) !== 0) {
      t0 = performance.now();
      pngBytes += (await encodePng(f)).length;
      pngMs += performance.now() - t0;
    }
    prev = f.data;
  }
  for (const mode of modes) {
    const imageCodec = mode === 'lossless' ? undefined : new SharpImageCodec();
    const enc = new TileEncoder({ width: first.width, height: first.height, quality: mode, deflate: new ZlibDeflateBackend(6), imageCodec, bytesEqual: nodeBytesEqual });
    const dec = new TileDecoder({ maxWidth: first.width, maxHeight: first.height, inflate: new ZlibInflateBackend(), imageCodec });
    const decF = new TileDecoder({ maxWidth: first.width, maxHeight: first.height, inflate: new FflateInflateBackend(), imageCodec });
    let bytes = 0, encMs = 0, decMs = 0, decFMs = 0, keyBytes = 0;
    const updates: Uint8Array[] = [];
    const sum: EncodeStats = { changedTiles: 0, copies: 0, solid: 0, palette: 0, indexed: 0, pixels: 0, prev: 0, cache: 0, lossy: 0, refresh: 0, rawBodyBytes: 0 };
    for (const f of frames) {
      const t0 = performance.now();
      const u = mode === 'lossless' ? enc.encode(f) : await enc.encodeAsync(f);
      encMs += performance.now() - t0;
      if (u === undefined) continue;
      bytes += u.bytes.length;
      if (updates.length === 0) keyBytes = u.bytes.length;
      addStats(sum, u.stats);
      updates.push(u.bytes.slice());
    }
    // A lossy mode keeps refreshing after the last frame; count those updates too (the picture converges).
    if (mode !== 'lossless') {
      for (let k = 0; k < 4; k++) {
        const u = await enc.encodeAsync(frames[frames.length - 1]!);
        if (u === undefined) break;
        bytes += u.bytes.length;
        addStats(sum, u.stats);
        updates.push(u.bytes.slice());
      }
    }
    for (const u of updates) {
      let t0 = performance.now();
      if (mode === 'lossless') dec.decode(u);
      else await dec.decodeAsync(u);
      decMs += performance.now() - t0;
      t0 = performance.now();
      if (mode === 'lossless') decF.decode(u);
      else await decF.decodeAsync(u);
      decFMs += performance.now() - t0;
    }
    const n = frames.length;
    const row: Row = {
      sequence, mode, frames: n, bytes, bytesPerFrame: Math.round(bytes / n),
      encodeMsPerFrame: +(encMs / n).toFixed(2), decodeMsPerFrame: +(decMs / n).toFixed(2), decodeFflateMsPerFrame: +(decFMs / n).toFixed(2),
      baselineTilesBytes: tilesBytes, baselineTilesMsPerFrame: +(tilesMs / n).toFixed(2), baselinePngBytes: pngBytes, baselinePngMsPerFrame: +(pngMs / n).toFixed(2),
      ratioBytesVsTiles: +(bytes / tilesBytes).toFixed(3), ratioBytesVsPng: +(bytes / pngBytes).toFixed(3),
      ratioEncodeTimeVsTiles: +(encMs / tilesMs).toFixed(3), ratioEncodeTimeVsPng: +(encMs / pngMs).toFixed(3),
      keyBytes, deltaBytes: bytes - keyBytes, stats: sum,
    };
    rows.push(row);
    log(`${sequence.padEnd(10)} ${mode.padEnd(13)} ${String(bytes).padStart(9)} B  ${String(row.bytesPerFrame).padStart(7)} B/frame  enc ${row.encodeMsPerFrame} ms  dec ${row.decodeMsPerFrame} ms (fflate ${row.decodeFflateMsPerFrame})  | vs tiles-zlib6 ${row.ratioBytesVsTiles}x bytes ${row.ratioEncodeTimeVsTiles}x time | vs PNG ${row.ratioBytesVsPng}x bytes ${row.ratioEncodeTimeVsPng}x time`);
    log(`           key ${keyBytes} B, deltas ${bytes - keyBytes} B in ${updates.length - 1} updates; tiles changed ${sum.changedTiles}, copies ${sum.copies}, records: solid ${sum.solid} palette ${sum.palette} indexed ${sum.indexed} pixels ${sum.pixels} prev ${sum.prev} cache ${sum.cache} lossy ${sum.lossy} (refresh ${sum.refresh}), inflated body ${sum.rawBodyBytes} B`);
  }
}
for (const mode of modes) {
  const mine = rows.filter((r) => r.mode === mode);
  const bytes = mine.reduce((s, r) => s + r.bytes, 0);
  const tiles = mine.reduce((s, r) => s + r.baselineTilesBytes, 0);
  const png = mine.reduce((s, r) => s + r.baselinePngBytes, 0);
  log(`TOTAL      ${mode.padEnd(13)} ${bytes} B  vs tiles-zlib6 ${tiles} B = ${(bytes / tiles).toFixed(3)}x  vs PNG ${png} B = ${(bytes / png).toFixed(3)}x`);
}

// Unchanged-frame detection vs Buffer.equals, with benchmark.js.
const f = sampleFrame!;
const copy = { width: f.width, height: f.height, data: f.data.slice() };
const enc = new TileEncoder({ width: f.width, height: f.height, deflate: new ZlibDeflateBackend(6), bytesEqual: nodeBytesEqual });
enc.encode(f);
const encJs = new TileEncoder({ width: f.width, height: f.height, deflate: new ZlibDeflateBackend(6) });
encJs.encode(f);
const a = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.length);
const b = Buffer.from(copy.data.buffer, copy.data.byteOffset, copy.data.length);
const hz: Record<string, number> = {};
await new Promise<void>((resolve) => {
  new Benchmark.Suite()
    .add('encoder.encode(unchanged frame)', () => {
      if (enc.encode(copy) !== undefined) throw new Error('frame should be unchanged');
    })
    .add('encoder.encode(unchanged frame), pure-JS compare', () => {
      if (encJs.encode(copy) !== undefined) throw new Error('frame should be unchanged');
    })
    .add('Buffer.equals(whole frame)', () => {
      if (!a.equals(b)) throw new Error('frames should be equal');
    })
    .on('cycle', (ev: Benchmark.Event) => {
      const t = ev.target as unknown as Benchmark;
      hz[t.name!] = t.hz!;
      log(String(t));
    })
    .on('complete', () => resolve())
    .run();
});
const unchangedRatio = hz['Buffer.equals(whole frame)']! / hz['encoder.encode(unchanged frame)']!;
const jsRatio = hz['Buffer.equals(whole frame)']! / hz['encoder.encode(unchanged frame), pure-JS compare']!;
log(`pure-JS unchanged-frame detection (browser path) takes ${jsRatio.toFixed(2)}x the time of Buffer.equals`);
log(`unchanged-frame detection takes ${unchangedRatio.toFixed(2)}x the time of Buffer.equals (${(1000 / hz['encoder.encode(unchanged frame)']!).toFixed(3)} ms vs ${(1000 / hz['Buffer.equals(whole frame)']!).toFixed(3)} ms)`);
if (json) console.log(JSON.stringify({ corpus: dir, rows, unchanged: { encodeHz: hz['encoder.encode(unchanged frame)'], bufferEqualsHz: hz['Buffer.equals(whole frame)'], ratio: unchangedRatio, pureJsRatio: jsRatio } }));
