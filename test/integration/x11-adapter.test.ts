/**
 * The X11 adapter's parts: pixel conversion, keysym tables and the keyboard map (no X server needed), then the
 * adapters alone on Xvfb: polling without DAMAGE, damage rectangles, cursor compositing, RandR resizes, wheel and
 * button injection and releaseAll.
 */
import t, { type Test } from 'tap';
import { KeyboardMap, PixelConverter, X11Input, X11Screen, keysymForChar, keysymsForCode } from '../../src/adapters/x11/index.js';
import { X11Connection, type RawEvent } from '../../src/adapters/x11/x11-connection.js';
import { parseXwd, startXvfb, waitUntil, xvfbMissing, type XServer } from '../helpers/xvfb.js';

const skip = xvfbMissing(['xwd', 'xlogo']);

function frameOf(width: number, height: number) {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

t.test('PixelConverter turns 32-bit BGRX words into RGBA with alpha 255', async (t) => {
  const conv = new PixelConverter({ bitsPerPixel: 32, scanlinePad: 32, imageByteOrder: 0, redMask: 0xff0000, greenMask: 0xff00, blueMask: 0xff });
  t.ok(conv.fast, 'the Uint32 fast path applies');
  // Two pixels, B G R X in memory: (r=0x30, g=0x20, b=0x10) and (r=0xff, g=0x80, b=0x01).
  const src = Uint8Array.of(0x10, 0x20, 0x30, 0x00, 0x01, 0x80, 0xff, 0x99);
  const fb = frameOf(3, 2);
  conv.convert(src, 2, 1, fb, 1, 1);
  t.same([...fb.data.subarray(16, 24)], [0x30, 0x20, 0x10, 255, 0xff, 0x80, 0x01, 255]);
  t.same([...fb.data.subarray(0, 16)], new Array(16).fill(0), 'pixels outside the rectangle are untouched');
  // The same bytes at an odd offset (reply buffers may start anywhere) convert the same.
  const unaligned = new Uint8Array(9);
  unaligned.set(src, 1);
  const fb2 = frameOf(3, 2);
  conv.convert(unaligned.subarray(1), 2, 1, fb2, 1, 1);
  t.same(fb2.data, fb.data);
});

t.test('PixelConverter follows masks and byte order on the generic path', async (t) => {
  const msb = new PixelConverter({ bitsPerPixel: 32, scanlinePad: 32, imageByteOrder: 1, redMask: 0xff0000, greenMask: 0xff00, blueMask: 0xff });
  t.notOk(msb.fast);
  const fb = frameOf(1, 1);
  msb.convert(Uint8Array.of(0x00, 0x30, 0x20, 0x10), 1, 1, fb, 0, 0);
  t.same([...fb.data], [0x30, 0x20, 0x10, 255]);
  const rgb565 = new PixelConverter({ bitsPerPixel: 16, scanlinePad: 32, imageByteOrder: 0, redMask: 0xf800, greenMask: 0x07e0, blueMask: 0x001f });
  const fb16 = frameOf(1, 2);
  // Rows of a 1-pixel-wide 16-bit image are padded to 4 bytes: pure red, then pure blue.
  rgb565.convert(Uint8Array.of(0x00, 0xf8, 0, 0, 0x1f, 0x00, 0, 0), 1, 2, fb16, 0, 0);
  t.same([...fb16.data], [255, 0, 0, 255, 0, 0, 255, 255]);
  t.throws(() => new PixelConverter({ bitsPerPixel: 8, scanlinePad: 32, imageByteOrder: 0, redMask: 0xe0, greenMask: 0x1c, blueMask: 0x03 }), { code: 'TESSERA_ERR_INVALID_CONFIG' });
  t.throws(() => msb.convert(new Uint8Array(3), 1, 1, fb, 0, 0), { code: 'TESSERA_ERR_IO' }, 'short image data is an error, not a crash');
});

t.test('keysym tables name physical keys and characters', async (t) => {
  t.same(keysymsForCode('KeyA'), [0x61]);
  t.same(keysymsForCode('KeyZ'), [0x7a]);
  t.same(keysymsForCode('Digit1'), [0x31]);
  t.same(keysymsForCode('Enter'), [0xff0d]);
  t.same(keysymsForCode('ShiftLeft'), [0xffe1]);
  t.same(keysymsForCode('ArrowUp'), [0xff52]);
  t.same(keysymsForCode('F1'), [0xffbe]);
  t.same(keysymsForCode('F12'), [0xffc9]);
  t.same(keysymsForCode('F24'), [0xffd5]);
  t.same(keysymsForCode('Slash'), [0x2f]);
  t.same(keysymsForCode('Fn'), [], 'keys X has no keysym for');
  t.equal(keysymForChar('a'.codePointAt(0)!), 0x61);
  t.equal(keysymForChar('é'.codePointAt(0)!), 0xe9, 'Latin-1 keysyms equal the code point');
  t.equal(keysymForChar('€'.codePointAt(0)!), 0x10020ac, 'others are Unicode keysyms');
  t.equal(keysymForChar('😀'.codePointAt(0)!), 0x101f600);
  t.equal(keysymForChar(0x0a), 0xff0d, 'line feed is Return');
  t.equal(keysymForChar(0x01), undefined, 'control characters are not typed');
});

t.test('KeyboardMap prefers unshifted keys and finds spare keycodes', async (t) => {
  // keycode 8: a A; 9: 1 exclam; 10: nothing; 11: b (implied B); 12: nothing; 13: exclam (unshifted elsewhere).
  const map = new KeyboardMap(8, [[0x61, 0x41], [0x31, 0x21], [0, 0], [0x62, 0], [0, 0, 0], [0x21, 0]]);
  t.same(map.find(0x61), { keycode: 8, level: 0 });
  t.same(map.find(0x41), { keycode: 8, level: 1 });
  t.same(map.find(0x42), { keycode: 11, level: 1 }, 'an upper-case letter is implied by a lone lower-case one');
  t.same(map.find(0x21), { keycode: 13, level: 0 }, 'an unshifted match wins over a shifted one');
  t.equal(map.find(0xe9), undefined);
  t.same(map.spareKeycodes(), [12, 10]);
  map.setRow(12, [0xe9, 0xe9]);
  t.same(map.find(0xe9), { keycode: 12, level: 0 });
  t.same(map.spareKeycodes(), [10]);
});

t.test('parseXwd reads a 32-bit TrueColor dump', async (t) => {
  const name = new TextEncoder().encode('xwdump\0');
  const headerSize = 100 + name.length;
  const ncolors = 2;
  const width = 2;
  const height = 1;
  const file = new Uint8Array(headerSize + ncolors * 12 + width * 4 * height);
  const view = new DataView(file.buffer);
  const fields = [headerSize, 7, 2, 24, width, height, 0, 0, 32, 0, 32, 32, width * 4, 4, 0xff0000, 0xff00, 0xff, 8, 256, ncolors, width, height, 0, 0, 0];
  fields.forEach((v, i) => view.setUint32(i * 4, v, false));
  file.set(name, 100);
  file.set([0x10, 0x20, 0x30, 0x00, 0x03, 0x02, 0x01, 0x00], headerSize + ncolors * 12);
  const image = parseXwd(file);
  t.same({ width: image.width, height: image.height }, { width, height });
  t.same([...image.data], [0x30, 0x20, 0x10, 255, 0x01, 0x02, 0x03, 255]);
  t.throws(() => parseXwd(file.subarray(0, 50)));
});

async function server(t: Test, width = 640, height = 480): Promise<XServer> {
  const s = await startXvfb({ width, height });
  t.teardown(() => s.stop());
  return s;
}

function xwd(s: XServer): Uint8Array {
  return parseXwd(s.run('xwd', ['-root', '-silent'])).data;
}

t.test('without DAMAGE the source is polled: full captures, no damage, no onDamage', { skip }, async (t) => {
  const s = await server(t);
  const screen = await X11Screen.open({ display: s.display, damage: false, shm: false });
  t.teardown(() => screen.close());
  t.equal(screen.onDamage, undefined, 'tessera polls a source without onDamage');
  t.notOk(screen.damageTracking);
  s.spawn('xlogo', ['-geometry', '200x150+30+40']);
  await waitUntil('xlogo to draw and match xwd', async () => {
    const cap = await screen.capture();
    t.equal(cap.damage, undefined);
    return Buffer.from(cap.frame.data).equals(Buffer.from(xwd(s))) && cap.frame.data.some((v, i) => i % 4 !== 3 && v !== cap.frame.data[i % 4]);
  }, 10_000, 100);
  t.equal(screen.lastCaptureMethod, 'getimage');
});

t.test('damage rectangles cover what changed and nothing else is re-read', { skip }, async (t) => {
  const s = await server(t);
  const screen = await X11Screen.open({ display: s.display });
  t.teardown(() => screen.close());
  let notified = 0;
  screen.onDamage!(() => notified++);
  const first = await screen.capture();
  t.same(first.damage, [{ x: 0, y: 0, width: 640, height: 480 }], 'the first capture is a full one');
  const idle = await screen.capture();
  t.same(idle.damage, [], 'nothing changed');
  const conn = await X11Connection.open({ display: s.display, shm: false });
  t.teardown(() => conn.close());
  const wid = conn.allocId();
  conn.send(conn.X, 'CreateWindow', wid, conn.screen.root, 100, 120, 50, 40, 0, 0, 0, 0, { backgroundPixel: 0x00ff00, overrideRedirect: 1 });
  conn.send(conn.X, 'MapWindow', wid);
  await conn.sync();
  await waitUntil('a damage notification', () => notified > 0, 5_000, 5);
  const cap = await screen.capture();
  t.ok(cap.damage && cap.damage.length > 0);
  for (const r of cap.damage ?? []) t.ok(r.x >= 100 && r.y >= 120 && r.x + r.width <= 150 && r.y + r.height <= 160, `damage ${JSON.stringify(r)} lies inside the window`);
  t.ok(Buffer.from(cap.frame.data).equals(Buffer.from(xwd(s))), 'the patched framebuffer equals xwd');
});

t.test('drawCursor composites the cursor image and reports the cursor', { skip }, async (t) => {
  const s = await server(t);
  const plain = await X11Screen.open({ display: s.display });
  const drawn = await X11Screen.open({ display: s.display, drawCursor: true });
  t.teardown(async () => {
    await plain.close();
    await drawn.close();
  });
  const input = await X11Input.open({ display: s.display });
  t.teardown(() => input.close());
  await input.inject({ type: 'pointerMove', x: 200, y: 150, buttons: 0 });
  const a = await plain.capture();
  const b = await drawn.capture();
  t.same({ x: drawn.cursor.x, y: drawn.cursor.y }, { x: 200, y: 150 });
  const image = drawn.cursor.image;
  t.ok(image && image.width > 0 && image.height > 0, 'XFIXES gave the cursor image');
  t.ok(Buffer.from(a.frame.data).equals(Buffer.from(xwd(s))), 'without drawCursor the frame has no cursor, like xwd');
  t.notOk(Buffer.from(a.frame.data).equals(Buffer.from(b.frame.data)), 'with drawCursor the cursor is in the frame');
  // Moving the pointer damages the old and the new cursor areas.
  let notified = 0;
  drawn.onDamage!(() => notified++);
  await input.inject({ type: 'pointerMove', x: 400, y: 300, buttons: 0 });
  await waitUntil('the pointer poll to notice the move', () => notified > 0, 5_000, 5);
  const c = await drawn.capture();
  t.ok((c.damage ?? []).some((r) => r.x <= 200 && r.x + r.width > 200 - image!.xhot), 'the old cursor area is damaged');
  t.ok((c.damage ?? []).some((r) => r.x <= 400 && r.x + r.width > 400 - image!.xhot), 'the new cursor area is damaged');
  const withoutCursor = xwd(s);
  const w = 640;
  let differing = 0;
  for (let y = 290; y < 330; y++) for (let x = 390; x < 430; x++) if (c.frame.data[(y * w + x) * 4] !== withoutCursor[(y * w + x) * 4]) differing++;
  t.ok(differing > 0, 'the cursor is drawn at its new place');
  differing = 0;
  for (let y = 140; y < 180; y++) for (let x = 190; x < 230; x++) if (c.frame.data[(y * w + x) * 4] !== withoutCursor[(y * w + x) * 4]) differing++;
  t.equal(differing, 0, 'and erased from the old one');
});

t.test('a RandR screen resize reaches onResize and the next capture', { skip }, async (t) => {
  const s = await server(t, 800, 600);
  const screen = await X11Screen.open({ display: s.display });
  t.teardown(() => screen.close());
  await screen.capture();
  const sizes: [number, number][] = [];
  screen.onResize((w, h) => sizes.push([w, h]));
  const conn = await X11Connection.open({ display: s.display, shm: false });
  t.teardown(() => conn.close());
  const randr = await conn.extension('randr');
  t.ok(randr, 'Xvfb has RandR');
  // Shrinking below the current mode needs the CRTC off first, as `xrandr --output ... --off; xrandr --fb` does.
  const res = await conn.call<{ crtcs: number[]; timestamp: number; config_timestamp: number }>(randr, 'GetScreenResources', conn.screen.root);
  for (const crtc of res.crtcs) await conn.call(randr, 'SetCrtcConfig', crtc, res.timestamp, res.config_timestamp, 0, 0, 0, 1, []);
  conn.send(randr, 'SetScreenSize', conn.screen.root, 640, 480, 169, 127);
  await conn.sync();
  await waitUntil('the resize event', () => sizes.length > 0, 5_000, 5);
  t.same(sizes, [[640, 480]]);
  t.same({ width: screen.width, height: screen.height }, { width: 640, height: 480 });
  const cap = await screen.capture();
  t.same({ width: cap.frame.width, height: cap.frame.height }, { width: 640, height: 480 });
  t.same(cap.damage, [{ x: 0, y: 0, width: 640, height: 480 }], 'the capture after a resize is a full one');
  t.ok(Buffer.from(cap.frame.data).equals(Buffer.from(xwd(s))));
});

t.test('buttons, wheel clicks and releaseAll reach the server', { skip }, async (t) => {
  const s = await server(t);
  const conn = await X11Connection.open({ display: s.display, shm: false });
  t.teardown(() => conn.close());
  const input = await X11Input.open({ display: s.display });
  t.teardown(() => input.close());
  // A window that listens to button presses (mask ButtonPress 1<<2 | ButtonRelease 1<<3).
  const wid = conn.allocId();
  conn.send(conn.X, 'CreateWindow', wid, conn.screen.root, 0, 0, 640, 480, 0, 0, 0, 0, { backgroundPixel: 0, overrideRedirect: 1, eventMask: (1 << 2) | (1 << 3) });
  conn.send(conn.X, 'MapWindow', wid);
  await conn.sync();
  const presses: number[] = [];
  conn.onEvent((e: RawEvent) => {
    if (e.name === 'ButtonPress') presses.push(e['keycode'] as number);
  });
  await input.inject({ type: 'pointerMove', x: 50, y: 50, buttons: 0 });
  await input.inject({ type: 'wheel', dx: 0, dy: 100 });
  await input.inject({ type: 'wheel', dx: 0, dy: 100 }); // 200 units: one click down, 80 kept.
  await input.inject({ type: 'wheel', dx: 0, dy: -360 }); // -280: two clicks up, -40 kept.
  await input.inject({ type: 'wheel', dx: 240, dy: 0 }); // two clicks right.
  await input.inject({ type: 'wheel', dx: -120, dy: 0 }); // one click left.
  for (const button of [0, 1, 2, 3, 4]) {
    await input.inject({ type: 'buttonDown', button, x: 50, y: 50 });
    await input.inject({ type: 'buttonUp', button, x: 50, y: 50 });
  }
  await waitUntil('all button presses', () => presses.length >= 11, 5_000, 5);
  t.same(presses, [5, 4, 4, 7, 7, 6, 1, 2, 3, 8, 9], 'wheel as buttons 4-7, W3C buttons 0-4 as X 1, 2, 3, 8, 9');
  // Held keys and buttons are released by releaseAll.
  await input.inject({ type: 'keyDown', code: 'ShiftLeft', modifiers: 0 });
  await input.inject({ type: 'buttonDown', button: 0, x: 50, y: 50 });
  // The sink's requests travel on its own connection: wait until the server has processed them.
  const mask = async () => (await conn.call<{ keyMask: number }>(conn.X, 'QueryPointer', conn.screen.root)).keyMask;
  const held = await waitUntil('Shift and button 1 held', async () => ((await mask()) & 0x101) === 0x101, 5_000, 5);
  t.ok(held, 'Shift and button 1 are held');
  await input.releaseAll();
  t.equal((await mask()) & 0x101, 0, 'releaseAll released both (it waits for the server)');
});

t.test('connection failures are TesseraErrors with codes', { skip }, async (t) => {
  await t.rejects(X11Screen.open({ display: ':1999', timeoutMs: 2_000 }), { code: 'TESSERA_ERR_IO' }, 'no server on that display');
  const saved = process.env['DISPLAY'];
  delete process.env['DISPLAY'];
  try {
    await t.rejects(async () => X11Input.open(), { code: 'TESSERA_ERR_INVALID_CONFIG' }, 'no display named and DISPLAY unset');
  } finally {
    if (saved !== undefined) process.env['DISPLAY'] = saved;
  }
  const s = await startXvfb({ width: 320, height: 240 });
  const screen = await X11Screen.open({ display: s.display });
  const input = await X11Input.open({ display: s.display });
  await screen.capture();
  await s.stop();
  await t.rejects(
    waitUntil('a capture to fail', async () => {
      await screen.capture();
      return false;
    }, 5_000, 20),
    { code: 'TESSERA_ERR_IO' },
    'a capture after the server died fails with TESSERA_ERR_IO',
  );
  await t.rejects(async () => input.inject({ type: 'pointerMove', x: 1, y: 1, buttons: 0 }), { code: 'TESSERA_ERR_IO' });
  await screen.close();
  await input.close();
  t.pass('close after a lost connection does not throw');
});
