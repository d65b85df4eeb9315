/**
 * Framing throughput: encodeFrame and Deframer push+next at 64 B and 16 KiB payloads, each batch of
 * frames compared with a baseline that moves the same bytes with a plain Buffer.concat / copy.
 * Run: node --import tsx bench/framing.bench.ts [--json]
 */
import { Channel, DEFAULT_MAX_BODY_BYTES, Deframer, encodeFrame } from '../src/framing/index.js';
import { runBench, type BenchCase } from './lib/bench.js';

/** Frames per operation, so per-call overhead of the harness does not dominate small frames. */
const BATCH = 64;
/** Bytes per read when deframing, like a socket's typical chunk. */
const READ_CHUNK = 64 * 1024;

function casesFor(label: string, payloadBytes: number): BenchCase[] {
  const payloads = Array.from({ length: BATCH }, (_, i) => new Uint8Array(payloadBytes).fill(i));
  const frames = payloads.map((p) => encodeFrame(Channel.Display, p));
  const stream = Buffer.concat(frames);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += READ_CHUNK) chunks.push(stream.subarray(at, at + READ_CHUNK));
  const wireBytes = stream.length;
  let sink = 0;
  const deframer = new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
  const copyTarget = new Uint8Array(wireBytes);

  return [
    {
      name: `baseline concat ${label}`,
      bytesPerOp: wireBytes,
      itemsPerOp: BATCH,
      fn: () => {
        // Same bytes as encoding: one new buffer per frame holding a copy of the payload.
        for (let i = 0; i < BATCH; i++) sink ^= Buffer.concat([payloads[i]!]).length;
      },
    },
    {
      name: `encodeFrame ${label}`,
      bytesPerOp: wireBytes,
      itemsPerOp: BATCH,
      baseline: `baseline concat ${label}`,
      fn: () => {
        for (let i = 0; i < BATCH; i++) sink ^= encodeFrame(Channel.Display, payloads[i]!).length;
      },
    },
    {
      name: `baseline copy ${label}`,
      bytesPerOp: wireBytes,
      itemsPerOp: BATCH,
      fn: () => {
        // Same bytes as deframing: copy each read chunk in, then copy each payload out.
        let at = 0;
        for (const c of chunks) {
          copyTarget.set(c, at);
          at += c.length;
        }
        for (let i = 0, off = 0; i < BATCH; i++) {
          const f = frames[i]!;
          sink ^= copyTarget.slice(off + 5, off + f.length).length;
          off += f.length;
        }
      },
    },
    {
      name: `deframe push+next ${label}`,
      bytesPerOp: wireBytes,
      itemsPerOp: BATCH,
      baseline: `baseline copy ${label}`,
      fn: () => {
        for (const c of chunks) {
          deframer.push(c);
          for (let f; (f = deframer.next()); ) sink ^= f.payload.length;
        }
      },
    },
  ];
}

const results = runBench('framing (items = frames)', [...casesFor('64 B', 64), ...casesFor('16 KiB', 16 * 1024)]);
void results;
