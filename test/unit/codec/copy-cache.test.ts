import t from 'tap';
import { desktopWithWindow, terminalScreen } from '../../helpers/codec-screens.js';
import { makePair, roundTrip } from '../../helpers/codec-harness.js';

t.test('vertical scroll is sent as copies, far below a no-copy encode', async (t) => {
  const W = 640, H = 480;
  // Lines are 14 px: scrolling 3 lines moves the text 42 px up.
  const frames = [0, 3, 6, 9, 12].map((first) => terminalScreen(W, H, first));
  const a = makePair(W, H);
  const withCopies = roundTrip(a.enc, a.dec, frames);
  t.equal(withCopies.mismatchAt, -1, 'exact');
  const b = makePair(W, H, 'zlib', { detectCopies: false });
  const without = roundTrip(b.enc, b.dec, frames);
  t.equal(without.mismatchAt, -1, 'exact without copies too');
  const deltaWith = withCopies.bytes - withCopies.updates[0]!.bytes.length;
  const deltaWithout = without.bytes - without.updates[0]!.bytes.length;
  t.ok(withCopies.updates.slice(1).every((u) => u.stats.copies > 0), 'every scroll update has copies');
  t.ok(deltaWith * 4 < deltaWithout, `scroll deltas ${deltaWith} bytes with copies vs ${deltaWithout} without`);
});

t.test('a window moved in two dimensions is found', async (t) => {
  const W = 640, H = 480;
  const frames = [0, 1, 2, 3].map((i) => desktopWithWindow(W, H, 60 + i * 24, 40 + i * 12, 420, 320));
  const a = makePair(W, H);
  const moved = roundTrip(a.enc, a.dec, frames);
  t.equal(moved.mismatchAt, -1, 'exact');
  t.ok(moved.updates.slice(1).every((u) => u.stats.copies > 0 || u.stats.prev > 0), 'moves use copies or motion prediction');
  t.ok(moved.updates.slice(1).some((u) => u.stats.copies > 0), 'some move update has copies');
  const b = makePair(W, H, 'zlib', { detectCopies: false });
  const flat = roundTrip(b.enc, b.dec, frames);
  const dm = moved.bytes - moved.updates[0]!.bytes.length;
  const df = flat.bytes - flat.updates[0]!.bytes.length;
  // The window's edge tiles are copied in part (the largest rectangle that matches at the move's offset), so only
  // the background beside the window is left to tile records.
  t.ok(dm * 2.5 < df, `move deltas ${dm} bytes vs ${df} without copy detection`);
});

t.test('a window move is found even when a small scroll elsewhere gives copies first', async (t) => {
  // The drag corpus: rows of a busy background that repeat a few pixels lower vote for a small scroll, whose copies
  // once stopped the move search, so the moved window went as tile records. Here a ticker strip scrolls 4 px per
  // update at the right edge while the window moves (+24, +12).
  const W = 640, H = 480;
  const frames = [0, 1, 2, 3].map((i) => {
    const fb = desktopWithWindow(W, H, 60 + i * 24, 40 + i * 12, 420, 320);
    for (let y = 0; y < H; y++) {
      for (let x = 576; x < W; x++) {
        const v = Math.imul((y + i * 4) * 131 + x, 0x9e3779b1) >>> 24;
        const o = (y * W + x) * 4;
        fb.data[o] = v;
        fb.data[o + 1] = v ^ 0x55;
        fb.data[o + 2] = 255 - v;
        fb.data[o + 3] = 255;
      }
    }
    return fb;
  });
  const a = makePair(W, H);
  const r = roundTrip(a.enc, a.dec, frames);
  t.equal(r.mismatchAt, -1, 'exact');
  const b = makePair(W, H);
  const alone = roundTrip(b.enc, b.dec, [0, 1, 2, 3].map((i) => desktopWithWindow(W, H, 60 + i * 24, 40 + i * 12, 420, 320)));
  for (let k = 1; k < r.updates.length; k++) {
    const u = r.updates[k]!, v = alone.updates[k]!;
    // The ticker's 4 new rows of noise per update cost about 1 KB; without the move's copies the window costs 20 KB more.
    t.ok(u.bytes.length < v.bytes.length + 4000, `update ${k}: ${u.bytes.length} bytes with the ticker, ${v.bytes.length} without`);
  }
});

t.test('cache hits when a screen comes back, and a small cache evicts in step', async (t) => {
  const W = 384, H = 256;
  const screens = [0, 20, 40, 60, 80].map((first) => terminalScreen(W, H, first));
  // Cycle through screens; with 24 tiles per screen a 30-slot cache holds about one screen, so most returns miss
  // and evict, some hit: both sides must agree on every slot or the pictures would differ.
  const order = [0, 1, 0, 2, 1, 3, 0, 4, 2, 2, 1, 0, 3, 4, 0];
  for (const cacheTiles of [0, 1, 7, 30, 200]) {
    const { enc, dec } = makePair(W, H, 'zlib', { cacheTiles, detectCopies: false });
    const r = roundTrip(enc, dec, order.map((i) => screens[i]!));
    t.equal(r.mismatchAt, -1, `cacheTiles ${cacheTiles}: exact`);
    const hits = r.updates.reduce((n, u) => n + u.stats.cache, 0);
    if (cacheTiles >= 200) t.ok(hits > 0, `cacheTiles ${cacheTiles}: ${hits} hits`);
    if (cacheTiles === 0) t.equal(hits, 0, 'no cache, no hits');
  }
  const big = makePair(W, H, 'zlib', { cacheTiles: 200, detectCopies: false });
  const r = roundTrip(big.enc, big.dec, [screens[0]!, screens[1]!, screens[0]!]);
  const back = r.updates[2]!;
  t.ok(back.stats.cache >= 20, `returning screen is mostly cache hits (${back.stats.cache})`);
  t.ok(back.bytes.length < 300, `returning screen costs ${back.bytes.length} bytes`);
});
