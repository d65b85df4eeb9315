import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../output.js';
import { TileEncoder, TileDecoder, ZlibDeflateBackend, ZlibInflateBackend, loadPng, type Framebuffer } from '../../index.js';

const TILE = 64;

/** Baseline (a): every 64x64 tile that differs from the previous frame, deflated on its own at zlib level 6. */
function baselineBytes(prev: Framebuffer | undefined, cur: Framebuffer, scratch: Uint8Array): number {
  let total = 0;
  for (let ty = 0; ty < cur.height; ty += TILE) {
    for (let tx = 0; tx < cur.width; tx += TILE) {
      const w = Math.min(TILE, cur.width - tx);
      const h = Math.min(TILE, cur.height - ty);
      let changed = prev === undefined || prev.width !== cur.width || prev.height !== cur.height;
      let n = 0;
      for (let y = 0; y < h; y++) {
        const off = ((ty + y) * cur.width + tx) * 4;
        const row = cur.data.subarray(off, off + w * 4);
        if (!changed && !Buffer.from(row.buffer, row.byteOffset, row.byteLength).equals(Buffer.from(prev!.data.buffer, prev!.data.byteOffset + off, w * 4))) changed = true;
        scratch.set(row, n);
        n += w * 4;
      }
      if (changed) total += deflateSync(scratch.subarray(0, n), { level: 6 }).byteLength;
    }
  }
  return total;
}

function progress(label: string, done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r\x1b[2K${label.padEnd(10)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stderr.write('\r\x1b[2K');
}

export const runBench: Command = {
  usage: `usage: tessera bench [--corpus DIR] [--json]

Encodes and decodes every sequence of screen frames (folders of NNNN.png) under DIR losslessly and prints
bytes, bytes per frame, encode and decode ms per frame, and our bytes as a ratio to a baseline measured in the
same run: each changed 64x64 tile deflated on its own with zlib level 6. Default DIR: ../shared/corpus.
The full benchmark suite (baselines, lossy modes, PNG) is 'npm run bench'.`,
  options: { corpus: { type: 'string' } },
  async run(values, _positionals, out) {
    const dir = resolve(typeof values.corpus === 'string' ? values.corpus : join(process.cwd(), '../shared/corpus'));
    if (!existsSync(dir)) throw new UsageError(`no corpus at ${dir}; pass --corpus DIR (folders of NNNN.png frames)`);
    const sequences = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(dir, d.name, '0000.png'))).map((d) => d.name).sort();
    if (sequences.length === 0) throw new UsageError(`${dir} holds no sequences (folders with 0000.png, 0001.png, ...)`);
    out.say(`tessera bench on ${dir} (node ${process.version})`);
    const rows = [];
    let allOurs = 0;
    let allBase = 0;
    for (const name of sequences) {
      const files = readdirSync(join(dir, name)).filter((f) => /^\d+\.png$/.test(f)).sort();
      let encoder: TileEncoder | undefined;
      const decoder = new TileDecoder({ maxWidth: 16384, maxHeight: 16384, inflate: new ZlibInflateBackend() });
      let prev: Framebuffer | undefined;
      let ours = 0;
      let base = 0;
      let encMs = 0;
      let decMs = 0;
      let scratch = new Uint8Array(TILE * TILE * 4);
      for (let i = 0; i < files.length; i++) {
        const frame = await loadPng(join(dir, name, files[i]!));
        encoder ??= new TileEncoder({ width: frame.width, height: frame.height, deflate: new ZlibDeflateBackend() });
        const t0 = performance.now();
        const update = encoder.encode(frame);
        const t1 = performance.now();
        encMs += t1 - t0;
        if (update) {
          ours += update.bytes.byteLength;
          const t2 = performance.now();
          decoder.decode(update.bytes);
          decMs += performance.now() - t2;
        }
        base += baselineBytes(prev, frame, scratch);
        prev = frame;
        progress(name, i + 1, files.length);
      }
      scratch = new Uint8Array(0);
      allOurs += ours;
      allBase += base;
      const row = { sequence: name, frames: files.length, bytes: ours, bytesPerFrame: Math.round(ours / files.length), baselineBytes: base, ratioToBaseline: Number((ours / base).toFixed(3)), encodeMsPerFrame: Number((encMs / files.length).toFixed(2)), decodeMsPerFrame: Number((decMs / files.length).toFixed(2)) };
      rows.push(row);
      out.event('bench', row);
      out.say(`${name.padEnd(10)} ${String(row.frames).padStart(3)} frames  ${formatBytes(row.bytes).padStart(10)}  ${formatBytes(row.bytesPerFrame).padStart(10)}/frame  ${row.ratioToBaseline.toFixed(3)}x baseline  encode ${row.encodeMsPerFrame.toFixed(1)} ms  decode ${row.decodeMsPerFrame.toFixed(1)} ms`);
    }
    const total = { sequence: 'total', bytes: allOurs, baselineBytes: allBase, ratioToBaseline: Number((allOurs / allBase).toFixed(3)) };
    out.event('bench', total);
    out.say(`total      ${formatBytes(allOurs)} against ${formatBytes(allBase)} baseline: ${total.ratioToBaseline.toFixed(3)}x`);
    return 0;
  },
};
