import t from 'tap';
import type { Socket } from 'node:net';
import { ErrorCode, TesseraError } from '../../../src/core/index.js';
import { Channel, Deframer, FrameWriter } from '../../../src/framing/index.js';
import { connectTcp, listenTcp, SendQueue } from '../../../src/transport/index.js';

const FRAMES = 10_000;

/** Sends FRAMES numbered frames through a SendQueue. */
async function sendNumbered(socket: Socket, tag: number): Promise<void> {
  const w = new FrameWriter();
  const q = new SendQueue(socket, { maxQueuedBytes: 256 * 1024 });
  for (let i = 0; i < FRAMES; i++) {
    const payload = new Uint8Array(5 + (i % 50));
    new DataView(payload.buffer).setUint32(0, i);
    payload[4] = tag;
    await q.write(w.frame(Channel.Display, payload));
  }
  await q.end();
}

/** Reads frames until FRAMES arrived; returns how many were in order. */
function receiveNumbered(socket: Socket, tag: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const d = new Deframer();
    let expect = 0;
    socket.on('data', (chunk: Buffer) => {
      try {
        d.push(chunk);
        for (let f; (f = d.next()); ) {
          const n = new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0);
          if (n !== expect || f.payload[4] !== tag || f.payload.length !== 5 + (n % 50)) {
            reject(new Error(`frame ${expect}: got number ${n} tag ${f.payload[4]}`));
            return;
          }
          expect++;
        }
        if (expect === FRAMES) resolve(expect);
      } catch (err) {
        reject(err);
      }
    });
    socket.on('error', reject);
  });
}

t.test('carries 10,000 frames each way in order over loopback TCP', async (t) => {
  const listener = await listenTcp({ port: 0, host: '127.0.0.1' });
  t.ok(listener.port > 0);
  const [server, client] = await Promise.all([listener.accept(), connectTcp({ host: '127.0.0.1', port: listener.port })]);
  const results = await Promise.all([
    receiveNumbered(server, 1),
    receiveNumbered(client, 2),
    sendNumbered(client, 1),
    sendNumbered(server, 2),
  ]);
  t.equal(results[0], FRAMES);
  t.equal(results[1], FRAMES);
  server.destroy();
  client.destroy();
  await listener.close();
});

t.test('connecting to a closed port fails with TESSERA_ERR_IO carrying the system error', async (t) => {
  const listener = await listenTcp({ port: 0 });
  const port = listener.port;
  await listener.close();
  const err = await connectTcp({ host: '127.0.0.1', port }).catch((e: unknown) => e);
  t.ok(err instanceof TesseraError);
  t.match(err, { code: ErrorCode.Io, cause: { code: 'ECONNREFUSED' } });
});

t.test('accept and connect honour AbortSignal with AbortError', async (t) => {
  const listener = await listenTcp({ port: 0 });
  const ac = new AbortController();
  const pending = listener.accept({ signal: ac.signal });
  ac.abort(new Error('stop'));
  await t.rejects(pending, { name: 'AbortError', code: 'ABORT_ERR' });
  const done = new AbortController();
  done.abort();
  await t.rejects(connectTcp({ host: '127.0.0.1', port: listener.port, signal: done.signal }), { code: 'ABORT_ERR' });
  await t.rejects(listenTcp({ port: 0, signal: done.signal }), { code: 'ABORT_ERR' });
  await listener.close();
});

t.test('aborting the listen signal closes the listener and fails waiting accepts', async (t) => {
  const ac = new AbortController();
  const listener = await listenTcp({ port: 0, signal: ac.signal });
  const waiting = listener.accept();
  ac.abort();
  await t.rejects(waiting, { code: ErrorCode.Closed });
  t.ok(listener.closed);
  const seen: Socket[] = [];
  for await (const s of listener) seen.push(s);
  t.equal(seen.length, 0, 'iteration ends once closed');
});

t.test('connections nobody accepts are held up to the pending cap, then refused', async (t) => {
  const listener = await listenTcp({ port: 0, maxPendingConnections: 1 });
  const a = await connectTcp({ host: '127.0.0.1', port: listener.port });
  const b = await connectTcp({ host: '127.0.0.1', port: listener.port });
  const bClosed = new Promise((r) => b.once('close', r));
  b.on('error', () => {});
  await bClosed;
  t.equal(listener.refusedConnections, 1);
  const s = await listener.accept();
  t.ok(s.remotePort === a.localPort);
  a.destroy();
  s.destroy();
  await listener.close();
});

t.test('listening on a port in use fails with TESSERA_ERR_IO', async (t) => {
  const first = await listenTcp({ port: 0 });
  await t.rejects(listenTcp({ port: first.port }), { code: ErrorCode.Io });
  await first.close();
});

t.test('over TCP, a peer that stops reading stalls the writer with the queue within its cap', async (t) => {
  const listener = await listenTcp({ port: 0 });
  const [server, client] = await Promise.all([listener.accept(), connectTcp({ host: '127.0.0.1', port: listener.port })]);
  client.pause();
  const cap = 128 * 1024;
  const q = new SendQueue(server, { maxQueuedBytes: cap });
  const chunk = new Uint8Array(16 * 1024);
  const totalChunks = 4096; // 64 MiB: far more than loopback socket buffers hold.
  let admitted = 0;
  let peak = 0;
  const writer = (async () => {
    for (let i = 0; i < totalChunks; i++) {
      await q.write(chunk);
      admitted++;
      peak = Math.max(peak, q.queuedBytes);
    }
  })();
  writer.catch(() => {});
  // Wait until the writer makes no progress across many event-loop turns (kernel buffers are full).
  let last = -1;
  let still = 0;
  for (let turns = 0; turns < 20_000 && still < 50; turns++) {
    await new Promise((r) => setImmediate(r));
    if (admitted === last) still++;
    else {
      still = 0;
      last = admitted;
    }
  }
  t.ok(admitted < totalChunks, `writer stalled after ${admitted} chunks`);
  t.equal(q.waitingWrites, 1);
  t.ok(q.queuedBytes <= cap && peak <= cap, `queued ${q.queuedBytes}, peak ${peak}, cap ${cap}`);
  server.destroy();
  client.destroy();
  await writer.catch(() => {});
  await listener.close();
});
