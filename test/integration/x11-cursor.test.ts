/**
 * The X11 pointer on the cursor channel (spec/session.md §6.9) on Xvfb: XFIXES shape changes and polled moves reach
 * onCursor, readCursor gives the position and the shape, and a Helper connected to a Host on the display sees both.
 */
import t from 'tap';
import { X11Screen } from '../../src/adapters/x11/index.js';
import { Host, Helper, type CursorState } from '../../src/index.js';
import { startXvfb, waitUntil, xvfbMissing } from '../helpers/xvfb.js';

const skip = xvfbMissing(['xdotool', 'xterm']);

t.test('X11Screen reports pointer moves and XFIXES shape changes', { skip }, async (t) => {
  const s = await startXvfb({ width: 640, height: 480 });
  t.teardown(() => s.stop());
  const screen = await X11Screen.open({ display: s.display });
  t.teardown(() => screen.close());
  t.ok(screen.readCursor && screen.onCursor, 'XFIXES present: the source reports its pointer');
  let heard = 0;
  const off = screen.onCursor!(() => heard++);
  t.teardown(off);
  s.run('xdotool', ['mousemove', '600', '400']);
  await waitUntil('the poll to notice the move', () => heard > 0, 5_000, 5);
  const root = await screen.readCursor!();
  t.same([root.x, root.y, root.visible], [600, 400, true]);
  const shape = root.shape!;
  t.ok(shape.width >= 1 && shape.width <= 256 && shape.rgba.byteLength === shape.width * shape.height * 4, 'the root cursor image as RGBA');
  t.ok(shape.hotX < shape.width && shape.hotY < shape.height);
  t.equal((await screen.readCursor!()).shape, shape, 'the same shape object while the cursor does not change');
  // xterm's window has its own (I-beam) cursor: the pointer entering it is a CursorNotify and a new shape.
  s.spawn('xterm', ['-geometry', '40x10+10+10']);
  await waitUntil('the xterm window to show', async () => {
    s.run('xdotool', ['mousemove', '50', '50']);
    const c = await screen.readCursor!();
    return c.shape && c.shape.id !== shape.id ? c : undefined;
  }, 10_000, 100);
  t.pass('a new shape id over the xterm');
});

t.test('a Helper sees the pointer of a Host sharing the X display', { skip }, async (t) => {
  const s = await startXvfb({ width: 640, height: 480 });
  t.teardown(() => s.stop());
  const screen = await X11Screen.open({ display: s.display });
  const host = new Host({ source: screen, consent: () => 'view', name: 'x11-host' });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'view', expires: '30m' });
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  s.run('xdotool', ['mousemove', '123', '234']);
  const seen = await new Promise<CursorState>((resolve) => {
    const check = (c: CursorState) => c.x === 123 && c.y === 234 && resolve(c);
    if (helper.cursor) check(helper.cursor);
    helper.on('cursor', check);
  });
  t.ok(seen.visible && seen.shape, 'position and shape');
});
