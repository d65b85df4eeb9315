/**
 * The browser viewer and password invitations, end to end in headless Chromium: the page asks for the password,
 * derives the key with the pure-TypeScript scrypt while it shows "Checking password…", then connects; the host
 * (node:crypto scrypt) accepts the right password and refuses a wrong one with BAD_PROOF.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen } from '../../src/index.js';
import { serveWeb, type WebServer } from '../../src/node/web-server.js';
import { skipFileWithoutChromium, browserForFile } from '../helpers/chromium.js';

skipFileWithoutChromium(t);

/** A fixed clock for the virtual desktop, so its clock text never changes mid-comparison. */
const DESKTOP_TIME = () => Date.UTC(2026, 10, 25, 10, 0, 0);
const PASSWORD = 'correct horse \u00e9t\u00e9';

const pageErrors: string[] = [];
const browser = browserForFile(t, { viewport: { width: 1280, height: 760 } });

async function setup(t: Test): Promise<{ screen: VirtualScreen; host: Host; web: WebServer }> {
  const screen = new VirtualScreen({ width: 1280, height: 720, now: DESKTOP_TIME, timeZone: 'utc' });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'password-host' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  return { screen, host, web };
}

/** Every page state with its time and status text, recorded in the page from the start (body[data-state]). */
interface StateMark {
  readonly state: string;
  readonly at: number;
  readonly status: string;
}

const RECORD_STATES = `
  window.stateMarks = [];
  document.addEventListener('DOMContentLoaded', () => {
    const record = () => window.stateMarks.push({
      state: document.body.dataset.state || '',
      at: performance.now(),
      status: (document.getElementById('status-text') || {}).textContent || '',
    });
    new MutationObserver(record).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
    record();
  });
`;

async function open(t: Test, url: string): Promise<Page> {
  const page = await browser().newPage();
  page.on('pageerror', (err) => pageErrors.push(`${t.name}: ${err.message}`));
  t.teardown(() => page.close());
  // A string, not a function: tsx would add its __name helper to a function's inner closures, which the page lacks.
  await page.addInitScript({ content: RECORD_STATES });
  await page.goto(url);
  return page;
}

async function pageState(page: Page, states: readonly string[]): Promise<string> {
  await page.waitForFunction((s) => s.includes((window as any).tessera?.state), states, { timeout: 20_000 });
  return page.evaluate(() => (window as any).tessera.state as string);
}

function marks(page: Page): Promise<StateMark[]> {
  return page.evaluate(() => (window as any).stateMarks as StateMark[]);
}

async function typePassword(page: Page, password: string): Promise<void> {
  await page.locator('#password-input').fill(password);
  await page.locator('#password-form button[type="submit"]').click();
}

function canvasHash(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const canvas = document.getElementById('screen') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  });
}

async function expectCanvasEqualsHost(t: Test, page: Page, screen: VirtualScreen): Promise<void> {
  const want = createHash('sha256').update((await screen.capture()).frame.data).digest('hex');
  const deadline = Date.now() + 10_000;
  let got = '';
  while (Date.now() < deadline && (got = await canvasHash(page)) !== want) await new Promise((r) => setTimeout(r, 50));
  t.equal(got, want, "the canvas holds the host's frame pixel for pixel");
}

t.test('the page asks for the password, derives the key, connects and shows the host frame', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m', password: PASSWORD });
  t.ok(inv.invitation.passwordRequired);
  const page = await open(t, web.url(inv));
  t.equal(await pageState(page, ['password', 'message', 'connecting']), 'password', 'the page asks for the password first');
  t.equal(host.sessions.length, 0, 'nothing connects before the password is given');
  t.ok(await page.locator('#password-input').isVisible(), 'the password field is shown');
  t.equal(await page.locator('#password-input').getAttribute('type'), 'password', 'the password is masked');
  await typePassword(page, PASSWORD);
  t.equal(await pageState(page, ['connected', 'message']), 'connected');
  await expectCanvasEqualsHost(t, page, screen);
  t.equal(await page.locator('#mode-badge').textContent(), 'Controlling');
  t.equal(await page.locator('#password-input').inputValue(), '', 'the password field is cleared');

  const seen = await marks(page);
  const states = seen.map((m) => m.state);
  const checking = seen.find((m) => m.state === 'checking-password');
  const connecting = seen.find((m) => m.state === 'connecting');
  t.ok(checking && connecting && states.indexOf('checking-password') < states.indexOf('connecting'), 'the key is derived before connecting', { states });
  t.equal(checking?.status, 'Checking password…', 'the page says it is checking the password');
  if (checking && connecting) t.comment(`checking password (scrypt N=2^14 r=8 in the page, plus one frame): ${(connecting.at - checking.at).toFixed(0)} ms`);
  t.equal(host.sessions.length, 1, 'the host accepted the session');
});

t.test('a wrong password shows the bad-proof screen, and "Connect again" asks for the password again', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m', password: PASSWORD });
  const page = await open(t, web.url(inv));
  await pageState(page, ['password']);
  await typePassword(page, 'correct horse \u00e9te\u0301!');
  t.equal(await pageState(page, ['connected', 'message']), 'message');
  t.equal(await page.evaluate(() => document.getElementById('message-panel')!.dataset.code), 'BAD_PROOF', 'the bad-proof screen');
  t.equal(await page.evaluate(() => (window as any).tessera.message), 'BAD_PROOF');
  t.match(await page.locator('#message-title').textContent(), /password/i, 'the screen mentions the password');
  t.equal(host.sessions.length, 0, 'the host refused');
  t.ok(await page.locator('#retry').isVisible(), 'the page offers to try again');
  await page.locator('#retry').click();
  t.equal(await pageState(page, ['password', 'connecting', 'checking-password']), 'password', 'trying again asks for the password');
  // The password as typed in decomposed form (e + combining acute) is NFC-normalised and derives the same key.
  await typePassword(page, PASSWORD.normalize('NFD'));
  t.equal(await pageState(page, ['connected', 'message']), 'connected', 'the right password connects');
  await expectCanvasEqualsHost(t, page, screen);
});

t.test('an invitation without a password still connects without asking', async (t) => {
  const { host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'view', expires: '30m' });
  const page = await open(t, web.url(inv));
  t.equal(await pageState(page, ['connected', 'message', 'password']), 'connected');
  t.notOk((await marks(page)).some((m) => m.state === 'password' || m.state === 'checking-password'), 'no password step');
});

t.test('no page threw an uncaught error', async (t) => {
  t.same(pageErrors, []);
});
