import t from 'tap';
import fc from 'fast-check';
import { cloneFramebuffer, createFramebuffer, type Framebuffer } from '../../../src/codec/index.js';
import { desktopWithWindow, fillRect, noiseScreen, photoScreen, terminalScreen } from '../../helpers/codec-screens.js';
import { firstDiff, makePair, roundTrip, type BackendKind } from '../../helpers/codec-harness.js';

for (const backend of ['zlib', 'fflate'] as BackendKind[]) {
  t.test(`lossless round trip of generated screens (${backend})`, async (t) => {
    const W = 300, H = 200;
    const frames: Framebuffer[] = [];
    for (let i = 0; i < 4; i++) frames.push(terminalScreen(W, H, i * 3));
    frames.push(photoScreen(W, H, 1));
    frames.push(photoScreen(W, H, 2));
    for (let i = 0; i < 4; i++) frames.push(desktopWithWindow(W, H, 20 + i * 13, 10 + i * 7));
    frames.push(noiseScreen(W, H, 5));
    frames.push(noiseScreen(W, H, 6, true));
    frames.push(terminalScreen(W, H, 0));
    const { enc, dec } = makePair(W, H, backend);
    const r = roundTrip(enc, dec, frames);
    t.equal(r.mismatchAt, -1, `frame ${r.mismatchAt} differs at byte ${r.mismatchByte}`);
    t.ok(r.updates[0]!.keyFrame, 'first update is a key frame');
    t.notOk(r.updates[1]!.keyFrame, 'later updates are deltas');
  });
}

t.test('sizes not multiple of 64, down to 1x1', async (t) => {
  for (const [w, h] of [[1, 1], [1, 70], [70, 1], [63, 65], [64, 64], [65, 129], [130, 3]] as const) {
    const { enc, dec } = makePair(w, h);
    const frames = [noiseScreen(w, h, w * 31 + h), photoScreen(w, h, 3), terminalScreen(w, h, 2), terminalScreen(w, h, 3)];
    const r = roundTrip(enc, dec, frames);
    t.equal(r.mismatchAt, -1, `${w}x${h}: frame ${r.mismatchAt} differs`);
  }
});

t.test('an unchanged frame gives no update; a changed pixel gives a small one', async (t) => {
  const { enc, dec } = makePair(256, 128);
  const a = terminalScreen(256, 128, 0);
  dec.decode(enc.encode(a)!.bytes.slice());
  t.equal(enc.encode(cloneFramebuffer(a)), undefined);
  const b = cloneFramebuffer(a);
  b.data[(100 * 256 + 200) * 4] = 0x40;
  const u = enc.encode(b)!;
  t.equal(u.stats.changedTiles, 1);
  t.ok(u.bytes.length < 200, `one-pixel update is ${u.bytes.length} bytes`);
  dec.decode(u.bytes.slice());
  t.equal(firstDiff(dec.framebuffer!.data, b.data), -1);
});

t.test('damage rectangles narrow the compare but tiles are still compared', async (t) => {
  const { enc, dec } = makePair(256, 256);
  const a = terminalScreen(256, 256, 0);
  dec.decode(enc.encode(a)!.bytes.slice());
  // Damage over everything, nothing changed: no update.
  t.equal(enc.encode(cloneFramebuffer(a), [{ x: 0, y: 0, width: 256, height: 256 }]), undefined);
  const b = cloneFramebuffer(a);
  fillRect(b, 70, 70, 10, 10, 255, 0, 0);
  const u = enc.encode(b, [{ x: 0, y: 0, width: 256, height: 256 }])!;
  t.equal(u.stats.changedTiles, 1, 'only the really changed tile is sent');
  dec.decode(u.bytes.slice());
  t.equal(firstDiff(dec.framebuffer!.data, b.data), -1);
});

t.test('skipped frames coalesce: the update goes from what the helper last received', async (t) => {
  const { enc, dec } = makePair(320, 240);
  dec.decode(enc.encode(terminalScreen(320, 240, 0))!.bytes.slice());
  // Frames 1..4 are captured but never encoded (the helper fell behind); frame 5 is encoded against frame 0.
  const f5 = terminalScreen(320, 240, 5);
  dec.decode(enc.encode(f5)!.bytes.slice());
  t.equal(firstDiff(dec.framebuffer!.data, f5.data), -1);
});

t.test('reset sends a key frame; resize changes the screen size', async (t) => {
  const { enc, dec } = makePair(200, 100);
  dec.decode(enc.encode(photoScreen(200, 100, 1))!.bytes.slice());
  enc.reset();
  const u = enc.encode(photoScreen(200, 100, 1))!;
  t.ok(u.keyFrame, 'key frame after reset even for an unchanged picture');
  dec.decode(u.bytes.slice());
  enc.resize(150, 90);
  const f = terminalScreen(150, 90, 4);
  const v = enc.encode(f)!;
  t.ok(v.keyFrame);
  const r = dec.decode(v.bytes.slice());
  t.equal(r.framebuffer.width, 150);
  t.equal(r.framebuffer.height, 90);
  t.equal(firstDiff(r.framebuffer.data, f.data), -1);
  t.throws(() => enc.encode(photoScreen(200, 100, 1)), { code: 'TESSERA_ERR_BAD_STATE' }, 'wrong frame size is a StateError');
});

t.test('transparent pixels survive (RGBA tiles)', async (t) => {
  const { enc, dec } = makePair(100, 100);
  const a = createFramebuffer(100, 100);
  fillRect(a, 0, 0, 100, 100, 10, 20, 30, 128);
  fillRect(a, 10, 10, 30, 30, 200, 20, 30, 0);
  const r = roundTrip(enc, dec, [a, noiseScreen(100, 100, 9)]);
  t.equal(r.mismatchAt, -1);
});

t.test('random frame sequences round trip exactly (fast-check)', async (t) => {
  const arbFrame = (w: number, h: number) =>
    fc.record({
      seed: fc.integer({ min: 0, max: 1 << 30 }),
      kind: fc.constantFrom('noise', 'photo', 'text', 'rects', 'opaque-noise'),
      rects: fc.array(fc.tuple(fc.nat(w), fc.nat(h), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 80 }), fc.nat(255), fc.nat(255)), { maxLength: 6 }),
    }).map(({ seed, kind, rects }) => {
      const f = kind === 'noise' ? noiseScreen(w, h, seed) : kind === 'opaque-noise' ? noiseScreen(w, h, seed, true)
        : kind === 'photo' ? photoScreen(w, h, seed) : kind === 'text' ? terminalScreen(w, h, seed % 50) : createFramebuffer(w, h);
      for (const [x, y, rw, rh, c, a] of rects) fillRect(f, x, y, rw, rh, c, 255 - c, (c * 7) & 255, a);
      return f;
    });
  await fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 150 }).chain((w) => fc.integer({ min: 1, max: 150 }).chain((h) =>
        fc.tuple(fc.constant(w), fc.constant(h), fc.array(arbFrame(w, h), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 8 })))),
      ([w, h, frames, cacheTiles]) => {
        const { enc, dec } = makePair(w, h, 'zlib', { cacheTiles });
        return roundTrip(enc, dec, frames).mismatchAt === -1;
      },
    ),
    { numRuns: 60, seed: 20240611 },
  );
  t.pass('all sequences matched');
});

t.test('INDEXED records share a session colour table across tiles, updates and up to 512 colours', async (t) => {
  // Tiles 0 and 1 bring 150 colours each; a later update paints tile 2 with all 300 (past the PALETTE limit), all known.
  const W = 192, H = 64;
  const a = createFramebuffer(W, H);
  fillRect(a, 0, 0, W, H, 255, 255, 255);
  const colour = (i: number): [number, number, number] => [i & 255, (i * 7) & 255, 40 + (i >> 8)];
  for (let i = 0; i < 300; i++) {
    const [r, g, b] = colour(i);
    const j = i % 150;
    fillRect(a, (i < 150 ? 0 : 64) + (j % 16) * 4, ((j / 16) | 0) * 4, 3, 3, r, g, b);
  }
  const b = cloneFramebuffer(a);
  for (let i = 0; i < 300; i++) {
    const [r, g, bl] = colour(i);
    fillRect(b, 128 + (i % 16) * 4, ((i / 16) | 0) * 3, 4, 3, r, g, bl);
  }
  for (const backend of ['zlib', 'fflate'] as BackendKind[]) {
    const { enc, dec } = makePair(W, H, backend, { cacheTiles: 0 });
    const r = roundTrip(enc, dec, [a, b]);
    t.equal(r.mismatchAt, -1, `${backend}: frame ${r.mismatchAt} differs at byte ${r.mismatchByte}`);
    t.equal(r.updates[0]!.stats.indexed, 2, 'both 150-colour tiles are INDEXED');
    t.equal(r.updates[1]!.stats.indexed, 1, 'the later 300-colour tile reuses the table');
    t.ok(r.updates[1]!.bytes.length < r.updates[0]!.bytes.length / 2, `the reuse costs no colours (${r.updates[1]!.bytes.length} vs ${r.updates[0]!.bytes.length} bytes)`);
    // A key frame starts a fresh table: the decoder must not see stale colours.
    enc.reset();
    const again = roundTrip(enc, dec, [b]);
    t.equal(again.mismatchAt, -1, 'key frame after reset decodes exactly');
  }
});

t.test('a photograph of more than 256 colours does not fill the session colour table', async (t) => {
  const { enc, dec } = makePair(128, 64);
  const r = roundTrip(enc, dec, [photoScreen(128, 64, 4)]);
  t.equal(r.mismatchAt, -1);
  t.equal(r.updates[0]!.stats.indexed, 0, 'photo tiles go as PIXELS');
});
