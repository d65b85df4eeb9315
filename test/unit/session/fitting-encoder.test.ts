/**
 * FittingEncoder (spec/framing.md §2.3): a picture whose update would be over the cap goes as a KEY update of its first
 * bands and deltas for the others, each within the cap, with the real TileEncoder and TileDecoder; and DisplayGroups
 * sends the pieces of a split to every member, in order, before any new frame.
 */
import t from 'tap';
import { FakeMember } from '../../helpers/display-member.js';
import { TileDecoder, TileEncoder, cloneFramebuffer, createFramebuffer, type Framebuffer, type QualityMode } from '../../../src/codec/index.js';
import { ZlibDeflateBackend, ZlibInflateBackend } from '../../../src/node/zlib-backend.js';
import { SharpImageCodec } from '../../../src/node/sharp-image-codec.js';
import { FittingEncoder, type SingleUpdateEncoder } from '../../../src/session/fitting-encoder.js';
import { DisplayGroups } from '../../../src/session/display-groups.js';
import { MAX_DISPLAY_UPDATE_BYTES } from '../../../src/session/constants.js';
import { fillRect, noiseScreen, terminalScreen } from '../../helpers/codec-screens.js';
import { firstDiff } from '../../helpers/codec-harness.js';

/** The codec encoder as the host wraps it: one update per encode, the lossless or the async lossy path. */
function tileEncoder(width: number, height: number, quality: QualityMode = 'lossless', imageCodec?: SharpImageCodec): SingleUpdateEncoder & { readonly codec: TileEncoder } {
  const codec = new TileEncoder({ width, height, quality, deflate: new ZlibDeflateBackend(), ...(imageCodec ? { imageCodec } : {}) });
  return {
    codec,
    encode: async (frame, damage) => {
      const u = quality === 'lossless' ? codec.encode(frame, damage) : await codec.encodeAsync(frame, damage);
      return u?.bytes.slice();
    },
    reset: () => codec.reset(),
  };
}

function decoder(width: number, height: number, imageCodec?: SharpImageCodec): TileDecoder {
  return new TileDecoder({ maxWidth: width, maxHeight: height, inflate: new ZlibInflateBackend(), ...(imageCodec ? { imageCodec } : {}) });
}

const asList = (u: Uint8Array | readonly Uint8Array[] | undefined): readonly Uint8Array[] => (u === undefined ? [] : u instanceof Uint8Array ? [u] : u);
/** spec/codec.md §2: byte 1 is flags, bit 0 KEY. */
const isKey = (u: Uint8Array): boolean => (u[1]! & 1) !== 0;

t.test('a 256x256 noise picture over a small cap goes as a KEY update and deltas, each within the cap, and decodes exact', async (t) => {
  const W = 256, H = 256;
  const cap = 80_000; // one 256-px tile row of noise is about 65.6 KB, the picture about 262 KB
  const fit = new FittingEncoder(tileEncoder(W, H), { maxUpdateBytes: cap });
  const dec = decoder(W, H);
  const first = noiseScreen(W, H, 1);
  const pieces = asList(await fit.encode(first, undefined));
  t.ok(pieces.length >= 4, `split into ${pieces.length} pieces`);
  for (const p of pieces) t.ok(p.byteLength <= cap, `piece of ${p.byteLength} bytes is within the cap`);
  t.ok(isKey(pieces[0]!), 'the first piece is a KEY update');
  t.ok(pieces.slice(1).every((p) => !isKey(p)), 'the others are deltas');
  for (const p of pieces) dec.decode(p);
  t.equal(firstDiff(dec.framebuffer!.data, first.data), -1, 'the helper holds the picture exactly');
  t.same(fit.stats, { splits: 1, pieces: pieces.length, attempts: 1 });

  // A second noisy picture: a delta that is over the cap too.
  const second = noiseScreen(W, H, 2);
  const more = asList(await fit.encode(second, [{ x: 0, y: 0, width: W, height: H }]));
  t.ok(more.length > 1 && more.every((p) => p.byteLength <= cap), `the oversize delta went as ${more.length} pieces within the cap`);
  for (const p of more) dec.decode(p);
  t.equal(firstDiff(dec.framebuffer!.data, second.data), -1, 'and decodes exact too');

  // A small change after the split is one ordinary delta against the real picture.
  const third = cloneFramebuffer(second);
  fillRect(third, 10, 10, 20, 20, 255, 0, 0);
  const small = asList(await fit.encode(third, undefined));
  t.equal(small.length, 1, 'one update');
  t.notOk(isKey(small[0]!), 'a delta');
  dec.decode(small[0]!);
  t.equal(firstDiff(dec.framebuffer!.data, third.data), -1);
});

t.test('a picture that fits is one update, untouched', async (t) => {
  const fit = new FittingEncoder(tileEncoder(300, 200), { maxUpdateBytes: 100_000 });
  const u = await fit.encode(terminalScreen(300, 200, 1), undefined);
  t.ok(u instanceof Uint8Array, 'a single update');
  t.same(fit.stats, { splits: 0, pieces: 0, attempts: 0 });
  t.equal(await fit.encode(terminalScreen(300, 200, 1), undefined), undefined, 'nothing changed: nothing to send');
});

t.test('a band noisier than the plan is split further, down to one tile row per band', async (t) => {
  // Noise in the top quarter only: the plan from the whole update's size gives bands too wide for the noisy part.
  const W = 256, H = 1024;
  const frame = createFramebuffer(W, H);
  frame.data.set(noiseScreen(W, 256, 3).data);
  const cap = 100_000;
  const fit = new FittingEncoder(tileEncoder(W, H), { maxUpdateBytes: cap });
  const dec = decoder(W, H);
  const pieces = asList(await fit.encode(frame, undefined));
  t.ok(fit.stats.attempts > 1, `re-planned (${fit.stats.attempts} attempts)`);
  t.ok(pieces.every((p) => p.byteLength <= cap), 'every piece is within the cap');
  for (const p of pieces) dec.decode(p);
  t.equal(firstDiff(dec.framebuffer!.data, frame.data), -1);
});

t.test('a picture whose single tile row is over the cap fails with LIMIT_EXCEEDED and the encoder restarts with a KEY', async (t) => {
  const W = 256, H = 128;
  const inner = tileEncoder(W, H);
  const fit = new FittingEncoder(inner, { maxUpdateBytes: 30_000 });
  await t.rejects(fit.encode(noiseScreen(W, H, 4), undefined), { code: 'TESSERA_ERR_LIMIT_EXCEEDED', expected: 30_000 });
  const next = asList(await fit.encode(terminalScreen(W, H, 0), undefined));
  t.equal(next.length, 1);
  t.ok(isKey(next[0]!), 'the next update is a KEY update');
});

t.test('at the real cap a screen as wide as the codec allows fits one tile row per frame', async (t) => {
  // 16384 px wide, 64 rows of noise: 4 MiB of pixels, and its KEY update far below 16 MiB − 21.
  const row = noiseScreen(16384, 64, 9);
  const u = (await tileEncoder(16384, 64).encode(row, undefined))!;
  t.ok(u.byteLength * 3 < MAX_DISPLAY_UPDATE_BYTES, `one tile row of noise is ${u.byteLength} bytes`);
  t.throws(() => new FittingEncoder(tileEncoder(64, 64), { maxUpdateBytes: MAX_DISPLAY_UPDATE_BYTES + 1 }), RangeError);
});

t.test('lossy mode splits through the async path and decodes to what an unsplit session shows', async (t) => {
  const W = 256, H = 512;
  const codec = new SharpImageCodec();
  // A JPEG tile row of noise is about 60 KB.
  const fit = new FittingEncoder(tileEncoder(W, H, 'balanced', codec), { maxUpdateBytes: 80_000 });
  const frame = noiseScreen(W, H, 5, true);
  const pieces = asList(await fit.encode(frame, undefined));
  t.ok(pieces.length > 1 && pieces.every((p) => p.byteLength <= 80_000), `${pieces.length} pieces within the cap`);
  const dec = decoder(W, H, codec);
  for (const p of pieces) await dec.decodeAsync(p);
  // The same picture through an encoder with no cap, for comparison.
  const whole = tileEncoder(W, H, 'balanced', codec);
  const ref = decoder(W, H, codec);
  await ref.decodeAsync((await whole.encode(frame, undefined))!);
  // Not byte for byte: the encoder refreshes lossy tiles that stayed still losslessly, and the bands' tiles do stay
  // still through the later pieces. So the split picture is at least as close to the frame as the unsplit one.
  const splitError = meanError(dec.framebuffer!.data, frame.data);
  const wholeError = meanError(ref.framebuffer!.data, frame.data);
  t.ok(splitError <= wholeError + 0.01, `mean error ${splitError.toFixed(2)} split, ${wholeError.toFixed(2)} whole`);
});

/** Mean absolute difference of the colour bytes (alpha left out). */
function meanError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) if ((i & 3) !== 3) sum += Math.abs(a[i]! - b[i]!);
  return sum / ((a.length / 4) * 3);
}

const Member = FakeMember;
type Member = FakeMember;

t.test('DisplayGroups sends the pieces of a split to every member in order, as room allows, before any new frame', async (t) => {
  const W = 256, H = 256;
  const cap = 80_000;
  const groups = new DisplayGroups<Member>({ createEncoder: () => new FittingEncoder(tileEncoder(W, H), { maxUpdateBytes: cap }) });
  const a = new Member();
  const b = new Member();
  groups.add(a);
  groups.add(b);
  const first = noiseScreen(W, H, 7);
  const gen = await groups.offer(first, undefined, 0);
  t.equal(a.sent.length, 2, 'two pieces now: the in-flight window is full');
  t.notOk(groups.wantsFrame(0), 'no new capture while pieces wait');
  t.notOk(groups.delivered(gen), 'not delivered while pieces wait');
  // A frame captured meanwhile is not encoded for the group: its damage waits.
  const second = cloneFramebuffer(first);
  fillRect(second, 0, 0, 8, 8, 1, 2, 3);
  await groups.offer(second, [{ x: 0, y: 0, width: 8, height: 8 }], 1);
  t.equal(a.sent.length, 2, 'nothing interleaved');
  const decA = decoder(W, H);
  const decB = decoder(W, H);
  // The helpers decode and acknowledge; the host sends what is pending whenever room appears.
  for (let round = 0; groups.sendPending(2 + round) || a.decodedSeq < a.sent.length; round++) {
    t.ok(round < 20, 'bounded');
    for (const [m, dec] of [[a, decA], [b, decB]] as const) {
      while (m.decodedSeq < m.sent.length) dec.decode(m.sent[m.decodedSeq++]!);
    }
    if (round > 20) break;
  }
  t.same(a.sent, b.sent, 'both members got the same pieces in the same order');
  t.ok(a.sent.length >= 4 && a.sent.every((u) => u.byteLength <= cap), `${a.sent.length} pieces within the cap`);
  t.equal(firstDiff(decA.framebuffer!.data, first.data), -1, 'the split picture decodes exact');
  t.ok(groups.delivered(gen), 'delivered once every piece is decoded');
  t.ok(groups.wantsFrame(10), 'the group takes frames again');
  await groups.offer(second, undefined, 10);
  for (const [m, dec] of [[a, decA], [b, decB]] as const) while (m.decodedSeq < m.sent.length) dec.decode(m.sent[m.decodedSeq++]!);
  t.equal(firstDiff(decB.framebuffer!.data, second.data), -1, 'the frame that waited arrives after the split');
});

t.test('a group whose picture cannot be split is ended alone when onEncodeError is given', async (t) => {
  const ended: Member[][] = [];
  const groups = new DisplayGroups<Member>({
    createEncoder: () => new FittingEncoder(tileEncoder(256, 128), { maxUpdateBytes: 30_000 }),
    onEncodeError: (members) => ended.push([...members]),
  });
  const a = new Member();
  groups.add(a);
  await groups.offer(noiseScreen(256, 128, 8), undefined, 0);
  t.same(ended, [[a]], 'its members are handed over to be ended');
  t.equal(a.sent.length, 0, 'nothing was sent');
  t.equal(groups.groupCount, 0, 'the group is gone');
});
