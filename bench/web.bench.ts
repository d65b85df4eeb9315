/**
 * Web viewer benchmark: a key press in the page to the changed pixels on its canvas, through headless Chromium,
 * on the 1920x1080 virtual desktop, p50 / p99 over N presses (default 200). The clock starts at the page's
 * keydown event and stops when the viewer has painted an update that changed the text field's pixels
 * ('painted', the viewer's onPaint hook) and at the next animation frame after it ('next frame').
 * Baselines measured in the same run: the Node helper over loopback TCP and over WebSocket (same host, same keys).
 * Usage: node --import tsx bench/web.bench.ts [--presses N] [--json]
 */
import type { Page } from 'playwright-core';
import { Helper, Host, VirtualScreen } from '../src/index.js';
import { serveWeb } from '../src/node/web-server.js';
import { WEBSOCKET_PATH, connectWebSocket } from '../src/transport/websocket.js';
import { chromiumMissing, launchChromium } from '../test/helpers/chromium.js';
import { environment, wantsJson } from './lib/bench.js';
import { percentile } from './lib/keypress.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const presses = Number(arg('--presses') ?? 200);
const json = wantsJson();
const log = (s: string) => {
  if (!json) console.log(s);
};

/** The desktop clock is fixed so that only typing changes the screen. */
const DESKTOP_TIME = () => Date.UTC(2026, 10, 25, 10, 0, 0);
const TYPED = ['KeyA', 'KeyB', 'KeyC', 'KeyD'] as const;

/** Alternate typing and deleting so the field never fills. */
const keyAt = (i: number): string => (i % 2 === 0 ? TYPED[(i >> 1) % TYPED.length]! : 'Backspace');


interface Figures {
  readonly presses: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { presses: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1)! };
}

async function startHost() {
  const screen = new VirtualScreen({ width: 1920, height: 1080, now: DESKTOP_TIME });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', maxFps: 60 });
  await host.listen({ port: 0 });
  const web = await serveWeb(host, { port: 0 });
  return { screen, host, web };
}

/** Node helper baseline over `transport`. */
async function nodeHelper(transport: 'tcp' | 'websocket'): Promise<Figures> {
  const { screen, host, web } = await startHost();
  const inv = await host.createInvitation({ expires: '10m' });
  const helper =
    transport === 'tcp'
      ? await Helper.connect(inv.toURL(), { requestControl: true })
      : await Helper.attach(await connectWebSocket(`ws://127.0.0.1:${web.port}${WEBSOCKET_PATH}`), { handshake: { invitation: inv.invitation, requestMode: 'control' } });
  await helper.waitForFrame(() => true);
  const field = screen.fieldRect;
  const signature = (): number => {
    const fb = helper.framebuffer;
    let s = 0;
    for (let y = field.y; y < field.y + field.height; y++) {
      const row = (y * fb.width + field.x) * 4;
      for (let x = 0; x < field.width * 4; x += 4) s = (s * 31 + fb.data[row + x]!) | 0;
    }
    return s;
  };
  const samples: number[] = [];
  for (let i = 0; i < presses; i++) {
    const before = signature();
    const t0 = performance.now();
    const changed = new Promise<void>((resolve) => {
      const onFrame = () => {
        if (signature() !== before) {
          helper.off('frame', onFrame);
          resolve();
        }
      };
      helper.on('frame', onFrame);
    });
    helper.key(keyAt(i), true);
    helper.key(keyAt(i), false);
    await changed;
    samples.push(performance.now() - t0);
  }
  await helper.close();
  await host.close();
  await web.close();
  return figures(samples);
}

/**
 * The in-page probe: benchArm() snapshots the text field's pixels, the next keydown starts the clock, and the
 * viewer's onPaint hook stops it at the first painted update that changed the field. Plain JavaScript text, so the
 * page runs exactly this (tsx would wrap named functions in helpers that do not exist in the page).
 */
const PROBE = `(f) => {
  const canvas = document.getElementById('screen');
  const ctx = canvas.getContext('2d');
  const signature = () => {
    const data = ctx.getImageData(f.x, f.y, f.width, f.height).data;
    let s = 0;
    for (let i = 0; i < data.length; i += 4) s = (s * 31 + data[i]) | 0;
    return s;
  };
  let t0 = -1;
  let before = 0;
  let resolve;
  document.addEventListener('keydown', (e) => { if (t0 < 0 && resolve) t0 = e.timeStamp; }, { capture: true });
  window.tessera.onPaint = () => {
    if (!resolve || t0 < 0 || signature() === before) return;
    const painted = performance.now();
    const done = resolve;
    const start = t0;
    resolve = undefined;
    requestAnimationFrame(() => done({ paintedMs: painted - start, frameMs: performance.now() - start }));
  };
  window.benchArm = () => {
    before = signature();
    t0 = -1;
    window.benchResult = new Promise((r) => (resolve = r));
  };
}`;

async function installProbe(page: Page, field: { x: number; y: number; width: number; height: number }): Promise<void> {
  await page.evaluate(`(${PROBE})(${JSON.stringify({ x: field.x, y: field.y, width: field.width, height: field.height })})`);
}

async function browserHelper(): Promise<{ painted: Figures; nextFrame: Figures; chromium: string }> {
  const { screen, host, web } = await startHost();
  const browser = await launchChromium({ viewport: { width: 1280, height: 760 } });
  try {
    const page = await browser.newPage();
    const version = browser.context.browser()?.version() ?? 'unknown';
    const inv = await host.createInvitation({ expires: '10m' });
    await page.goto(web.url(inv));
    await page.waitForFunction('window.tessera && window.tessera.state === "connected" && window.tessera.frames > 0', undefined, { timeout: 20_000 });
    await installProbe(page, screen.fieldRect);
    const painted: number[] = [];
    const nextFrame: number[] = [];
    for (let i = 0; i < presses; i++) {
      await page.evaluate('window.benchArm()');
      await page.keyboard.press(keyAt(i));
      const r = (await page.evaluate('window.benchResult')) as { paintedMs: number; frameMs: number };
      painted.push(r.paintedMs);
      nextFrame.push(r.frameMs);
    }
    return { painted: figures(painted), nextFrame: figures(nextFrame), chromium: version };
  } finally {
    await browser.close();
    await host.close();
    await web.close();
  }
}

const env = environment();
log(`tessera web bench — node ${env.node}, ${env.cpu} x${env.cpus}`);
const missing = chromiumMissing();
if (missing) {
  log(`skipped: ${missing}`);
  if (json) console.log(JSON.stringify({ environment: env, skipped: missing }));
  process.exit(0);
}
const tcp = await nodeHelper('tcp');
const ws = await nodeHelper('websocket');
const page = await browserHelper();
const line = (name: string, f: Figures) =>
  `${name.padEnd(48)} p50 ${f.p50Ms.toFixed(2).padStart(6)} ms  p99 ${f.p99Ms.toFixed(2).padStart(6)} ms  max ${f.maxMs.toFixed(2).padStart(6)} ms  (p50 ${(f.p50Ms / tcp.p50Ms).toFixed(2)}x Node/TCP)`;
log(`key press to changed pixels, 1920x1080 virtual desktop, ${presses} presses (Chromium ${page.chromium}):`);
log(line('baseline: Node helper, loopback TCP', tcp));
log(line('Node helper, WebSocket', ws));
log(line('Chromium page, WebSocket, painted', page.painted));
log(line('Chromium page, WebSocket, next animation frame', page.nextFrame));
if (json) console.log(JSON.stringify({ environment: env, chromium: page.chromium, presses, nodeTcp: tcp, nodeWebSocket: ws, browserPainted: page.painted, browserNextFrame: page.nextFrame }));
process.exit(0);
