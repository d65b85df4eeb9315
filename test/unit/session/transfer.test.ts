/**
 * File transfer on a session (spec/transfer.md): the sans-IO machine between a HostSession and a HelperSession
 * with the `transfer` feature on, both ways; offsets, window, refusals, resume and the chunk codec.
 */
import t from 'tap';
import { Deframer, NullProtector, encodeFrame, Channel, DEFAULT_MAX_BODY_BYTES } from '../../../src/framing/index.js';
import { encodeControl } from '../../../src/framing/control.js';
import { HostSession } from '../../../src/session/host-session.js';
import { HelperSession } from '../../../src/session/helper-session.js';
import {
  MAX_CHUNK_DATA_BYTES, MAX_OPEN_TRANSFERS, TRANSFER_WINDOW_BYTES, decodeChunk, encodeChunk, type TransferEvent,
} from '../../../src/session/transfer.js';
import { ErrorCode } from '../../../src/core/index.js';

const NOW = 1_000;
const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
const SHA = new Uint8Array(32).fill(7);

function pair() {
  const host = new HostSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', maxMode: 'view', width: 10, height: 10, clock: () => NOW, offeredFeatures: ['transfer'] });
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: NOW, mode: 'view', offeredFeatures: ['transfer'], features: ['transfer'] });
  move(helper, host);
  drain(host);
  return { host, helper };
}

/** Moves every queued frame from `a` to `b`. */
function move(a: { pollTransmit(): Uint8Array | undefined }, b: { handleBytes(c: Uint8Array, now: number): void }): void {
  for (let x; (x = a.pollTransmit()); ) b.handleBytes(x, NOW);
}

function drain(s: { pollEvent(): { type: string } | undefined }): TransferEvent[] {
  const out: TransferEvent[] = [];
  for (let e; (e = s.pollEvent()); ) if (e.type.startsWith('file-')) out.push(e as TransferEvent);
  return out;
}

t.test('a chunk is id u32, offset u64 and the data; the decoder is bounded', async (t) => {
  const bytes = encodeChunk({ id: 0x01020304, offset: 2 ** 40 + 5, data: new Uint8Array([9, 8]) });
  t.same([...bytes], [1, 2, 3, 4, 0, 0, 1, 0, 0, 0, 0, 5, 9, 8]);
  const c = decodeChunk(bytes);
  t.equal(c.id, 0x01020304);
  t.equal(c.offset, 2 ** 40 + 5);
  t.same([...c.data], [9, 8]);
  t.throws(() => decodeChunk(bytes.subarray(0, 12)), { code: ErrorCode.Truncated }, 'no data is truncated');
  t.throws(() => decodeChunk(new Uint8Array([0, 0, 0, 1, 0, 0x20, 0, 0, 0, 0, 0, 0, 1])), { code: ErrorCode.InvalidField }, 'offset 2^53');
  t.throws(() => decodeChunk(new Uint8Array(12 + MAX_CHUNK_DATA_BYTES + 1)), { code: ErrorCode.LimitExceeded });
});

t.test('a file goes from the helper to the host: offer, accept, chunks within the window, acks, done, saved', async (t) => {
  const { host, helper } = pair();
  const size = TRANSFER_WINDOW_BYTES + 100_000;
  const id = helper.transfers!.offerFile({ name: 'report.pdf', size, sha256: SHA }, NOW);
  move(helper, host);
  const [offer] = drain(host);
  t.match(offer, { type: 'file-offer', offer: { id, name: 'report.pdf', size } });
  t.equal(helper.transfers!.sendable(id), undefined, 'nothing is sent before the answer');
  host.transfers!.acceptFile(id, 0, NOW);
  move(host, helper);
  t.same(drain(helper), [{ type: 'file-accepted', id, offset: 0 }]);
  let received = 0;
  for (;;) {
    const can = helper.transfers!.sendable(id);
    if (!can || can.length === 0) break;
    helper.transfers!.sendFileChunk(id, can.offset, new Uint8Array(can.length), NOW);
  }
  t.equal(helper.transfers!.sendable(id)!.offset, TRANSFER_WINDOW_BYTES, 'the sender stops at the window');
  move(helper, host);
  for (const ev of drain(host)) {
    if (ev.type === 'file-data') received = ev.offset + ev.data.byteLength;
  }
  t.equal(received, TRANSFER_WINDOW_BYTES);
  host.transfers!.fileWritten(id, received, NOW);
  move(host, helper);
  t.same(drain(helper), [{ type: 'file-acked', id, offset: received }]);
  const can = helper.transfers!.sendable(id)!;
  t.equal(can.length, 100_000);
  helper.transfers!.sendFileChunk(id, can.offset, new Uint8Array(can.length), NOW);
  move(helper, host);
  const evs = drain(host);
  t.match(evs.map((e) => e.type), ['file-data', 'file-complete']);
  host.transfers!.fileWritten(id, size, NOW);
  host.transfers!.fileSaved(id, NOW);
  move(host, helper);
  t.same(drain(helper), [{ type: 'file-acked', id, offset: size }, { type: 'file-saved', id }]);
  t.same(helper.transfers!.open, { in: 0, out: 0 });
  t.same(host.transfers!.open, { in: 0, out: 0 });
});

t.test('the host sends the same way; a resumed accept starts at its offset; refusals carry a code', async (t) => {
  const { host, helper } = pair();
  const id = host.transfers!.offerFile({ name: 'a.txt', size: 10, sha256: SHA }, NOW);
  move(host, helper);
  t.match(drain(helper), [{ type: 'file-offer', offer: { id, size: 10 } }]);
  helper.transfers!.acceptFile(id, 6, NOW);
  move(helper, host);
  t.same(drain(host), [{ type: 'file-accepted', id, offset: 6 }]);
  t.same(host.transfers!.sendable(id), { offset: 6, length: 4 });
  const id2 = host.transfers!.offerFile({ name: 'b.txt', size: 10, sha256: SHA }, NOW);
  move(host, helper);
  drain(helper);
  helper.transfers!.rejectFile(id2, 'too-large', NOW);
  move(helper, host);
  t.same(drain(host), [{ type: 'file-ended', id: id2, direction: 'out', code: 'too-large', byPeer: true }]);
});

t.test('a chunk at a wrong offset, beyond the size or the window, or for a file never accepted ends the session', async (t) => {
  const cases: [string, (host: HostSession, id: number) => Uint8Array, string][] = [
    ['not accepted', (_h, id) => encodeFrame(Channel.Transfer, encodeChunk({ id, offset: 0, data: new Uint8Array(1) })), ErrorCode.InvalidField],
    ['unknown id', (h, id) => (h.transfers!.acceptFile(id, 0, NOW), encodeFrame(Channel.Transfer, encodeChunk({ id: id + 1, offset: 0, data: new Uint8Array(1) }))), ErrorCode.InvalidField],
    ['wrong offset', (h, id) => (h.transfers!.acceptFile(id, 0, NOW), encodeFrame(Channel.Transfer, encodeChunk({ id, offset: 1, data: new Uint8Array(1) }))), ErrorCode.InvalidField],
    ['beyond the size', (h, id) => (h.transfers!.acceptFile(id, 0, NOW), encodeFrame(Channel.Transfer, encodeChunk({ id, offset: 0, data: new Uint8Array(11) }))), ErrorCode.InvalidField],
    ['done too early', (h, id) => (h.transfers!.acceptFile(id, 0, NOW), encodeFrame(Channel.Control, encodeControl({ t: 'file-done', id }))), ErrorCode.InvalidField],
  ];
  for (const [name, make, code] of cases) {
    const { host, helper } = pair();
    const id = helper.transfers!.offerFile({ name: 'x', size: 10, sha256: SHA }, NOW);
    move(helper, host);
    drain(host);
    host.handleBytes(make(host, id), NOW);
    const closed = [...Array(10)].map(() => host.pollEvent()).find((e) => e?.type === 'closed');
    t.match(closed, { type: 'closed', error: { code } }, name);
  }
  // The window: a sender that ignores it.
  const { host, helper } = pair();
  const id = helper.transfers!.offerFile({ name: 'x', size: TRANSFER_WINDOW_BYTES * 2, sha256: SHA }, NOW);
  move(helper, host);
  host.transfers!.acceptFile(id, 0, NOW);
  for (let off = 0; off <= TRANSFER_WINDOW_BYTES; off += MAX_CHUNK_DATA_BYTES) {
    host.handleBytes(encodeFrame(Channel.Transfer, encodeChunk({ id, offset: off, data: new Uint8Array(MAX_CHUNK_DATA_BYTES) })), NOW);
  }
  t.equal(host.state, 'closed');
  const ev = [...Array(100)].map(() => host.pollEvent()).find((e) => e?.type === 'closed');
  t.match(ev, { error: { code: ErrorCode.LimitExceeded } }, 'beyond the window is LIMIT_EXCEEDED');
});

t.test('chunks still in flight after a refusal are dropped; the fifth open offer is refused busy', async (t) => {
  const { host, helper } = pair();
  const id = helper.transfers!.offerFile({ name: 'x', size: 10, sha256: SHA }, NOW);
  move(helper, host);
  host.transfers!.acceptFile(id, 0, NOW);
  host.transfers!.rejectFile(id, 'cancelled', NOW);
  host.handleBytes(encodeFrame(Channel.Transfer, encodeChunk({ id, offset: 0, data: new Uint8Array(10) })), NOW);
  host.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'file-done', id })), NOW);
  t.equal(host.state, 'open');
  drain(host);
  const offers: number[] = [];
  for (let i = 0; i < MAX_OPEN_TRANSFERS; i++) {
    const raw = encodeFrame(Channel.Control, encodeControl({ t: 'file-offer', id: 100 + i, name: 'n', size: 1, sha256: SHA }));
    host.handleBytes(raw, NOW);
    offers.push(100 + i);
  }
  host.handleBytes(encodeFrame(Channel.Control, encodeControl({ t: 'file-offer', id: 200, name: 'n', size: 1, sha256: SHA })), NOW);
  t.equal(drain(host).filter((e) => e.type === 'file-offer').length, MAX_OPEN_TRANSFERS);
  t.equal(host.state, 'open');
  t.same(host.transfers!.open, { in: MAX_OPEN_TRANSFERS, out: 0 });
});

t.test('a session that closes ends its open transfers', async (t) => {
  const { host, helper } = pair();
  const id = helper.transfers!.offerFile({ name: 'x', size: 10, sha256: SHA }, NOW);
  helper.close();
  t.same(drain(helper), [{ type: 'file-ended', id, direction: 'out', code: 'cancelled', byPeer: false }]);
  t.ok(host);
});
