/**
 * Session benchmarks (issue: sessions end to end):
 * 1. Key press at the helper to the changed pixels at that helper, on the 1920x1080 virtual desktop over
 *    loopback TCP: p50 / p99 over N presses (default 500), with the round-trip time of a ping as the baseline.
 * 2. Replaying each corpus sequence at pace 'ack' to one helper: frames per second and host CPU per frame.
 * Usage: node --import tsx bench/session.bench.ts [--presses N] [--corpus DIR] [--json]
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { Host, Helper, VirtualScreen, ReplayScreen } from '../src/index.js';
import { environment, wantsJson } from './lib/bench.js';
import { alternatingKey, percentile, timeKeyPress } from './lib/keypress.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const presses = Number(arg('--presses') ?? 500);
const corpus = resolve(arg('--corpus') ?? join(import.meta.dirname, '../../shared/corpus'));
const json = wantsJson();
const log = (s: string) => {
  if (!json) console.log(s);
};


async function keyToPixels() {
  const screen = new VirtualScreen({ width: 1920, height: 1080 });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 60 });
  await host.listen({ port: 0 });
  const inv = await host.createInvitation({ expires: '10m' });
  const helper = await Helper.connect(inv.toURL(), { requestControl: true });
  await helper.waitForFrame(() => true);
  const latencies: number[] = [];
  const rtts: number[] = [];
  for (let i = 0; i < presses; i++) {
    latencies.push(await timeKeyPress(helper, screen.fieldRect, alternatingKey(i)));
    if (i % 10 === 0) {
      const r0 = performance.now();
      helper.ping();
      await new Promise((r) => helper.once('rtt', r));
      rtts.push(performance.now() - r0);
    }
  }
  await helper.close();
  await host.close();
  latencies.sort((a, b) => a - b);
  rtts.sort((a, b) => a - b);
  return {
    presses,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1)!,
    pingP50Ms: percentile(rtts, 50),
  };
}

async function replay(dir: string) {
  const source = await ReplayScreen.open({ dir, pace: 'ack' });
  const host = new Host({ source, consent: () => 'view', maxFps: 1000 });
  await host.listen({ port: 0 });
  const inv = await host.createInvitation({ mode: 'view', expires: '10m' });
  const helper = await Helper.connect(inv.toURL());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const check = () => (source.done ? resolve() : setTimeout(check, 2));
    check();
  });
  // Wait for the last frame to be decoded and acknowledged.
  await new Promise<void>((resolve) => {
    const check = () => (host.sessions[0] && host.sessions[0].stats.inFlight === 0 ? resolve() : setTimeout(check, 2));
    check();
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const frames = source.frameCount;
  const bytes = helper.stats.bytesReceived;
  await helper.close();
  await host.close();
  // Host and helper share this process: the CPU figure covers both sides (capture, encode, decode).
  return { frames, fps: (frames / ms) * 1000, cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames, bytes };
}

const env = environment();
log(`tessera session bench — node ${env.node}, ${env.cpu} x${env.cpus}`);
const latency = await keyToPixels();
log(`key press to pixels (1920x1080 virtual desktop, loopback TCP, ${latency.presses} presses): p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms, max ${latency.maxMs.toFixed(2)} ms; baseline ping round trip p50 ${latency.pingP50Ms.toFixed(2)} ms (ratio p50/ping ${(latency.p50Ms / latency.pingP50Ms).toFixed(1)}x)`);
const replays: Record<string, Awaited<ReturnType<typeof replay>>> = {};
if (existsSync(corpus)) {
  for (const name of readdirSync(corpus).filter((n) => existsSync(join(corpus, n, '0000.png'))).sort()) {
    const r = await replay(join(corpus, name));
    replays[name] = r;
    log(`replay ${name.padEnd(10)} ${r.frames} frames: ${r.fps.toFixed(1)} frames/s, ${r.cpuMsPerFrame.toFixed(1)} ms CPU per frame (host + helper in one process), ${r.bytes} bytes`);
  }
} else {
  log(`corpus not found at ${corpus}: replay figures skipped`);
}
if (json) console.log(JSON.stringify({ environment: env, keyToPixels: latency, replay: replays }));
process.exit(0);
