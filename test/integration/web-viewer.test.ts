/**
 * The browser viewer end to end: web/ bundled and served by serveWeb, opened in Debian's headless Chromium via
 * playwright-core, connected over WebSocket to a Host sharing a 1920x1080 VirtualScreen.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { Helper, Host, VirtualScreen, loadPng, type HostSessionHandle, type ScreenSource } from '../../src/index.js';
import { serveWeb, type WebServer } from '../../src/node/web-server.js';
import { defaultCorpusDir } from '../helpers/codec-corpus.js';
import { skipFileWithoutChromium, browserForFile } from '../helpers/chromium.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
skipFileWithoutChromium(t);

/** A fixed clock for the virtual desktop, so its clock text never changes mid-comparison. */
const DESKTOP_TIME = () => Date.UTC(2026, 10, 25, 10, 0, 0);

/** Uncaught errors of every page, checked by the last test. */
const pageErrors: string[] = [];
const browser = browserForFile(t, { viewport: { width: 1280, height: 760 } });

interface Setup {
  readonly screen: VirtualScreen;
  readonly host: Host;
  readonly web: WebServer;
}

async function setup(
  t: Test,
  opts: { consent?: 'view' | 'control' | 'decline'; clock?: () => number } = {},
): Promise<Setup> {
  const screen = new VirtualScreen({ width: 1920, height: 1080, now: DESKTOP_TIME, timeZone: 'utc' });
  const host = new Host({ source: screen, sink: screen, consent: () => opts.consent ?? 'control', name: 'test-host', ...(opts.clock ? { clock: opts.clock } : {}) });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  return { screen, host, web };
}

async function open(t: Test, url: string): Promise<Page> {
  const page = await browser().newPage();
  page.on('pageerror', (err) => pageErrors.push(`${t.name}: ${err.message}`));
  t.teardown(() => page.close());
  await page.goto(url);
  return page;
}

/** Waits until the page's state is one of `states`; returns it. */
async function pageState(page: Page, states: readonly string[]): Promise<string> {
  await page.waitForFunction((s) => s.includes((window as any).tessera?.state), states, { timeout: 15_000 });
  return page.evaluate(() => (window as any).tessera.state as string);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of the canvas's RGBA pixels, computed in the page. */
function canvasHash(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const canvas = document.getElementById('screen') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  });
}

/** Pixels of the canvas that differ from `expected` (for a failure message). */
async function countDifferences(page: Page, expected: Uint8Array): Promise<number> {
  const b64 = await page.evaluate(() => {
    const canvas = document.getElementById('screen') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let s = '';
    for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return btoa(s);
  });
  const got = Buffer.from(b64, 'base64');
  let diff = 0;
  for (let i = 0; i < expected.length; i += 4) {
    if (got[i] !== expected[i] || got[i + 1] !== expected[i + 1] || got[i + 2] !== expected[i + 2] || got[i + 3] !== expected[i + 3]) diff++;
  }
  return diff + Math.abs(got.length - expected.length) / 4;
}

/** Waits until the canvas holds exactly the host's current frame. */
async function expectCanvasEqualsHost(t: Test, page: Page, screen: VirtualScreen, what: string): Promise<void> {
  const expected = (await screen.capture()).frame.data.slice();
  const want = sha256(expected);
  const deadline = Date.now() + 10_000;
  let got = '';
  while (Date.now() < deadline) {
    got = await canvasHash(page);
    if (got === want) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (got === want) t.pass(what);
  else t.fail(what, { differingPixels: await countDifferences(page, expected) });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function messageCode(page: Page): Promise<string | undefined> {
  await pageState(page, ['message']);
  return page.evaluate(() => document.getElementById('message-panel')!.dataset.code);
}

t.test('the page connects and its canvas equals the host frame pixel for pixel', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const url = web.url(inv);
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/#tessera%3A%2F%2F/, 'the invitation rides URI-encoded in the fragment');
  const page = await open(t, url);
  t.equal(await pageState(page, ['connected', 'message']), 'connected');
  t.equal(await page.evaluate(() => location.hash), '', 'the invitation is removed from the address bar');
  const size = await page.evaluate(() => [(window as any).tessera.width, (window as any).tessera.height]);
  t.same(size, [1920, 1080]);
  await expectCanvasEqualsHost(t, page, screen, 'canvas pixels equal the host frame');
  t.equal(await page.locator('#mode-badge').textContent(), 'Controlling');
  const box = await page.locator('#screen').boundingBox();
  t.ok(box && box.width <= 1280 && Math.abs(box.width / box.height - 1920 / 1080) < 0.01, 'the canvas is scaled to the window, keeping its aspect');
  t.equal(host.sessions.length, 1);
  t.match(host.sessions[0]!.peer, /^127\.0\.0\.1:\d+$/, 'the host sees the browser by its address');
});

t.test('typing in the page changes the virtual text field and comes back on the canvas', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const page = await open(t, web.url(inv));
  await pageState(page, ['connected']);
  await page.waitForFunction(() => (window as any).tessera.frames > 0);
  for (const key of ['Shift+KeyH', 'KeyE', 'KeyL', 'KeyL', 'KeyO']) await page.keyboard.press(key);
  await until(() => screen.text === 'Hello', 'the typed text on the host');
  t.equal(screen.text, 'Hello');
  await expectCanvasEqualsHost(t, page, screen, 'the canvas shows the typed text');

  // The pointer maps from the scaled canvas back to screen pixels: a click at the middle of the canvas lands
  // at the middle of the screen (the host's sink sees the button events through the input stats).
  const box = (await page.locator('#screen').boundingBox())!;
  const admitted = host.sessions[0]!.stats.input.admitted;
  const inputs: { x: number; y: number }[] = [];
  host.sessions[0]!.on('input', (events: { type: string; x?: number; y?: number }[]) => {
    for (const e of events) if (e.type === 'buttonDown') inputs.push({ x: e.x!, y: e.y! });
  });
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await until(() => inputs.length > 0, 'the click on the host');
  t.ok(Math.abs(inputs[0]!.x - 960) <= 2 && Math.abs(inputs[0]!.y - 540) <= 2, `the click lands mid-screen (${inputs[0]!.x}, ${inputs[0]!.y})`);
  t.ok(host.sessions[0]!.stats.input.admitted > admitted);
});

t.test('a view-only session ignores typing', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'view', expires: '30m' });
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const page = await open(t, web.url(inv));
  await pageState(page, ['connected']);
  const session = await sessionP;
  await expectCanvasEqualsHost(t, page, screen, 'a viewer sees the screen');
  t.equal(await page.locator('#mode-badge').textContent(), 'Viewing');
  t.ok(await page.locator('#request-control').isHidden(), 'a view invitation offers no control request');
  await page.locator('#screen').click();
  for (const key of ['KeyH', 'KeyA', 'KeyC', 'KeyK']) await page.keyboard.press(key);
  // Chat travels on the same ordered stream: once it arrives, any input sent before it has been gated.
  const chat = new Promise<string>((resolve) => session.once('chat', resolve));
  await page.locator('#chat-toggle').click();
  await page.locator('#chat-input').fill('can you see me?');
  await page.locator('#chat-input').press('Enter');
  t.equal(await chat, 'can you see me?', 'chat from the page reaches the host');
  t.equal(screen.text, '', 'nothing was typed on the host');
  t.equal(session.stats.input.admitted, 0);
  t.equal(session.stats.input.dropped.notControl, 0, 'the viewer holds input back instead of sending it');
});

t.test('control is requested from the page and granted by the host user', async (t) => {
  const asked: string[] = [];
  const screen = new VirtualScreen({ width: 1920, height: 1080, now: DESKTOP_TIME });
  const host = new Host({
    source: screen,
    sink: screen,
    name: 'test-host',
    consent: (req) => {
      asked.push(req.reason);
      return req.reason === 'connect' ? 'view' : 'control';
    },
  });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const page = await open(t, web.url(inv));
  await pageState(page, ['connected']);
  t.equal(await page.locator('#mode-badge').textContent(), 'Viewing', 'the host user allowed viewing first');
  await page.locator('#request-control').click();
  await page.waitForFunction(() => (window as any).tessera.mode === 'control');
  t.same(asked, ['connect', 'control']);
  t.equal(await page.locator('#mode-badge').textContent(), 'Controlling');
  await page.keyboard.press('KeyX');
  await until(() => screen.text === 'x', 'typing after the grant');
  host.sessions[0]!.revokeControl();
  await page.waitForFunction(() => (window as any).tessera.mode === 'view');
  await page.keyboard.press('KeyY');
  host.sessions[0]!.chat('ping');
  await page.waitForFunction(() => document.getElementById('chat-log')!.textContent!.includes('ping'));
  t.equal(screen.text, 'x', 'after revocation the page stops sending keys');
});

t.test('an expired invitation shows the expired screen', async (t) => {
  let now = Date.now();
  const { host, web } = await setup(t, { clock: () => now });
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  now += 31 * 60_000;
  const page = await open(t, web.url(inv));
  t.equal(await messageCode(page), 'TICKET_EXPIRED', 'the host refused the ticket as expired');
  t.equal(await page.locator('#message-title').textContent(), 'This invitation has expired');
  t.ok(await page.locator('#retry').isHidden(), 'no retry for an expired invitation');
});

t.test('an invitation already past its expiry is refused in the page without connecting', async (t) => {
  const { host, web } = await setup(t, { clock: () => Date.now() - 2 * 3_600_000 });
  const inv = await host.createInvitation({ mode: 'control', expires: '1h' });
  const attempts: string[] = [];
  host.on('audit', (e: { decision: string }) => attempts.push(e.decision));
  const page = await open(t, web.url(inv));
  t.equal(await messageCode(page), 'TICKET_EXPIRED');
  t.same(attempts.filter((d) => d !== 'created'), [], 'the host never saw a connection');
});

t.test('each refusal and the end of a session get their own screen', async (t) => {
  await t.test('declined', async (t) => {
    const { host, web } = await setup(t, { consent: 'decline' });
    const inv = await host.createInvitation({ expires: '30m' });
    const page = await open(t, web.url(inv));
    t.equal(await messageCode(page), 'USER_DECLINED');
  });
  await t.test('revoked', async (t) => {
    const { host, web } = await setup(t);
    const inv = await host.createInvitation({ expires: '30m' });
    host.revokeInvitation(inv.id);
    const page = await open(t, web.url(inv));
    t.equal(await messageCode(page), 'TICKET_REVOKED');
  });
  await t.test('taken by another helper', async (t) => {
    const { host, web } = await setup(t);
    await host.listen({ port: 0 });
    const inv = await host.createInvitation({ expires: '30m' });
    const first = await Helper.connect(inv.toURL());
    t.teardown(() => first.close());
    const page = await open(t, web.url(inv));
    t.equal(await messageCode(page), 'TICKET_IN_USE', 'the invitation admits one helper');
  });
  await t.test('host key mismatch', async (t) => {
    const a = await setup(t);
    const b = await setup(t);
    // A's invitation names the address B's page is served from, but B cannot prove A's key: an impostor (an
    // invitation that names another address is for another host, test/integration/web-toolbar.test.ts).
    const inv = await a.host.createInvitation({ expires: '30m', addresses: ['127.0.0.1:3389'] });
    const page = await open(t, `${b.web.origin}/#${encodeURIComponent(inv.toURL())}`);
    t.equal(await messageCode(page), 'HOST_KEY_MISMATCH');
  });
  await t.test('invalid invitation', async (t) => {
    const { web } = await setup(t);
    const page = await open(t, `${web.origin}/#${encodeURIComponent('tessera://127.0.0.1:3389/#AAAA')}`);
    t.equal(await messageCode(page), 'invalid-invitation');
  });
  await t.test('the host ends the session', async (t) => {
    const { host, web } = await setup(t);
    const inv = await host.createInvitation({ expires: '30m' });
    const page = await open(t, web.url(inv));
    await pageState(page, ['connected']);
    host.sessions[0]!.close();
    t.equal(await messageCode(page), 'closed:host-ended');
  });
  await t.test('the paste box connects too', async (t) => {
    const { host, web, screen } = await setup(t);
    const inv = await host.createInvitation({ expires: '30m' });
    const page = await open(t, web.origin + '/');
    t.equal(await pageState(page, ['start']), 'start');
    await page.locator('#invitation-input').fill(inv.toString());
    await page.locator('#connect-form button[type=submit]').click();
    await pageState(page, ['connected']);
    await expectCanvasEqualsHost(t, page, screen, 'connected from the pasted .tessera text');
  });
});

const SLIDE = join(defaultCorpusDir, 'slideshow', '0000.png');

t.test('lossy tiles decode in the page (createImageBitmap) and are refined to exact pixels', { skip: existsSync(SLIDE) ? false : `${SLIDE} not found` }, async (t) => {
  const frame = await loadPng(SLIDE);
  // A still photographic screen: the 'balanced' host sends photo tiles lossy, then refreshes them losslessly.
  const still: ScreenSource = { width: frame.width, height: frame.height, capture: async () => ({ frame }) };
  const host = new Host({ source: still, consent: () => 'view', name: 'photo-host', quality: 'balanced' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const inv = await host.createInvitation({ mode: 'view', expires: '30m' });
  const page = await open(t, web.url(inv));
  await pageState(page, ['connected']);
  await page.waitForFunction(() => (window as any).tessera.lossyTiles > 0, undefined, { timeout: 10_000 });
  t.ok(await page.evaluate(() => (window as any).tessera.lossyTiles), 'the page decoded lossy tiles');
  const want = sha256(frame.data);
  const deadline = Date.now() + 15_000;
  let got = '';
  while (Date.now() < deadline && (got = await canvasHash(page)) !== want) await new Promise((r) => setTimeout(r, 100));
  if (got === want) t.pass('after the lossless refresh the canvas equals the host frame');
  else t.fail('the canvas never reached the exact frame', { differingPixels: await countDifferences(page, frame.data) });
});

t.test('a screenshot of the connected viewer', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const page = await open(t, web.url(inv));
  await pageState(page, ['connected']);
  for (const key of ['Shift+KeyH', 'KeyI', 'Space', 'KeyF', 'KeyR', 'KeyO', 'KeyM', 'Space', 'KeyT', 'KeyH', 'KeyE', 'Space', 'KeyB', 'KeyR', 'KeyO', 'KeyW', 'KeyS', 'KeyE', 'KeyR', 'Shift+Digit1']) {
    await page.keyboard.press(key);
  }
  await until(() => screen.text === 'Hi from the browser!', 'the greeting on the host');
  host.sessions[0]!.chat('Thanks for helping!');
  await page.locator('#chat-toggle').click();
  await page.waitForFunction(() => document.getElementById('chat-log')!.textContent!.includes('Thanks'));
  await expectCanvasEqualsHost(t, page, screen, 'the canvas is current');
  const artifacts = join(ROOT, 'test', 'artifacts');
  mkdirSync(artifacts, { recursive: true });
  const shot = join(artifacts, 'viewer.png');
  await page.screenshot({ path: shot });
  t.ok(existsSync(shot), 'test/artifacts/viewer.png written');
  const docs = join(ROOT, 'docs', 'viewer.png');
  if (!existsSync(docs)) {
    mkdirSync(dirname(docs), { recursive: true });
    copyFileSync(shot, docs);
  }
});

t.test('no page threw an uncaught error', async (t) => {
  t.same(pageErrors, []);
});
