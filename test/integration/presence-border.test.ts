/**
 * The host user sees that a helper is connected (issue #20 item 2): a border around the shared screen, amber while
 * helpers view and red while one controls, with a label — on a real X display (Xvfb, read back with xwd) and on the
 * virtual desktop, driven by the Host as helpers join, take control and leave.
 */
import t from 'tap';
import { Helper, Host, VirtualScreen, X11Border, presenceLabel } from '../../src/index.js';
import { PRESENCE_BORDER_PX } from '../../src/adapters/virtual/virtual-screen.js';
import type { Framebuffer } from '../../src/codec/framebuffer.js';
import { parseXwd, startXvfb, waitUntil, xvfbMissing } from '../helpers/xvfb.js';

const AMBER = [240, 160, 0];
const RED = [220, 40, 40];

function pixel(fb: Framebuffer, x: number, y: number): number[] {
  const i = (y * fb.width + x) * 4;
  return [fb.data[i]!, fb.data[i + 1]!, fb.data[i + 2]!];
}

/** The pixels on the four edges, sampled, and whether all are `rgb`. */
function edgesAre(fb: Framebuffer, rgb: readonly number[]): boolean {
  const points: Array<[number, number]> = [];
  for (let k = 0; k <= 8; k++) {
    const x = Math.floor(((fb.width - 1) * k) / 8);
    const y = Math.floor(((fb.height - 1) * k) / 8);
    points.push([x, 0], [x, fb.height - 1], [0, y], [fb.width - 1, y]);
  }
  return points.every(([x, y]) => pixel(fb, x, y).join() === rgb.join());
}

/** Pixels of `rgb` inside a rectangle. */
function count(fb: Framebuffer, rect: { x: number; y: number; width: number; height: number }, rgb: readonly number[]): number {
  let n = 0;
  for (let y = rect.y; y < rect.y + rect.height; y++) for (let x = rect.x; x < rect.x + rect.width; x++) if (pixel(fb, x, y).join() === rgb.join()) n++;
  return n;
}

t.test('X11: the border and its label appear on the display, change colour with control, and go away', { skip: xvfbMissing(['xwd']) }, async (t) => {
  const server = await startXvfb({ width: 800, height: 600 });
  t.teardown(() => server.stop());
  const shot = () => parseXwd(server.run('xwd', ['-root', '-silent'], { encoding: 'buffer' }));
  const before = shot();
  t.notOk(edgesAre(before, AMBER), 'no border before');
  const border = await X11Border.open({ display: server.display });
  t.teardown(() => border.close());
  await border.show({ helpers: 1, controlling: false });
  const viewing = await waitUntil('the amber border', () => {
    const s = shot();
    return edgesAre(s, AMBER) ? s : undefined;
  });
  t.ok(edgesAre(viewing, AMBER), 'amber on every edge while viewing');
  // The label: an amber box under the top edge, centred, holding black text and nothing else.
  const labelWidth = presenceLabel({ helpers: 1, controlling: false }).length * 6 + 12;
  const label = { x: (800 - labelWidth) >> 1, y: 6, width: labelWidth, height: 19 };
  const ink = count(viewing, label, [0, 0, 0]);
  const paper = count(viewing, label, AMBER);
  t.ok(ink > 100 && paper > label.width * label.height / 2, `the label's text is drawn in the top middle (${ink} text pixels on ${paper} amber)`);
  t.equal(ink + paper, label.width * label.height, 'black on amber only');
  t.ok(count(viewing, { x: 300, y: 200, width: 200, height: 200 }, AMBER) === 0, 'the middle of the screen is left alone');

  await border.show({ helpers: 2, controlling: true });
  const controlling = await waitUntil('the red border', () => {
    const s = shot();
    return edgesAre(s, RED) ? s : undefined;
  });
  t.ok(edgesAre(controlling, RED), 'red while a helper controls');

  await border.show(undefined);
  const after = await waitUntil('the border gone', () => {
    const s = shot();
    return !edgesAre(s, RED) && !edgesAre(s, AMBER) ? s : undefined;
  });
  t.same(pixel(after, 0, 0), pixel(before, 0, 0), 'the screen is as before once the last helper left');
  t.equal(count(after, label, AMBER), 0, 'and the label is gone');
});

t.test('virtual desktop: the Host shows the border as a helper joins (amber), takes control (red) and leaves (gone)', async (t) => {
  const screen = new VirtualScreen({ width: 800, height: 600, now: () => 0 });
  const clean = screen.snapshot();
  const host = new Host({ source: screen, sink: screen, presence: screen, consent: (r) => (r.reason === 'connect' ? 'view' : 'control') });
  t.teardown(() => host.close());
  await host.listen({ port: 0, host: '127.0.0.1' });
  const { invitation } = await host.createInvitation({ mode: 'control', expires: '30m', uses: 1 });
  const helper = await Helper.connect(invitation);
  t.teardown(() => helper.close());
  await waitUntil('amber', () => screen.presence?.controlling === false);
  const viewing = screen.snapshot();
  t.ok(edgesAre(viewing, AMBER), 'amber border while the helper views');
  t.same(screen.presence, { helpers: 1, controlling: false });
  t.ok(count(viewing, { x: 0, y: PRESENCE_BORDER_PX, width: 800, height: 30 }, [0, 0, 0]) > 50, `the label "${presenceLabel({ helpers: 1, controlling: false })}" is drawn`);
  // The helper sees it too: the border is part of the shared screen.
  await waitUntil('the helper sees the border', () => edgesAre(helper.framebuffer, AMBER));

  helper.requestControl();
  await waitUntil('red', () => screen.presence?.controlling === true);
  t.ok(edgesAre(screen.snapshot(), RED), 'red border once control is granted');

  await helper.close();
  await waitUntil('gone', () => screen.presence === undefined);
  t.ok(Buffer.from(screen.snapshot().data).equals(Buffer.from(clean.data)), 'the desktop is exactly as before');
});
