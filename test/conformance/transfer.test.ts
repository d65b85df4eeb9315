// Replays spec/vectors/transfer.json: transfer control messages and Transfer-channel chunks decode to their values
// and encode back to their bytes, invalid ones fail with their codes, and each session sequence leaves a receiving
// host in the state (or with the error) the vector names.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromHex, toHex, TesseraError } from '../../src/core/index.js';
import { Channel, DEFAULT_MAX_BODY_BYTES, Deframer, NullProtector, decodeControl, encodeControl, encodeFrame, type ControlMessage } from '../../src/framing/index.js';
import { decodeChunk, encodeChunk } from '../../src/session/transfer.js';
import { HostSession } from '../../src/session/host-session.js';
import { HelperSession } from '../../src/session/helper-session.js';
import type { TransferCode } from '../../src/framing/control.js';

interface Step {
  control?: string;
  chunkHeader?: string;
  dataBytes?: number;
  fill?: string;
  accept?: { id: number; offset: number };
  reject?: { id: number; code: TransferCode };
}
interface Vectors {
  control: { valid: { name: string; hex: string; message: Record<string, unknown> }[]; invalid: { name: string; hex: string; error: string }[] };
  chunks: {
    valid: { name: string; hex: string; id: number; offset: number; data: string }[];
    invalid: { name: string; hex?: string; hexHeader?: string; dataBytes?: number; error: string }[];
  };
  sessions: { name: string; steps: Step[]; expect?: 'complete' | 'open'; error?: string; sent?: string[] }[];
}

const vectors = JSON.parse(readFileSync(new URL('../../spec/vectors/transfer.json', import.meta.url), 'utf8')) as Vectors;

function bytes(hex: string): Uint8Array {
  const out = fromHex(hex);
  if (out === undefined) throw new Error(`bad hex in vector: ${hex}`);
  return out;
}

/** A vector's message as a ControlMessage (sha256 is hex in the file). */
function message(m: Record<string, unknown>): ControlMessage {
  return (typeof m.sha256 === 'string' ? { ...m, sha256: bytes(m.sha256) } : m) as ControlMessage;
}

t.test('transfer control messages decode to their values and encode to their bytes; invalid ones fail with their codes', async (t) => {
  for (const v of vectors.control.valid) {
    t.same(decodeControl(bytes(v.hex)), message(v.message), `decode: ${v.name}`);
    t.equal(toHex(encodeControl(message(v.message))), v.hex, `encode: ${v.name}`);
  }
  for (const v of vectors.control.invalid) t.throws(() => decodeControl(bytes(v.hex)), { code: v.error }, v.name);
});

t.test('chunks decode to id, offset and data and encode to their bytes; invalid ones fail with their codes', async (t) => {
  for (const v of vectors.chunks.valid) {
    const c = decodeChunk(bytes(v.hex));
    t.same({ id: c.id, offset: c.offset, data: toHex(c.data) }, { id: v.id, offset: v.offset, data: v.data }, `decode: ${v.name}`);
    t.equal(toHex(encodeChunk({ id: v.id, offset: v.offset, data: bytes(v.data) })), v.hex, `encode: ${v.name}`);
  }
  for (const v of vectors.chunks.invalid) {
    const input = v.hex !== undefined ? bytes(v.hex) : new Uint8Array(12 + v.dataBytes!);
    if (v.hexHeader !== undefined) input.set(bytes(v.hexHeader));
    let caught: unknown;
    try {
      decodeChunk(input);
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof TesseraError && caught.code === v.error, `${v.name}: ${v.error}`);
  }
});

t.test('session sequences: a receiving host ends complete, stays open, or fails with the code', async (t) => {
  for (const v of vectors.sessions) {
    const now = 1_000;
    const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
    const host = new HostSession({ deframer: deframer(), seal: NullProtector, now, mode: 'view', maxMode: 'view', width: 10, height: 10, clock: () => now, offeredFeatures: ['transfer'] });
    const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now, mode: 'view', offeredFeatures: ['transfer'], features: ['transfer'] });
    for (let b; (b = helper.pollTransmit()); ) host.handleBytes(b, now);
    const sent: string[] = [];
    const events: string[] = [];
    for (const step of v.steps) {
      if (step.control !== undefined) host.handleBytes(encodeFrame(Channel.Control, bytes(step.control)), now);
      if (step.chunkHeader !== undefined) {
        const payload = new Uint8Array(12 + step.dataBytes!).fill(Number.parseInt(step.fill!, 16));
        payload.set(bytes(step.chunkHeader));
        host.handleBytes(encodeFrame(Channel.Transfer, payload), now);
      }
      if (step.accept) host.transfers!.acceptFile(step.accept.id, step.accept.offset, now);
      if (step.reject) host.transfers!.rejectFile(step.reject.id, step.reject.code, now);
      for (let e; (e = host.pollEvent()); ) events.push(e.type === 'closed' ? `closed:${e.error?.code ?? ''}` : e.type);
    }
    const d = deframer();
    for (let b; (b = host.pollTransmit()); ) d.push(b);
    for (let f = d.next(); f; f = d.next()) if (f.channel === Channel.Control) sent.push(toHex(f.payload));
    if (v.error !== undefined) t.ok(events.includes(`closed:${v.error}`), `${v.name}: ${v.error}`);
    else {
      t.equal(host.state, 'open', `${v.name}: open`);
      if (v.expect === 'complete') t.ok(events.includes('file-complete'), `${v.name}: complete`);
    }
    for (const hex of v.sent ?? []) t.ok(sent.includes(hex), `${v.name}: sends ${toHex(bytes(hex)).slice(0, 24)}…`);
  }
});
