/**
 * Bounded, seeded fuzzing of the Deframer and FrameReader (the fuzz oracle of ARCHITECTURE.md, "Tests"):
 * for any bytes, split anywhere, they return frames or throw a ProtocolError with a known code;
 * they never buffer beyond one frame plus one chunk, and a fresh instance still decodes valid input.
 * Reproduce a failure with FUZZ_SEED=<seed>; run longer with FUZZ_ITERATIONS=<n>.
 */
import t from 'tap';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Channel, Deframer, encodeFrame, FrameReader, FRAME_HEADER_BYTES, FrameWriter, type FrameProtector } from '../../src/framing/index.js';
import { ErrorCode, ProtocolError } from '../../src/core/index.js';
import { fuzzIterations, fuzzSeed, Prng } from '../helpers/prng.js';
import { concat, mutate } from '../helpers/mutate.js';
import { isKnownProtocolError } from '../helpers/errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REGRESSIONS = join(HERE, 'regressions', 'framing');
const MAX_BODY = 512;

/** Valid seed streams: frames on every channel, control messages, empty and maximal bodies. */
function seeds(): Uint8Array[] {
  const w = new FrameWriter();
  return [
    concat(w.control({ t: 'ping', n: 7, ts: 1700000000000 }), w.frame(Channel.Display, new Uint8Array([1, 2, 3]))),
    concat(w.control({ t: 'close', reason: 'normal', message: 'bye' }), w.control({ t: 'screen', width: 1920, height: 1080 })),
    encodeFrame(Channel.Chat, new Uint8Array(MAX_BODY - 1).fill(0x41)),
    concat(...Array.from({ length: 6 }, (_, i) => encodeFrame(Channel.Input, new Uint8Array(i)))),
    concat(w.control({ t: 'control-grant', mode: 'control' }), w.control({ t: 'pause', paused: true }), w.control({ t: 'ack', seq: 1, decoded: 1 })),
  ];
}

/** Feeds `bytes` split at random points; returns the error thrown, if any, and checks the buffer bound. */
function feed(rng: Prng, bytes: Uint8Array, make: () => { push(b: Uint8Array): void; next(): unknown; readonly bufferedBytes: number }): unknown {
  const sink = make();
  let at = 0;
  try {
    while (at < bytes.length) {
      const n = rng.range(1, 64);
      const chunk = bytes.subarray(at, at + n);
      at += n;
      sink.push(chunk);
      if (!(sink.bufferedBytes <= FRAME_HEADER_BYTES + MAX_BODY + chunk.length)) throw new Error(`buffered ${sink.bufferedBytes} bytes, beyond one frame plus one chunk`);
      for (let guard = 0; sink.next() !== undefined; guard++) if (guard > bytes.length) throw new Error('next() did not make progress');
      if (!(sink.bufferedBytes < FRAME_HEADER_BYTES + MAX_BODY)) throw new Error(`after draining, ${sink.bufferedBytes} bytes are still buffered`);
    }
    return undefined;
  } catch (err) {
    return err;
  }
}

const targets: Array<[string, () => { push(b: Uint8Array): void; next(): unknown; readonly bufferedBytes: number }]> = [
  ['Deframer', () => new Deframer({ maxBodyBytes: MAX_BODY })],
  ['FrameReader', () => new FrameReader({ maxBodyBytes: MAX_BODY })],
];

for (const [name, make] of targets) {
  t.test(`${name}: mutated and random streams give frames or a known ProtocolError`, async (t) => {
    const seed = fuzzSeed();
    const rng = new Prng(seed);
    const iterations = fuzzIterations(3000);
    const corpus = seeds();
    const codes = new Map<string, number>();
    let failure: string | undefined;
    for (let i = 0; i < iterations && failure === undefined; i++) {
      const input = i % 10 === 0 ? rng.bytes(rng.int(200)) : mutate(rng, rng.pick(corpus), corpus);
      const err = feed(rng, input, make);
      if (err === undefined) continue;
      if (!isKnownProtocolError(err)) {
        failure = `iteration ${i}: ${String(err)} for input ${Buffer.from(input).toString('hex')}`;
        break;
      }
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
    t.equal(failure, undefined, failure === undefined ? `${iterations} inputs` : `seed ${seed}: ${failure}`);
    t.ok(codes.size >= 3, `several error codes were reached: ${[...codes.keys()].join(', ')}`);
    for (const s of corpus) t.equal(feed(rng, s, make), undefined, 'a fresh instance still decodes the valid seeds');
  });
}

t.test('a protector that throws any error yields DECRYPT_FAILED, never an escaping engine error', async (t) => {
  const rng = new Prng(fuzzSeed());
  const hostile: FrameProtector = {
    overhead: 2,
    seal: (b) => b,
    open: () => {
      throw rng.pick([new TypeError('bad'), new RangeError('oops'), 'a string']);
    },
  };
  for (let i = 0; i < 20; i++) {
    const d = new Deframer();
    d.setProtector(hostile);
    d.push(encodeFrame(Channel.Chat, rng.bytes(10), { overhead: 2, seal: (b) => concat(b, new Uint8Array(2)), open: (b) => b }));
    let err: unknown;
    try {
      d.next();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ProtocolError && err.code === ErrorCode.DecryptFailed);
  }
});

t.test('replays every stored regression input', async (t) => {
  const files = existsSync(REGRESSIONS) ? readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin')) : [];
  t.ok(files.length > 0, `${files.length} regression inputs`);
  const rng = new Prng(1);
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(join(REGRESSIONS, file)));
    for (const [name, make] of targets) {
      const err = feed(rng, bytes, make);
      t.ok(err === undefined || isKnownProtocolError(err), `${file} via ${name}: ${err === undefined ? 'decoded' : (err as ProtocolError).code}`);
    }
  }
});
