/**
 * Bounded, seeded fuzzing of the control-message decoder: for any bytes it returns a message that
 * re-encodes and decodes to itself, or throws a ProtocolError with a known code.
 * Reproduce a failure with FUZZ_SEED=<seed>; run longer with FUZZ_ITERATIONS=<n>.
 */
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { decodeControl, encodeControl, type ControlMessage } from '../../src/framing/index.js';
import { fuzzIterations, fuzzSeed, Prng } from '../helpers/prng.js';
import { mutate } from '../helpers/mutate.js';
import { isKnownProtocolError } from '../helpers/errors.js';

const MESSAGES: ControlMessage[] = [
  { t: 'ping', n: 1, ts: 1700000000000 },
  { t: 'pong', n: 0xffffffff, ts: 0 },
  { t: 'ack', seq: 300, decoded: 70000 },
  { t: 'control-request' },
  { t: 'control-grant', mode: 'view' },
  { t: 'control-revoke' },
  { t: 'pause', paused: false },
  { t: 'close', reason: 'protocol-error', message: 'frame failed to open: ünïcödé' },
  { t: 'screen', width: 3840, height: 2160 },
];

t.test('mutated control messages decode to a valid message or a known ProtocolError', async (t) => {
  const seed = fuzzSeed();
  const rng = new Prng(seed);
  const iterations = fuzzIterations(5000);
  const corpus = [
    ...MESSAGES.map((m) => encodeControl(m)),
    msgpackEncode({ t: 'ping', n: 1.5, ts: [1, { a: null }] }),
    msgpackEncode({ t: 'close', reason: 'normal', extra: new Uint8Array(4) }),
  ];
  let failure: string | undefined;
  const codes = new Set<string>();
  let decoded = 0;
  for (let i = 0; i < iterations; i++) {
    const input = i % 10 === 0 ? rng.bytes(rng.int(40)) : mutate(rng, rng.pick(corpus), corpus);
    try {
      const m = decodeControl(input);
      decoded++;
      if (!isDeepStrictEqual(decodeControl(encodeControl(m)), m)) {
        failure = `iteration ${i}: decoded message does not round-trip: ${Buffer.from(input).toString('hex')}`;
        break;
      }
    } catch (err) {
      if (!isKnownProtocolError(err)) {
        failure = `iteration ${i}: ${String(err)} for input ${Buffer.from(input).toString('hex')}`;
        break;
      }
      codes.add(err.code);
    }
  }
  t.equal(failure, undefined, failure === undefined ? `${iterations} inputs, ${decoded} decoded` : `seed ${seed}: ${failure}`);
  t.ok(codes.size >= 4, `codes reached: ${[...codes].join(', ')}`);
  for (const m of MESSAGES) t.same(decodeControl(encodeControl(m)), m, 'still decodes valid messages');
});
