// Seeded mutation fuzzing of the input batch and text decoders over the conformance vectors (ARCHITECTURE.md, "Tests"):
// every input either decodes or throws a TesseraError with a known code, and the decoders still work afterwards.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { TesseraError, fromHex, isErrorCode, toHex } from '../../src/core/index.js';
import { decodeInputBatch, decodeText, encodeInputBatch } from '../../src/input/index.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 5000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x1ce5eed);

interface Vectors {
  batches: { valid: { hex: string }[]; invalid: { hex: string }[] };
  text: { valid: { hex: string }[]; invalid: { hex: string }[] };
}
const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/input.json', import.meta.url), 'utf8')) as Vectors;
const corpus = [...vectors.batches.valid, ...vectors.batches.invalid].map((v) => fromHex(v.hex)!);
const textCorpus = [...vectors.text.valid, ...vectors.text.invalid].map((v) => fromHex(v.hex)!);

/** mulberry32: a small seeded PRNG so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(rand: () => number, pool: Uint8Array[]): Uint8Array {
  const pick = (n: number): number => Math.floor(rand() * n);
  let bytes = pool[pick(pool.length)]!.slice();
  const rounds = 1 + pick(4);
  for (let round = 0; round < rounds; round++) {
    switch (pick(6)) {
      case 0: // Flip one bit.
        if (bytes.length > 0) bytes[pick(bytes.length)]! ^= 1 << pick(8);
        break;
      case 1: // Truncate anywhere.
        bytes = bytes.slice(0, pick(bytes.length + 1));
        break;
      case 2: // Inflate a length or count: a byte becomes large or a varint continuation.
        if (bytes.length > 0) bytes[pick(bytes.length)] = [0xff, 0x80, 0x7f, 0x81][pick(4)]!;
        break;
      case 3: { // Insert random bytes.
        const at = pick(bytes.length + 1);
        const extra = Uint8Array.from({ length: 1 + pick(8) }, () => pick(256));
        const next = new Uint8Array(bytes.length + extra.length);
        next.set(bytes.subarray(0, at));
        next.set(extra, at);
        next.set(bytes.subarray(at), at + extra.length);
        bytes = next;
        break;
      }
      case 4: { // Splice the tail of another vector.
        const other = pool[pick(pool.length)]!;
        const head = bytes.subarray(0, pick(bytes.length + 1));
        const tail = other.subarray(pick(other.length + 1));
        const next = new Uint8Array(head.length + tail.length);
        next.set(head);
        next.set(tail, head.length);
        bytes = next;
        break;
      }
      default: // Random bytes.
        bytes = Uint8Array.from({ length: pick(24) }, () => pick(256));
    }
  }
  return bytes;
}

function expectOnlyTesseraErrors(t: { fail: (message: string) => unknown }, label: string, run: () => void, input: Uint8Array, seed: number): boolean {
  try {
    run();
    return true;
  } catch (err) {
    if (err instanceof TesseraError && isErrorCode(err.code)) return true;
    t.fail(`${label}: non-tessera error for ${toHex(input)} (seed ${seed}): ${String(err)}`);
    return false;
  }
}

t.test(`input batch decoder: ${ITERATIONS} mutations, seed ${SEED}`, async (t) => {
  const rand = prng(SEED);
  const valid = fromHex(vectors.batches.valid.at(-1)!.hex)!;
  const expected = JSON.stringify(decodeInputBatch(valid));
  let decoded = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const input = mutate(rand, corpus);
    const ok = expectOnlyTesseraErrors(t, 'decodeInputBatch', () => {
      const events = decodeInputBatch(input, { maxEvents: 64, maxTextBytes: 64 });
      decoded++;
      // Whatever decodes must re-encode to the same bytes (one encoding per batch).
      const again = encodeInputBatch(events, { maxEvents: 64, maxTextBytes: 64 });
      if (toHex(again) !== toHex(input)) throw new Error(`re-encode differs: ${toHex(again)}`);
    }, input, SEED);
    if (!ok) break;
  }
  t.equal(JSON.stringify(decodeInputBatch(valid)), expected, 'still decodes a valid batch afterwards');
  t.ok(decoded > 0, `${decoded} mutated inputs decoded`);
});

t.test(`text decoder: ${Math.floor(ITERATIONS / 5)} mutations, seed ${SEED}`, async (t) => {
  const rand = prng(SEED + 1);
  for (let i = 0; i < ITERATIONS / 5; i++) {
    const input = mutate(rand, textCorpus);
    if (!expectOnlyTesseraErrors(t, 'decodeText', () => void decodeText(input, 16), input, SEED + 1)) break;
  }
  t.equal(decodeText(Uint8Array.of(0x68, 0x69), 16), 'hi');
});
