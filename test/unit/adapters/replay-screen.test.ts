import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ConfigError, ErrorCode, StateError } from '../../../src/core/index.js';
import { ReplayScreen } from '../../../src/adapters/replay/index.js';

const WIDTH = 48;
const HEIGHT = 32;
const FRAMES = 5;

/** Writes FRAMES RGB PNGs whose first pixel's red value is the frame number * 10, plus some files to ignore. */
async function makeFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-replay-'));
  for (let i = 0; i < FRAMES; i++) {
    const rgb = Buffer.alloc(WIDTH * HEIGHT * 3, 40);
    rgb[0] = i * 10;
    rgb[1] = 200;
    // Names sort numerically, not as strings: 8.png comes before 10.png.
    const name = i === FRAMES - 1 ? '10.png' : `${String(i * 2).padStart(4, '0')}.png`;
    await sharp(rgb, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } }).png().toFile(join(dir, name));
  }
  await writeFile(join(dir, 'README.txt'), 'not a frame');
  await writeFile(join(dir, 'thumb-0001.png'), 'not a frame either');
  return dir;
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 5_000;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

t.test('generated folder', async (t) => {
  const dir = await makeFolder();
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  t.test('loads RGB frames as RGBA with alpha 255, in numeric order', async (t) => {
    const screen = await ReplayScreen.open({ dir, pace: 'ack' });
    t.equal(screen.width, WIDTH);
    t.equal(screen.height, HEIGHT);
    t.equal(screen.frameCount, FRAMES);
    t.match(screen.files[FRAMES - 1]!, /10\.png$/);
    const { frame, damage } = await screen.capture();
    t.equal(frame.data.length, WIDTH * HEIGHT * 4);
    t.same([...frame.data.subarray(0, 4)], [0, 200, 40, 255]);
    let opaque = true;
    for (let i = 3; i < frame.data.length; i += 4) if (frame.data[i] !== 255) opaque = false;
    t.ok(opaque);
    t.same(damage, [{ x: 0, y: 0, width: WIDTH, height: HEIGHT }], 'first capture: the whole screen');
  });

  t.test('ack pace: the frame moves only on advance(), every frame is delivered, then done', async (t) => {
    const c = clock();
    const screen = await ReplayScreen.open({ dir, pace: 'ack', now: c.now });
    let notified = 0;
    screen.onDamage(() => notified++);
    const seen: number[] = [];
    const first = await screen.capture();
    seen.push(first.frame.data[0]!);
    c.advance(10_000);
    const again = await screen.capture();
    t.same(again.damage, [], 'time alone does not move the frame');
    t.equal(screen.index, 0);
    while (!screen.done) {
      screen.advance();
      if (screen.done) break;
      const { frame, damage } = await screen.capture();
      t.equal(damage, undefined, 'a new frame has unknown damage');
      seen.push(frame.data[0]!);
    }
    t.same(seen, [0, 10, 20, 30, 40]);
    t.equal(screen.index, FRAMES - 1);
    t.equal(notified, FRAMES - 1);
    screen.advance();
    t.equal(screen.index, FRAMES - 1, 'stays on the last frame');
  });

  t.test('ack pace with loop wraps to frame 0 and is never done', async (t) => {
    const screen = await ReplayScreen.open({ dir, pace: 'ack', loop: true });
    for (let i = 0; i < FRAMES; i++) screen.advance();
    t.equal(screen.index, 0);
    t.equal(screen.done, false);
    t.equal((await screen.capture()).frame.data[0], 0);
  });

  t.test('fixed pace: the frame is picked by the time since the first capture', async (t) => {
    const c = clock();
    const screen = await ReplayScreen.open({ dir, fps: 4, now: c.now });
    c.advance(60_000);
    t.equal((await screen.capture()).frame.data[0], 0, 'time before the first capture does not count');
    c.advance(249);
    t.equal(screen.index, 0);
    t.same((await screen.capture()).damage, []);
    c.advance(1);
    t.equal(screen.index, 1);
    t.equal((await screen.capture()).frame.data[0], 10);
    c.advance(500);
    t.equal(screen.index, 3, 'a slow consumer skips frames');
    t.equal((await screen.capture()).frame.data[0], 30);
    screen.advance();
    t.equal(screen.index, 3, 'advance() does nothing in the fixed pace');
    t.equal(screen.done, false);
    c.advance(500);
    t.equal(screen.index, FRAMES - 1, 'stays on the last frame');
    t.equal(screen.done, true);
    t.equal((await screen.capture()).frame.data[0], 40);
  });

  t.test('fixed pace with loop', async (t) => {
    const c = clock();
    const screen = await ReplayScreen.open({ dir, fps: 10, loop: true, now: c.now });
    await screen.capture();
    c.advance(100 * (FRAMES + 2));
    t.equal(screen.index, 2);
    t.equal(screen.done, false);
  });

  t.test('close drops frames and refuses captures', async (t) => {
    const screen = await ReplayScreen.open({ dir });
    screen.close();
    await t.rejects(screen.capture(), StateError);
  });

  t.test('bad options and folders', async (t) => {
    await t.rejects(ReplayScreen.open({ dir, fps: 0 }), ConfigError);
    await t.rejects(ReplayScreen.open({ dir, pace: 'fast' as 'ack' }), ConfigError);
    await t.rejects(ReplayScreen.open({ dir, readAhead: 99 }), ConfigError);
    await t.rejects(ReplayScreen.open({ dir: join(dir, 'missing') }), { code: ErrorCode.Io });
    const empty = await mkdtemp(join(tmpdir(), 'tessera-replay-empty-'));
    t.teardown(() => rm(empty, { recursive: true, force: true }));
    await t.rejects(ReplayScreen.open({ dir: empty }), { code: ErrorCode.InvalidConfig });
    await writeFile(join(empty, '0000.png'), 'this is not a png');
    await t.rejects(ReplayScreen.open({ dir: empty }), { code: ErrorCode.Io });
  });

  t.test('a frame of another size is refused when it is captured', async (t) => {
    const mixed = await mkdtemp(join(tmpdir(), 'tessera-replay-mixed-'));
    t.teardown(() => rm(mixed, { recursive: true, force: true }));
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#102030' } }).png().toFile(join(mixed, '0.png'));
    await sharp({ create: { width: 9, height: 8, channels: 3, background: '#102030' } }).png().toFile(join(mixed, '1.png'));
    const screen = await ReplayScreen.open({ dir: mixed, pace: 'ack' });
    await screen.capture();
    screen.advance();
    await t.rejects(screen.capture(), { code: ErrorCode.InvalidConfig });
  });

  t.test('grey PNGs become RGBA too', async (t) => {
    const grey = await mkdtemp(join(tmpdir(), 'tessera-replay-grey-'));
    t.teardown(() => rm(grey, { recursive: true, force: true }));
    await sharp(Buffer.alloc(16, 77), { raw: { width: 4, height: 4, channels: 1 } }).png().toFile(join(grey, '0.png'));
    const screen = await ReplayScreen.open({ dir: grey });
    const { frame } = await screen.capture();
    t.same([...frame.data.subarray(0, 4)], [77, 77, 77, 255]);
  });
});

const corpus = new URL('../../../../shared/corpus/', import.meta.url);
t.test('shared corpus', { skip: existsSync(corpus) ? false : `no corpus at ${corpus.pathname} (../shared/corpus from the repo root)` }, async (t) => {
  const dir = join(corpus.pathname, 'typing');
  const screen = await ReplayScreen.open({ dir, pace: 'ack' });
  t.equal(screen.width, 1920);
  t.equal(screen.height, 1080);
  t.ok(screen.frameCount >= 16, `${screen.frameCount} frames`);
  const first = await screen.capture();
  t.equal(first.frame.data.length, 1920 * 1080 * 4);
  t.equal(first.frame.data[3], 255);
  const firstPixels = first.frame.data.slice();
  screen.advance();
  const second = await screen.capture();
  let differs = false;
  for (let i = 0; i < firstPixels.length && !differs; i++) if (firstPixels[i] !== second.frame.data[i]) differs = true;
  t.ok(differs, 'typing changes the screen between frames');
});
