/**
 * Replays spec/vectors/framing.json: decoding each stream (whole and byte by byte) gives the listed
 * frames or error; encoding the listed frames and messages gives the same bytes.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex, ProtocolError } from '../../src/core/index.js';
import { decodeControl, Deframer, encodeControl, encodeFrame, PRE_AUTH_MAX_BODY_BYTES, type Channel, type ControlMessage } from '../../src/framing/index.js';

interface FrameCase {
  readonly name: string;
  readonly hex: string;
  readonly maxBodyBytes?: number;
  readonly frames?: ReadonlyArray<{ readonly channel: number; readonly payloadHex: string }>;
  readonly error?: string;
  readonly remainderBytes?: number;
}
interface ControlCase {
  readonly name: string;
  readonly hex: string;
  readonly message?: ControlMessage;
  readonly error?: string;
  readonly canonical?: boolean;
}

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'spec', 'vectors', 'framing.json');
const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as { frames: FrameCase[]; control: ControlCase[] };

function bytes(hex: string): Uint8Array {
  const b = fromHex(hex);
  if (b === undefined) throw new Error(`bad hex in vector: ${hex.slice(0, 20)}`);
  return b;
}

/** Runs a stream through a Deframer in the given chunk size; returns frames, error code and what is left buffered. */
function run(c: FrameCase, chunkSize: number): { frames: Array<{ channel: number; payloadHex: string }>; error?: string; remainder: number } {
  const d = new Deframer({ maxBodyBytes: c.maxBodyBytes ?? PRE_AUTH_MAX_BODY_BYTES });
  const input = bytes(c.hex);
  const frames: Array<{ channel: number; payloadHex: string }> = [];
  try {
    for (let at = 0; at < input.length || at === 0; at += chunkSize) {
      d.push(input.subarray(at, at + chunkSize));
      for (let f; (f = d.next()); ) frames.push({ channel: f.channel, payloadHex: toHex(f.payload) });
      if (input.length === 0) break;
    }
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return { frames, error: err.code, remainder: d.bufferedBytes };
  }
  return { frames, remainder: d.bufferedBytes };
}

t.test('frame vectors decode as listed, whole and byte by byte', async (t) => {
  t.ok(vectors.frames.length >= 10);
  for (const c of vectors.frames) {
    for (const chunk of [Number.MAX_SAFE_INTEGER, 1]) {
      const got = run(c, chunk);
      t.same(got.frames, c.frames ?? [], `${c.name} (chunk ${chunk === 1 ? 1 : 'whole'}): frames`);
      t.equal(got.error, c.error, `${c.name}: error`);
      if (c.error === undefined) t.equal(got.remainder, c.remainderBytes ?? 0, `${c.name}: remainder`);
    }
  }
});

t.test('valid frame vectors encode to the same bytes', async (t) => {
  for (const c of vectors.frames) {
    if (c.error !== undefined || (c.remainderBytes ?? 0) > 0) continue;
    const encoded = (c.frames ?? []).map((f) => toHex(encodeFrame(f.channel as Channel, bytes(f.payloadHex)))).join('');
    t.equal(encoded, c.hex, c.name);
  }
});

t.test('control vectors decode as listed and valid ones encode back', async (t) => {
  t.ok(vectors.control.length >= 20);
  for (const c of vectors.control) {
    let got: { message?: ControlMessage; error?: string };
    try {
      got = { message: decodeControl(bytes(c.hex)) };
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      got = { error: err.code };
    }
    if (c.error !== undefined) {
      t.equal(got.error, c.error, c.name);
      continue;
    }
    t.same(got, { message: c.message }, c.name);
    if (c.canonical !== false) t.equal(toHex(encodeControl(c.message!)), c.hex, `${c.name}: encode`);
  }
});
