/**
 * Host memory under a slow helper (issue: sessions): a replay streams for a while (default 5 minutes) to one helper
 * that reads slowly (its stream is paused most of each second), and the host's memory is sampled every few seconds.
 * Prints RSS and heap at the start (after warm-up), the end and the peak, and end/start ratios; "flat" means within 10%.
 * Usage: node --expose-gc --import tsx bench/memory.bench.ts [--seconds N] [--corpus DIR] [--json]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { Host, Helper, ReplayScreen, createDuplexPair } from '../src/index.js';
import { environment, wantsJson } from './lib/bench.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(arg('--seconds') ?? 300);
const json = wantsJson();
const log = (s: string) => {
  if (!json) console.log(s);
};
const corpus = resolve(arg('--corpus') ?? join(import.meta.dirname, '../../shared/corpus/terminal'));

async function framesDir(): Promise<{ dir: string; cleanup: () => void }> {
  if (existsSync(join(corpus, '0000.png'))) return { dir: corpus, cleanup: () => {} };
  // No corpus: generate a scrolling text-like sequence.
  const dir = mkdtempSync(join(tmpdir(), 'tessera-mem-'));
  for (let f = 0; f < 20; f++) {
    const w = 1280;
    const h = 720;
    const rgb = Buffer.alloc(w * h * 3, 250);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((y + f * 12) % 16 < 10) && ((x * 7 + ((y + f * 12) >> 4) * 13) % 11 < 4)) rgb.fill(20, (y * w + x) * 3, (y * w + x) * 3 + 3);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `${String(f).padStart(4, '0')}.png`));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const gc = (globalThis as { gc?: () => void }).gc;
const sample = () => {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
};

const env = environment();
const { dir, cleanup } = await framesDir();
log(`tessera memory bench — node ${env.node}, ${env.cpu}; ${seconds} s replay of ${dir} to one slow helper${gc ? '' : ' (run with --expose-gc for steadier figures)'}`);
const source = await ReplayScreen.open({ dir, pace: 'fixed', fps: 10, loop: true });
const host = new Host({ source, consent: () => 'view', maxFps: 30 });
const invitation = await host.createInvitation({ mode: 'view', expires: '1h' });
const [hostEnd, helperEnd] = createDuplexPair();
const sessionP = host.attach(hostEnd, '127.0.0.1:1');
const helper = await Helper.attach(helperEnd, { handshake: { invitation: invitation.invitation } });
const session = await sessionP;

// The helper reads slowly: paused 800 ms of every second.
const slow = setInterval(() => {
  helperEnd.pause();
  setTimeout(() => helperEnd.resume(), 800);
}, 1000);

const samples: Array<{ t: number; rss: number; heapUsed: number; external: number; frames: number }> = [];
const start = Date.now();
const warmupMs = Math.min(20_000, (seconds * 1000) / 5);
await new Promise((r) => setTimeout(r, warmupMs));
const every = Math.max(1000, Math.floor((seconds * 1000) / 30));
while (Date.now() - start < seconds * 1000) {
  samples.push({ t: Math.round((Date.now() - start) / 1000), ...sample(), frames: helper.stats.frames });
  const last = samples.at(-1)!;
  log(`t=${String(last.t).padStart(4)} s  rss ${(last.rss / 2 ** 20).toFixed(1)} MiB  heap ${(last.heapUsed / 2 ** 20).toFixed(1)} MiB  buffers ${(last.external / 2 ** 20).toFixed(1)} MiB  frames ${last.frames}  queued ${session.stats.queuedBytes} B`);
  await new Promise((r) => setTimeout(r, every));
}
clearInterval(slow);
helperEnd.resume();
await helper.close();
await host.close();
cleanup();

const first = samples[0]!;
const lastS = samples.at(-1)!;
const peak = (k: 'rss' | 'heapUsed' | 'external') => Math.max(...samples.map((s) => s[k]));
const result = {
  seconds,
  frames: lastS.frames,
  framesPerSecond: Number((lastS.frames / seconds).toFixed(1)),
  rss: { start: first.rss, end: lastS.rss, peak: peak('rss'), endOverStart: Number((lastS.rss / first.rss).toFixed(3)) },
  heapUsed: { start: first.heapUsed, end: lastS.heapUsed, peak: peak('heapUsed'), endOverStart: Number((lastS.heapUsed / first.heapUsed).toFixed(3)) },
  buffers: { start: first.external, end: lastS.external, peak: peak('external') },
};
log(`frames delivered ${result.frames} (${result.framesPerSecond}/s to a helper that reads 20% of the time)`);
log(`rss end/start ${result.rss.endOverStart}x (peak ${(result.rss.peak / 2 ** 20).toFixed(1)} MiB); heap end/start ${result.heapUsed.endOverStart}x (peak ${(result.heapUsed.peak / 2 ** 20).toFixed(1)} MiB)`);
if (json) console.log(JSON.stringify({ environment: env, ...result }));
process.exit(0);
