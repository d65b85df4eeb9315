/**
 * X11 adapter benchmarks on a private Xvfb (1920x1080x24):
 * 1. Capture time per frame: full GetImage in the reply, full GetImage through MIT-SHM, and damage-driven capture
 *    of a small change (a 64x64 window repainted between captures); plus the BGRX -> RGBA conversion alone.
 * 2. Key press at a helper to the changed pixels at that helper, through the host, Xvfb and an xterm running `cat`
 *    (the terminal echoes each key; Backspace erases it again): p50 / p99 over N presses (default 200).
 * Usage: node --import tsx bench/x11.bench.ts [--frames N] [--presses N] [--json]
 * Needs Xvfb and xterm (Debian: xvfb, xterm); prints a note and exits 0 without them.
 */
import { Host, Helper } from '../src/index.js';
import { X11Input, X11Screen } from '../src/adapters/x11/index.js';
import { PixelConverter } from '../src/adapters/x11/pixels.js';
import { X11Connection } from '../src/adapters/x11/x11-connection.js';
import { focusWindow, startXvfb, xvfbMissing, type XServer } from '../test/helpers/xvfb.js';
import { environment, wantsJson } from './lib/bench.js';
import { alternatingKey, percentile, timeKeyPress } from './lib/keypress.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const frames = Number(arg('--frames') ?? 60);
const presses = Number(arg('--presses') ?? 200);
const json = wantsJson();
const log = (s: string) => {
  if (!json) console.log(s);
};
const WIDTH = 1920;
const HEIGHT = 1080;


function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return { n: samples.length, meanMs: mean, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

async function timeCaptures(server: XServer, options: { shm: boolean; damage: boolean }, change?: (i: number) => Promise<void>) {
  const screen = await X11Screen.open({ display: server.display, shm: options.shm, damage: options.damage });
  await screen.capture(); // The first capture is a full one in every mode.
  const samples: number[] = [];
  let damagedPixels = 0;
  for (let i = 0; i < frames; i++) {
    if (change) await change(i);
    const t0 = performance.now();
    const cap = await screen.capture();
    samples.push(performance.now() - t0);
    for (const r of cap.damage ?? [{ width: WIDTH, height: HEIGHT }]) damagedPixels += r.width * r.height;
  }
  const method = screen.lastCaptureMethod;
  await screen.close();
  return { ...summary(samples), method, damagedPixelsPerFrame: damagedPixels / frames };
}

function timeConversion() {
  const converter = new PixelConverter({ bitsPerPixel: 32, scanlinePad: 32, imageByteOrder: 0, redMask: 0xff0000, greenMask: 0xff00, blueMask: 0xff });
  const src = new Uint8Array(WIDTH * HEIGHT * 4);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7) & 0xff;
  const dst = { width: WIDTH, height: HEIGHT, data: new Uint8Array(WIDTH * HEIGHT * 4) };
  // Warm up the JIT first: the capture figures above include this loop already warmed by the earlier frames.
  for (let i = 0; i < 10; i++) converter.convert(src, WIDTH, HEIGHT, dst, 0, 0);
  const samples: number[] = [];
  for (let i = 0; i < frames; i++) {
    const t0 = performance.now();
    converter.convert(src, WIDTH, HEIGHT, dst, 0, 0);
    samples.push(performance.now() - t0);
  }
  return summary(samples);
}

async function captureBench(server: XServer) {
  const conn = await X11Connection.open({ display: server.display, shm: false });
  // A small window repainted with a new colour before each damage-driven capture.
  const wid = conn.allocId();
  conn.send(conn.X, 'CreateWindow', wid, conn.screen.root, 500, 400, 64, 64, 0, 0, 0, 0, { backgroundPixel: 0x336699, overrideRedirect: 1 });
  conn.send(conn.X, 'MapWindow', wid);
  await conn.sync();
  const repaint = async (i: number) => {
    conn.send(conn.X, 'ChangeWindowAttributes', wid, { backgroundPixel: (i * 0x10305) & 0xffffff });
    conn.send(conn.X, 'ClearArea', wid, 0, 0, 0, 0, 0);
    await conn.sync();
  };
  const full = await timeCaptures(server, { shm: false, damage: false });
  const shm = await timeCaptures(server, { shm: true, damage: false });
  const damage = await timeCaptures(server, { shm: true, damage: true }, repaint);
  const idle = await timeCaptures(server, { shm: true, damage: true });
  await conn.close();
  return { full, shm, damage, idle, convert: timeConversion() };
}

async function keyToPixels(server: XServer) {
  const title = `tessera-bench-${process.pid}`;
  server.spawn('xterm', ['-title', title, '-geometry', '100x20+100+100', '-e', 'sh', '-c', 'cat > /dev/null'], { LC_ALL: 'C.UTF-8' });
  await focusWindow(server, title);
  const screen = await X11Screen.open({ display: server.display });
  const input = await X11Input.open({ display: server.display });
  const host = new Host({ source: screen, sink: input, consent: () => 'control', maxFps: 60 });
  await host.listen({ port: 0 });
  const inv = await host.createInvitation({ expires: '10m' });
  const helper = await Helper.connect(inv.toURL(), { requestControl: true });
  await helper.waitForFrame(() => true);
  // The terminal's area (80x20 cells of the default 6x13 font, generously).
  const area = { x: 100, y: 100, width: 700, height: 300 };
  const latencies: number[] = [];
  for (let i = 0; i < presses; i++) {
    latencies.push(await timeKeyPress(helper, area, alternatingKey(i)));
    // Let the terminal's follow-up repaints (cursor) settle so the next press starts from a still screen.
    await new Promise((r) => setTimeout(r, 15));
  }
  await helper.close();
  await host.close();
  await input.close();
  await screen.close();
  return summary(latencies);
}

const env = environment();
const missing = xvfbMissing(['xterm', 'xdotool']);
if (missing) {
  log(missing);
  if (json) console.log(JSON.stringify({ environment: env, skipped: missing }));
  process.exit(0);
}
log(`tessera x11 bench — node ${env.node}, ${env.cpu} x${env.cpus}; Xvfb ${WIDTH}x${HEIGHT}x24, ${frames} captures per mode, ${presses} key presses`);
const server = await startXvfb({ width: WIDTH, height: HEIGHT });
try {
  const cap = await captureBench(server);
  const fmt = (s: { meanMs: number; p50Ms: number; p99Ms: number }) => `mean ${s.meanMs.toFixed(2)} ms, p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms`;
  log(`capture, full GetImage (reply):         ${fmt(cap.full)}  (baseline)`);
  log(`capture, full GetImage (MIT-SHM):       ${fmt(cap.shm)}  ratio ${(cap.full.meanMs / cap.shm.meanMs).toFixed(1)}x faster (method ${cap.shm.method})`);
  log(`capture, damage-driven 64x64 change:    ${fmt(cap.damage)}  ratio ${(cap.full.meanMs / cap.damage.meanMs).toFixed(1)}x faster than full (${cap.damage.damagedPixelsPerFrame.toFixed(0)} px read per frame)`);
  log(`capture, damage-driven, nothing changed: ${fmt(cap.idle)}  ratio ${(cap.full.meanMs / cap.idle.meanMs).toFixed(1)}x faster than full`);
  log(`BGRX -> RGBA conversion alone (1920x1080): ${fmt(cap.convert)}`);
  const keys = await keyToPixels(server);
  log(`key press to pixels (helper -> host -> XTEST -> xterm echo -> DAMAGE -> helper, loopback, ${keys.n} presses): p50 ${keys.p50Ms.toFixed(2)} ms, p99 ${keys.p99Ms.toFixed(2)} ms, mean ${keys.meanMs.toFixed(2)} ms`);
  if (json) console.log(JSON.stringify({ environment: env, capture: cap, keyToPixels: keys }));
} finally {
  await server.stop();
}
process.exit(0);
