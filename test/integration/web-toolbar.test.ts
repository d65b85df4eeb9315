/**
 * The viewer's toolbar and status (#19 item 4) in headless Chromium: joining view-only and asking for control after,
 * the live latency and frame-rate readout, the notice when the host revokes, pauses and resumes control, the true
 * message for an invitation of another host (and the impostor warning kept for one that names this host), the special
 * keys, 1:1 and full screen.
 */
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen, type HostSessionHandle } from '../../src/index.js';
import { serveWeb, type WebServer } from '../../src/node/web-server.js';
import { skipFileWithoutChromium, browserForFile } from '../helpers/chromium.js';

skipFileWithoutChromium(t);

const pageErrors: string[] = [];
const browser = browserForFile(t, { viewport: { width: 1280, height: 760 } });

interface Setup {
  readonly screen: VirtualScreen;
  readonly host: Host;
  readonly web: WebServer;
  readonly asked: string[];
}

async function setup(t: Test, name = 'test-host'): Promise<Setup> {
  const asked: string[] = [];
  const screen = new VirtualScreen({ width: 1920, height: 1080, now: () => Date.UTC(2026, 10, 25, 10, 0, 0), timeZone: 'utc' });
  const host = new Host({
    source: screen,
    sink: screen,
    name,
    consent: (req) => {
      asked.push(`${req.reason}:${req.requestedMode}`);
      return 'control';
    },
  });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  return { screen, host, web, asked };
}

async function open(t: Test, url: string): Promise<Page> {
  const page = await browser().newPage();
  page.on('pageerror', (err) => pageErrors.push(`${t.name}: ${err.message}`));
  t.teardown(() => page.close());
  await page.goto(url);
  return page;
}

function probe<T>(page: Page, field: string): Promise<T> {
  return page.evaluate((f) => (window as any).tessera[f], field) as Promise<T>;
}

/** Waits until `check` holds in the page (a function: the page's CSP forbids evaluating strings). */
async function waitProbe(page: Page, check: () => boolean, timeout = 10_000): Promise<void> {
  await page.waitForFunction(check, undefined, { timeout });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('join view-only, then ask for control; the host revokes, pauses and resumes it and the page says so', async (t) => {
  const { screen, host, web, asked } = await setup(t);
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const page = await open(t, web.origin + '/');
  await page.locator('#view-only').check();
  await page.locator('#invitation-input').fill(inv.toURL());
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  await page.locator('#connect-form button[type=submit]').click();
  await waitProbe(page, () => (window as any).tessera.state === 'connected');
  const session = await sessionP;
  t.same(asked, ['connect:view'], 'the page asked only to view');
  t.equal(await page.locator('#mode-badge').textContent(), 'Viewing');
  t.equal(await probe(page, 'joinViewOnly'), true);
  t.equal(await page.locator('#request-control').textContent(), 'Ask for control');
  t.ok(await page.locator('#special-keys').isDisabled(), 'no special keys while viewing');

  await page.locator('#request-control').click();
  await waitProbe(page, () => (window as any).tessera.mode === 'control');
  t.same(asked, ['connect:view', 'control:control'], 'the button sent control-request and the host user was asked');
  t.equal(await page.locator('#mode-badge').textContent(), 'Controlling');
  t.equal(await page.locator('#notice').textContent(), 'test-host gave you control.');

  session.pause(true);
  await waitProbe(page, () => (window as any).tessera.notice?.kind === 'paused');
  t.ok(await page.locator('#notice').isVisible(), 'the pause is shown over the screen');
  t.match(await page.locator('#notice').textContent(), /test-host paused your control/);
  t.equal(await page.locator('#mode-badge').textContent(), 'Paused by the host');
  session.pause(false);
  await waitProbe(page, () => (window as any).tessera.notice?.kind === 'resumed');
  t.equal(await page.locator('#notice').textContent(), 'test-host resumed your control.');

  // Special keys travel as key events on the input path while control is held.
  const keys: string[] = [];
  session.on('input', (events: { type: string; code?: string }[]) => {
    for (const e of events) if (e.type === 'keyDown' || e.type === 'keyUp') keys.push(`${e.type === 'keyDown' ? '+' : '-'}${e.code}`);
  });
  await page.locator('#special-keys').selectOption('ctrl-alt-del');
  await until(() => keys.length >= 6, 'the chord on the host');
  t.same(keys, ['+ControlLeft', '+AltLeft', '+Delete', '-Delete', '-AltLeft', '-ControlLeft'], 'Ctrl+Alt+Del pressed and released in order');

  session.revokeControl();
  await waitProbe(page, () => (window as any).tessera.notice?.kind === 'revoked');
  t.match(await page.locator('#notice').textContent(), /test-host took back control/);
  t.equal(await page.locator('#mode-badge').textContent(), 'Viewing');
  t.ok(await page.locator('#request-control').isVisible(), 'control can be asked again');
  t.equal(screen.text, '', 'nothing typed');
});

t.test('an invitation for another host says so; one that names this host keeps the impostor warning', async (t) => {
  const a = await setup(t, 'host-a');
  const b = await setup(t, 'host-b');
  // B's invitation, opened in A's viewer: a valid invitation for another host.
  const forB = await b.host.createInvitation({ expires: '30m', addresses: ['helpdesk-b.example:3389'] });
  const page = await open(t, `${a.web.origin}/#${encodeURIComponent(forB.toURL())}`);
  await waitProbe(page, () => (window as any).tessera.state === 'message', 15_000);
  t.equal(await probe(page, 'message'), 'another-host');
  t.equal(await page.locator('#message-title').textContent(), 'This invitation is for another host');
  const body = (await page.locator('#message-body').textContent())!;
  t.match(body, /host-b \(helpdesk-b\.example:3389\)/, 'it names the host and where it is');
  t.match(body, /tessera connect/);
  t.notMatch(body, /do not continue/);

  // An invitation that names the address this page came from, answered by a host with another key: an impostor.
  const impostor = await b.host.createInvitation({ expires: '30m', addresses: ['127.0.0.1:3389'] });
  const page2 = await open(t, `${a.web.origin}/#${encodeURIComponent(impostor.toURL())}`);
  await waitProbe(page2, () => (window as any).tessera.state === 'message', 15_000);
  t.equal(await probe(page2, 'message'), 'HOST_KEY_MISMATCH');
  t.equal(await page2.locator('#message-title').textContent(), 'The host could not prove its identity');
});

t.test('the toolbar shows a live round-trip time and frame rate; 1:1 scrolls; full screen toggles', async (t) => {
  const { screen, host, web } = await setup(t);
  const inv = await host.createInvitation({ mode: 'view', expires: '30m' });
  const page = await open(t, web.url(inv));
  await waitProbe(page, () => (window as any).tessera.state === 'connected');
  // The host's screen keeps changing, so frames flow and are acknowledged all along: the page still pings every 2 s.
  let typed = 0;
  const moving = setInterval(() => {
    // A character typed and then erased on the host's own screen: a changed field, one frame each time.
    screen.inject(typed++ % 2 === 0 ? { type: 'text', text: 'x' } : { type: 'keyDown', code: 'Backspace', modifiers: 0 });
  }, 40);
  t.teardown(() => clearInterval(moving));
  const fitted = (await page.locator('#screen').boundingBox())!;
  t.ok(fitted.width < 1280, 'fit: scaled into the window');
  await page.locator('#zoom').click();
  t.equal(await probe(page, 'zoom'), '1:1');
  const one = (await page.locator('#screen').boundingBox())!;
  t.same([Math.round(one.width), Math.round(one.height)], [1920, 1080], '1:1 at device pixel ratio 1');
  const scrollable = await page.evaluate(() => {
    const s = document.getElementById('stage')!;
    s.scrollLeft = 300;
    return s.scrollWidth > s.clientWidth && s.scrollLeft === 300;
  });
  t.ok(scrollable, 'the stage scrolls');
  await page.locator('#zoom').click();
  t.equal(await probe(page, 'zoom'), 'fit');

  await page.locator('#fullscreen').click();
  await page.waitForFunction(() => document.fullscreenElement !== null, undefined, { timeout: 5_000 });
  t.equal(await page.locator('#fullscreen').textContent(), 'Leave full screen');
  await page.locator('#fullscreen').click();
  await page.waitForFunction(() => document.fullscreenElement === null, undefined, { timeout: 5_000 });
  t.equal(await page.locator('#fullscreen').textContent(), 'Full screen');

  await waitProbe(page, () => typeof (window as any).tessera.rttMs === 'number', 8_000);
  const rtt = await probe<number>(page, 'rttMs');
  t.ok(rtt >= 0 && rtt < 2000, `a round trip was measured (${rtt} ms)`);
  await waitProbe(page, () => /^RTT \d+ ms · [1-9]\d* fps$/.test(document.getElementById('stats')!.textContent!), 5_000);
  t.ok(await page.locator('#stats').isVisible(), 'the readout is in the toolbar');
  t.match(await page.locator('#stats').textContent(), /^RTT \d+ ms · \d+ fps$/);
  clearInterval(moving);
});

t.test('no page threw an uncaught error', async (t) => {
  t.same(pageErrors, []);
});
