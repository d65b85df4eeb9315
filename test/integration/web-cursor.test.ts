/**
 * The host's pointer in the browser viewer (spec/session.md §6.9), in headless Chromium: the overlay canvas shows the
 * host's shape at the pointer's place, scaled with the screen, whether the host user or the helper moves it.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { Host, VirtualScreen } from '../../src/index.js';
import { serveWeb } from '../../src/node/web-server.js';
import { skipFileWithoutChromium, launchChromium } from '../helpers/chromium.js';

skipFileWithoutChromium(t);

interface Probe {
  state: string;
  cursor: { x: number; y: number; visible: boolean; shapeId: number; drawn: string } | undefined;
}

async function overlayBox(page: Page) {
  return page.evaluate(() => {
    const o = document.getElementById('cursor-overlay') as HTMLCanvasElement;
    const s = document.getElementById('screen') as HTMLCanvasElement;
    const ob = o.getBoundingClientRect();
    const sb = s.getBoundingClientRect();
    const px = [...o.getContext('2d')!.getImageData(0, 0, 1, 1).data];
    return { hidden: o.hidden, left: ob.left, top: ob.top, width: ob.width, height: ob.height, shapeWidth: o.width, shapeHeight: o.height, screen: { left: sb.left, top: sb.top, width: sb.width }, px };
  });
}

t.test('the viewer draws the host pointer as an overlay scaled with the screen, following host and helper moves', async (t) => {
  const browser = await launchChromium({ viewport: { width: 1280, height: 760 } });
  t.teardown(() => browser.close());
  const screen = new VirtualScreen({ width: 1920, height: 1080, now: () => Date.UTC(2026, 10, 25, 10, 0, 0), timeZone: 'utc' });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'test-host' });
  const web = await serveWeb(host, { port: 0 });
  t.teardown(async () => {
    await host.close();
    await web.close();
  });
  const errors: string[] = [];
  const page = await browser.newPage();
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(web.url(await host.createInvitation({ mode: 'control', expires: '30m' })));
  await page.waitForFunction(() => (window as any).tessera?.state === 'connected', undefined, { timeout: 15_000 });

  // The host user moves the pointer (the arrow, id 1, hotspot at its tip).
  screen.movePointer(100, 900);
  await page.waitForFunction(() => (window as any).tessera.cursor?.x === 100 && (window as any).tessera.cursor?.y === 900, undefined, { timeout: 10_000 });
  const probe = (await page.evaluate(() => (window as any).tessera.cursor)) as Probe['cursor'];
  t.same(probe, { x: 100, y: 900, visible: true, shapeId: 1, drawn: 'overlay' }, 'a scaled view shows the overlay');
  const box = await overlayBox(page);
  const scale = box.screen.width / 1920;
  t.ok(scale < 1, `the screen is scaled (${scale.toFixed(3)})`);
  t.notOk(box.hidden);
  t.same([box.shapeWidth, box.shapeHeight], [11, 17], 'the arrow at its own size in the overlay canvas');
  t.ok(Math.abs(box.width - 11 * scale) < 0.5 && Math.abs(box.height - 17 * scale) < 0.5, 'shown scaled with the screen');
  t.ok(Math.abs(box.left - (box.screen.left + 100 * scale)) < 1 && Math.abs(box.top - (box.screen.top + 900 * scale)) < 1, 'its hotspot at the pointer, scaled');
  t.same(box.px, [0, 0, 0, 255], "the shape's pixels: the arrow's black tip");

  // The helper (in control) moves its mouse over the canvas: the host's pointer follows and the overlay with it.
  const target = { x: box.screen.left + 1500 * scale, y: box.screen.top + 200 * scale };
  await page.mouse.move(target.x, target.y);
  await page.waitForFunction(() => {
    const c = (window as any).tessera.cursor;
    return c && Math.abs(c.x - 1500) <= 2 && Math.abs(c.y - 200) <= 2;
  }, undefined, { timeout: 10_000 });
  const after = await overlayBox(page);
  t.ok(Math.abs(after.left - target.x) <= 2 && Math.abs(after.top - target.y) <= 2, 'the overlay follows the helper’s own moves');
  t.same(errors, [], 'no page errors');
});
