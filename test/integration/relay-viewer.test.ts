/**
 * The browser viewer through a relay: the page is served by the relay (same origin), reads the invitation from
 * the fragment and reaches a host that listens nowhere through the relay; its canvas equals the host's screen.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen, startRelay, loadWebAssets } from '../../src/index.js';
import { relayViewerUrl } from '../../src/handshake/index.js';
import { skipFileWithoutChromium, browserForFile } from '../helpers/chromium.js';

skipFileWithoutChromium(t);

const browser = browserForFile(t, { viewport: { width: 1280, height: 760 } });

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function canvasHash(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const canvas = document.getElementById('screen') as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  });
}

t.test('a page served by the relay reaches a host with no open port through it, pixel for pixel', async (t) => {
  const taps: Buffer[] = [];
  const relay = await startRelay({ port: 0, host: '127.0.0.1', assets: await loadWebAssets(), tap: (_d, c) => taps.push(Buffer.from(c)) });
  t.teardown(() => relay.close());
  const screen = new VirtualScreen({ width: 640, height: 480, now: () => Date.UTC(2026, 10, 25, 10, 0, 0), timeZone: 'utc' });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'relay-viewer-host' });
  t.teardown(() => host.close());
  const registered = new Promise((resolve) => host.once('relay-registered', resolve));
  host.useRelay(relay.url);
  await registered;
  const inv = await host.createInvitation({ mode: 'control', expires: '30m' });
  const sessions: unknown[] = [];
  host.on('session', (s) => sessions.push(s));
  const page = await browser().newPage();
  t.teardown(() => page.close());
  await page.goto(relayViewerUrl(relay.url, inv.toURL()));
  await page.waitForFunction(() => (window as any).tessera?.state === 'connected', undefined, { timeout: 20_000 });
  t.equal(sessions.length, 1, 'the host admitted the page');
  const want = sha256((await screen.capture()).frame.data.slice());
  let got = '';
  for (let i = 0; i < 200 && got !== want; i++) {
    got = await canvasHash(page);
    if (got !== want) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(got, want, 'the canvas equals the host frame');
  t.ok(Buffer.concat(taps).indexOf(Buffer.from('relay-viewer-host')) === -1, 'the relay saw no plaintext');
});
