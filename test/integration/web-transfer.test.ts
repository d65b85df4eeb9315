/**
 * File transfer in the browser viewer (spec/transfer.md), in headless Chromium: a file dropped on the screen
 * reaches the host's downloads folder, checked; a file the host user sends is offered with Save, and once checked
 * the page links it as a blob: download with the same bytes.
 */
import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen, type HostSessionHandle, type TransferResult } from '../../src/index.js';
import { serveWeb } from '../../src/node/web-server.js';
import { skipFileWithoutChromium, browserForFile } from '../helpers/chromium.js';

skipFileWithoutChromium(t);

const browser = browserForFile(t, { viewport: { width: 1000, height: 700 } });

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-web-transfer-'));
  const downloads = join(dir, 'downloads');
  const screen = new VirtualScreen({ width: 640, height: 400, now: () => 0 });
  const host = new Host({ source: screen, consent: () => 'view', name: 'test-host', transfer: { downloads, accept: 'auto' } });
  const sessions: HostSessionHandle[] = [];
  host.on('session', (s: HostSessionHandle) => sessions.push(s));
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const inv = await host.createInvitation({ mode: 'view', expires: '30m' });
  const page = await browser().newPage();
  t.teardown(() => page.close());
  await page.goto(web.url(inv));
  await page.waitForFunction(() => (window as any).tessera?.state === 'connected', undefined, { timeout: 15_000 });
  return { dir, downloads, host, sessions, page };
}

/** Drops a file with `bytes` named `name` on the viewer's screen, as a user's drag and drop does. */
async function drop(page: Page, name: string, bytes: Uint8Array): Promise<void> {
  await page.evaluate(
    ({ name, b64 }) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], name, { type: 'application/octet-stream' }));
      const stage = document.getElementById('stage')!;
      stage.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      stage.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { name, b64: Buffer.from(bytes).toString('base64') },
  );
}

t.test('a file dropped on the viewer is saved by the host, SHA-256 checked; one from the host becomes a download', async (t) => {
  const { downloads, sessions, page, dir } = await setup(t);
  const bytes = randomBytes(1024 * 1024 + 5);
  const saved = new Promise<TransferResult>((resolve) => sessions[0]!.on('transfer', resolve));
  await drop(page, 'dropped report.pdf', bytes);
  const result = await saved;
  t.match(result, { ok: true, direction: 'in', name: 'dropped report.pdf' });
  t.equal(sha(readFileSync(join(downloads, 'dropped report.pdf'))), sha(bytes), 'the host saved the dropped bytes');
  await page.waitForFunction(() => (window as any).tessera.transfers.length === 1);
  t.match(await page.evaluate(() => (window as any).tessera.transfers[0]), { direction: 'out', ok: true });
  t.match(await page.textContent('#file-list'), /Sent dropped report\.pdf/);

  // The host user sends one: the page offers it with Save, then links it.
  const back = randomBytes(300_000);
  writeFileSync(join(dir, 'fix.txt'), back);
  const sending = sessions[0]!.sendFile(join(dir, 'fix.txt'));
  await page.waitForSelector('#file-list button.file-save', { timeout: 10_000 });
  t.match(await page.textContent('#file-list'), /sends fix\.txt/);
  await page.click('#file-list button.file-save');
  t.match(await sending, { ok: true, direction: 'out' });
  await page.waitForFunction(() => (window as any).tessera.transfers.length === 2);
  const got = await page.evaluate(() => (window as any).tessera.transfers[1]);
  t.match(got, { direction: 'in', ok: true, url: /^blob:/ });
  // The user clicks the link: the browser downloads the checked bytes.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#file-list a')]);
  t.equal(download.suggestedFilename(), 'fix.txt');
  t.equal(sha(readFileSync((await download.path())!)), sha(back), 'the download holds the bytes the host sent');
  t.equal(await page.getAttribute('#file-list a', 'download'), 'fix.txt');
});
