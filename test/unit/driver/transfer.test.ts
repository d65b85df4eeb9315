/**
 * The transfer driver (src/driver/transfer.ts) on two sessions over in-memory links: a file both ways end to end,
 * and chunks held back while the link has a queue, so a chat message is never stuck behind a file (XFER-10).
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { Deframer, DEFAULT_MAX_BODY_BYTES, NullProtector } from '../../../src/framing/index.js';
import { HostSession } from '../../../src/session/host-session.js';
import { HelperSession } from '../../../src/session/helper-session.js';
import { SessionDriver } from '../../../src/driver/session.js';
import { TransferDriver, type IncomingSink, type OutgoingFile } from '../../../src/driver/transfer.js';
import { TRANSFER_LOW_WATER_BYTES } from '../../../src/core/defaults.js';
import { createLinkPair } from '../../helpers/link-pair.js';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

function memoryFile(name: string, bytes: Uint8Array): OutgoingFile {
  return { name, size: bytes.length, sha256: sha(bytes), read: async (o, l) => bytes.slice(o, o + l) };
}

function memorySink(store: { bytes?: Uint8Array }, size: number, expected: Uint8Array): IncomingSink {
  const buf = new Uint8Array(size);
  return {
    offset: 0,
    write: async (o, d) => void buf.set(d, o),
    finish: async () => {
      store.bytes = buf;
      return Buffer.from(sha(buf)).equals(Buffer.from(expected)) ? 'memory' : false;
    },
    abort: async () => undefined,
  };
}

function setup() {
  const [a, b] = createLinkPair();
  const now = () => 1_000;
  const deframer = () => new Deframer({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES });
  const host = new HostSession({ deframer: deframer(), seal: NullProtector, now: 1_000, mode: 'view', maxMode: 'view', width: 10, height: 10, clock: now, offeredFeatures: ['transfer'] });
  const helper = new HelperSession({ deframer: deframer(), seal: NullProtector, now: 1_000, mode: 'view', offeredFeatures: ['transfer'], features: ['transfer'] });
  const received: { bytes?: Uint8Array } = {};
  const chats: string[] = [];
  let hostTransfer: TransferDriver | undefined;
  let helperTransfer: TransferDriver | undefined;
  const hostDriver = new SessionDriver(host, a, { clock: now, onEvent: (ev) => void (hostTransfer?.handle(ev) || (ev.type === 'chat' && chats.push(ev.text))) });
  const helperDriver = new SessionDriver(helper, b, { clock: now, onEvent: (ev) => void helperTransfer?.handle(ev) });
  hostTransfer = new TransferDriver(host, hostDriver as never, { clock: now, onOffer: (offer) => memorySink(received, offer.size, offer.sha256) });
  helperTransfer = new TransferDriver(helper, helperDriver as never, { clock: now, onOffer: () => 'disabled' });
  hostDriver.start();
  helperDriver.start();
  return { a, b, host, helper, hostDriver, helperDriver, hostTransfer, helperTransfer, received, chats };
}

t.test('a file crosses two in-memory links end to end, SHA-256 checked', async (t) => {
  const s = setup();
  await new Promise((r) => setTimeout(r, 5));
  const bytes = new Uint8Array(5 * 1024 * 1024 + 3).map((_, i) => (i * 31) & 0xff);
  const result = await s.helperTransfer.send(memoryFile('x.bin', bytes));
  t.match(result, { ok: true, bytes: bytes.length });
  t.ok(s.received.bytes && Buffer.from(s.received.bytes).equals(Buffer.from(bytes)));
  const empty = await s.helperTransfer.send(memoryFile('empty', new Uint8Array(0)));
  t.match(empty, { ok: true, size: 0, bytes: 0 }, 'an empty file is offered, accepted and saved');
  const refused = await s.hostTransfer.send(memoryFile('y.bin', bytes.subarray(0, 10)));
  t.match(refused, { ok: false, accepted: false, code: 'disabled' }, 'the helper without a folder refuses');
  s.helper.close();
  s.helperDriver.pump();
});

t.test('no chunk goes while the link has its low-water mark queued; a chat message goes at once', async (t) => {
  const s = setup();
  await new Promise((r) => setTimeout(r, 5));
  s.a.pause(); // The host stops reading: what the helper sends stays queued.
  const bytes = new Uint8Array(8 * 1024 * 1024);
  const sending = s.helperTransfer.send(memoryFile('z.bin', bytes));
  s.a.resume();
  await new Promise((r) => setTimeout(r, 5));
  s.a.pause();
  await new Promise((r) => setTimeout(r, 30));
  const queued = s.b.queuedBytes;
  t.ok(queued < TRANSFER_LOW_WATER_BYTES + 300 * 1024, `at most one chunk over the mark is queued (${queued})`);
  s.helper.chat('hello', 1_000);
  s.helperDriver.pump();
  t.ok(s.b.queuedBytes - queued < 1024, 'the chat message was queued at once, behind at most the chunks already there');
  s.a.resume();
  await sending;
  t.ok(s.chats.includes('hello'));
  s.helper.close();
  s.helperDriver.pump();
});
