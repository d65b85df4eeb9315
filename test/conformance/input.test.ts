// Replays spec/vectors/input.json: every valid vector decodes to its events and its events encode to its bytes;
// every invalid vector fails with its error code.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, TesseraError } from '../../src/core/index.js';
import { decodeInputBatch, decodeText, encodeInputBatch, encodeText, type InputEvent, type InputLimits } from '../../src/input/index.js';

interface Vectors {
  batches: {
    valid: { name: string; hex: string; events: InputEvent[] }[];
    invalid: { name: string; hex: string; code: string; limits?: InputLimits }[];
  };
  text: {
    valid: { name: string; hex: string; text: string; maxBytes: number }[];
    invalid: { name: string; hex: string; code: string; maxBytes: number }[];
  };
}

const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/input.json', import.meta.url), 'utf8')) as Vectors;

function bytes(hex: string): Uint8Array {
  const out = fromHex(hex);
  if (out === undefined) throw new Error(`bad hex in vector: ${hex}`);
  return out;
}

t.test('valid batches decode to their events and encode to their bytes', async (t) => {
  t.ok(vectors.batches.valid.length >= 10);
  for (const v of vectors.batches.valid) {
    t.same(decodeInputBatch(bytes(v.hex)), v.events, `decode: ${v.name}`);
    t.equal(toHex(encodeInputBatch(v.events)), v.hex, `encode: ${v.name}`);
  }
});

t.test('invalid batches fail with their codes', async (t) => {
  t.ok(vectors.batches.invalid.length >= 10);
  for (const v of vectors.batches.invalid) {
    t.throws(() => decodeInputBatch(bytes(v.hex), v.limits), { code: v.code }, v.name);
    try {
      decodeInputBatch(bytes(v.hex), v.limits);
    } catch (err) {
      t.ok(err instanceof TesseraError, `${v.name} is a TesseraError`);
    }
  }
});

t.test('text payloads', async (t) => {
  for (const v of vectors.text.valid) {
    t.equal(decodeText(bytes(v.hex), v.maxBytes), v.text, `decode: ${v.name}`);
    t.equal(toHex(encodeText(v.text, v.maxBytes)), v.hex, `encode: ${v.name}`);
  }
  for (const v of vectors.text.invalid) {
    t.throws(() => decodeText(bytes(v.hex), v.maxBytes), { code: v.code }, v.name);
  }
});
