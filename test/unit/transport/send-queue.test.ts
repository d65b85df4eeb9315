import t from 'tap';
import { once } from 'node:events';
import { ErrorCode, StateError, TesseraError } from '../../../src/core/index.js';
import { SendQueue } from '../../../src/transport/index.js';
import { createDuplexPair } from '../../helpers/duplex-pair.js';

const tick = () => new Promise((r) => setImmediate(r));

t.test('a stalled reader keeps the queue within its cap; the writer waits, then everything arrives in order', async (t) => {
  const [a, b] = createDuplexPair({ highWaterMark: 4096 });
  const cap = 64 * 1024;
  const q = new SendQueue(a, { maxQueuedBytes: cap });
  const chunk = 1000;
  const total = 500;
  let admitted = 0;
  let peak = 0;
  const writer = (async () => {
    for (let i = 0; i < total; i++) {
      const bytes = new Uint8Array(chunk).fill(i & 0xff);
      await q.write(bytes);
      admitted++;
      peak = Math.max(peak, q.queuedBytes);
    }
  })();
  // Nobody reads b yet: the writer must come to a stop.
  for (let i = 0; i < 20; i++) await tick();
  const stalledAt = admitted;
  t.ok(stalledAt < total, `writer is waiting after ${stalledAt} of ${total} chunks`);
  t.ok(q.queuedBytes <= cap, `queued ${q.queuedBytes} <= cap ${cap}`);
  t.ok(peak <= cap);
  t.equal(q.waitingWrites, 1, 'exactly one write is waiting');
  for (let i = 0; i < 20; i++) await tick();
  t.equal(admitted, stalledAt, 'still waiting while the reader is stalled');

  // Now read slowly and check order and the bound on the way.
  const received: number[] = [];
  let expected = 0;
  b.on('data', (c: Buffer) => {
    for (const byte of c) received.push(byte);
    peak = Math.max(peak, q.queuedBytes);
  });
  const ended = once(b, 'end');
  await writer;
  await q.end();
  await ended;
  t.equal(received.length, total * chunk);
  let inOrder = true;
  for (let i = 0; i < total && inOrder; i++) {
    expected = i & 0xff;
    if (received[i * chunk] !== expected || received[i * chunk + chunk - 1] !== expected) inOrder = false;
  }
  t.ok(inOrder, 'chunks arrived in order');
  t.ok(peak <= cap, `peak queued ${peak} never exceeded the cap`);
});

t.test('concurrent writes keep their order and tryWrite refuses when full', async (t) => {
  const [a, b] = createDuplexPair({ highWaterMark: 16 });
  const q = new SendQueue(a, { maxQueuedBytes: 64 });
  const writes = Array.from({ length: 20 }, (_, i) => q.write(new Uint8Array(10).fill(i)));
  await tick();
  t.notOk(q.tryWrite(new Uint8Array(1)), 'tryWrite refuses while writes wait');
  const got: number[] = [];
  b.on('data', (c: Buffer) => got.push(...c));
  await Promise.all(writes);
  await q.drained();
  t.same(got, Array.from({ length: 200 }, (_, i) => Math.floor(i / 10)));
  t.ok(q.tryWrite(new Uint8Array(1)));
});

t.test('a waiting write is cancelled by its signal with AbortError and its bytes are not sent', async (t) => {
  const [a, b] = createDuplexPair({ highWaterMark: 16 });
  const q = new SendQueue(a, { maxQueuedBytes: 32 });
  await q.write(new Uint8Array(32).fill(1));
  const ac = new AbortController();
  const waiting = q.write(new Uint8Array(8).fill(2), { signal: ac.signal });
  ac.abort(new Error('user gave up'));
  const err = await waiting.catch((e: unknown) => e);
  t.match(err, { name: 'AbortError', code: 'ABORT_ERR' });
  t.match((err as Error).cause, { message: 'user gave up' });
  const pre = new AbortController();
  pre.abort();
  await t.rejects(q.write(new Uint8Array(1), { signal: pre.signal }), { code: 'ABORT_ERR' });
  const got: number[] = [];
  b.on('data', (c: Buffer) => got.push(...c));
  await q.drained();
  t.same(got, new Array(32).fill(1));
});

t.test('a closed stream rejects waiting and later writes with TESSERA_ERR_CLOSED', async (t) => {
  const [a] = createDuplexPair({ highWaterMark: 16 });
  const q = new SendQueue(a, { maxQueuedBytes: 16 });
  await q.write(new Uint8Array(16));
  const waiting = q.write(new Uint8Array(16));
  a.destroy();
  const err = await waiting.catch((e: unknown) => e);
  t.ok(err instanceof TesseraError);
  t.match(err, { code: ErrorCode.Closed });
  await t.rejects(q.write(new Uint8Array(1)), { code: ErrorCode.Closed });
});

t.test('writes after end() are refused; bad caps are StateError', async (t) => {
  const [a, b] = createDuplexPair();
  b.resume();
  const q = new SendQueue(a);
  await q.end();
  await t.rejects(q.write(new Uint8Array(1)), StateError);
  t.throws(() => new SendQueue(a, { maxQueuedBytes: 0 }), StateError);
});
