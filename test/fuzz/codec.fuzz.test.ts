/**
 * Seeded mutation fuzzing of codec updates (style §F): bit flips, truncation, length inflation and splicing of
 * valid updates. The oracle: decode returns or throws a TesseraError; afterwards a key frame still decodes.
 * FUZZ_ITERATIONS raises the budget; the seed is printed on failure.
 */
import t from 'tap';
import { TesseraError } from '../../src/core/index.js';
import { TileDecoder } from '../../src/codec/index.js';
import { desktopWithWindow, photoScreen, prng, terminalScreen } from '../helpers/codec-screens.js';
import { makePair } from '../helpers/codec-harness.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 2000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x7e55e7a);

// A small session: key frame, then deltas with copies, prediction, palette, cache hits.
const W = 160, H = 120;
const { enc } = makePair(W, H, 'fflate', { cacheTiles: 16 });
const frames = [terminalScreen(W, H, 0), terminalScreen(W, H, 3), desktopWithWindow(W, H, 10, 10, 90, 70), desktopWithWindow(W, H, 22, 16, 90, 70), photoScreen(W, H, 3), terminalScreen(W, H, 0)];
const updates: Uint8Array[] = [];
for (const f of frames) {
  const u = enc.encode(f);
  if (u !== undefined) updates.push(u.bytes.slice());
}
const key = updates[0]!;

function mutate(rnd: () => number, input: Uint8Array): Uint8Array {
  const kind = Math.floor(rnd() * 5);
  let out = input.slice();
  if (kind === 0) {
    const flips = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(rnd() * out.length);
      out[at] = out[at]! ^ (1 << Math.floor(rnd() * 8));
    }
  } else if (kind === 1) {
    out = out.subarray(0, Math.floor(rnd() * out.length));
  } else if (kind === 2) {
    // Length/count inflation: set a byte in the header region to a large value.
    out[Math.floor(rnd() * Math.min(out.length, 24))] = 0xff;
  } else if (kind === 3) {
    const other = updates[Math.floor(rnd() * updates.length)]!;
    const cut = Math.floor(rnd() * out.length);
    const from = Math.floor(rnd() * other.length);
    const joined = new Uint8Array(cut + other.length - from);
    joined.set(out.subarray(0, cut));
    joined.set(other.subarray(from), cut);
    out = joined;
  } else {
    out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
  }
  return out;
}

t.test(`codec decoder survives ${ITERATIONS} mutated updates (seed ${SEED})`, async (t) => {
  const rnd = prng(SEED);
  let rejected = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const dec = new TileDecoder({ maxWidth: 256, maxHeight: 256, maxCacheTiles: 64 });
    const which = Math.floor(rnd() * updates.length);
    // Bring the decoder to the state the mutated update expects.
    try {
      for (let k = 0; k < which; k++) dec.decode(updates[k]!);
    } catch (err) {
      t.fail(`valid prefix failed at ${i}: ${String(err)}`);
      return;
    }
    const input = mutate(rnd, updates[which]!);
    const started = performance.now();
    try {
      dec.decode(input);
    } catch (err) {
      if (!(err instanceof TesseraError)) {
        t.fail(`iteration ${i} (seed ${SEED}) threw a non-tessera error: ${String(err)}`);
        return;
      }
      rejected++;
    }
    if (process.env.FUZZ_SLOW && performance.now() - started > 200) console.error('slow', i, which, performance.now() - started);
    try {
      dec.decode(key);
    } catch (err) {
      t.fail(`iteration ${i} (seed ${SEED}): key frame failed after a mutated update: ${String(err)}`);
      return;
    }
  }
  t.pass(`${rejected} of ${ITERATIONS} mutations rejected with a TesseraError, the rest decoded`);
});
