/**
 * Faults in a live session over real TCP on 127.0.0.1:
 *   - the connection drops in the middle of a display update (a proxy cuts it mid-frame); the helper reconnects with
 *     the same, still valid invitation and gets a complete frame, pixel-exact with the host's VirtualScreen.snapshot();
 *   - the screen source throws: the session ends with close reason 'source-error' and a clear message, the host emits
 *     'error' and keeps running, and once the source recovers a new helper connects and is served.
 */
import t from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import { Helper, Host, VirtualScreen, type Capture, type ScreenSource, type SessionCloseInfo, type TesseraError } from '../../src/index.js';

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * A TCP proxy to `target`. On the first connection it follows the host's frame headers (the 4-byte length is in
 * clear even after the handshake) and cuts both sides halfway through the first frame of at least `minBody` bytes:
 * a display update, since handshake and control frames are far smaller.
 */
async function cuttingProxy(target: number, minBody: number) {
  let connections = 0;
  const cut = { done: false, forwarded: 0, frameBytes: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const n = connections++;
    const upstream = connect({ host: '127.0.0.1', port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (n > 0 || cut.done) {
        client.write(chunk);
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      // Forward whole small frames; stop inside the first big one.
      while (pending.length >= 4) {
        const body = pending.readUInt32BE(0);
        if (body >= minBody) {
          const half = 4 + Math.floor(body / 2);
          if (pending.length < half) return;
          client.write(pending.subarray(0, half));
          cut.done = true;
          cut.forwarded += half;
          cut.frameBytes = 4 + body;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (pending.length < 4 + body) return;
        client.write(pending.subarray(0, 4 + body));
        cut.forwarded += 4 + body;
        pending = pending.subarray(4 + body);
      }
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    cut,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

t.test('a connection cut in the middle of an update: the helper reconnects with the same invitation and gets a whole frame', async (t) => {
  const screen = new VirtualScreen({ width: 640, height: 400, now: () => Date.UTC(2026, 10, 25, 10, 0, 0) });
  const host = new Host({ source: screen, sink: screen, consent: () => 'view', name: 'faults' });
  host.on('error', () => {});
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  // Handshake and control frames are well under 1 KiB; the first key frame of this desktop is many kilobytes.
  const proxy = await cuttingProxy(host.port!, 1_024);
  t.teardown(() => proxy.close());
  const invitation = await host.createInvitation({ expires: '30m', addresses: [`127.0.0.1:${proxy.port}`] });

  const first = await Helper.connect(invitation.toURL());
  const info: SessionCloseInfo = await first.closedPromise();
  t.ok(proxy.cut.done, `the proxy cut the connection after ${proxy.cut.forwarded} bytes, halfway through a ${proxy.cut.frameBytes}-byte frame`);
  t.equal(info.reason, 'connection-lost', 'the helper sees the connection lost');
  t.equal(first.stats.frames, 0, 'no frame was completed: the cut fell inside the first update');
  t.ok(first.stats.bytesReceived > 0, `part of the update had arrived (${first.stats.bytesReceived} bytes after the handshake)`);
  await new Promise<void>((resolve) => {
    const check = () => (host.sessions.length === 0 ? resolve() : setTimeout(check, 10));
    check();
  });
  t.pass('the host let go of the cut session');

  const second = await Helper.connect(invitation.toURL());
  t.teardown(() => second.close());
  const expected = screen.snapshot().data;
  await second.waitForFrame((fb) => sameBytes(fb.data, expected));
  t.pass('the same invitation connects again and the frame is pixel-exact with the host screen');
  t.equal(host.listInvitations().find((r) => r.id === invitation.id)?.uses, 2, 'the ticket counts both uses');
});

/** A VirtualScreen behind a switch that makes capture() throw. */
class FlakySource implements ScreenSource {
  broken = false;
  readonly inner: VirtualScreen;
  constructor(inner: VirtualScreen) {
    this.inner = inner;
  }
  get width(): number {
    return this.inner.width;
  }
  get height(): number {
    return this.inner.height;
  }
  capture(): Capture | Promise<Capture> {
    if (this.broken) throw new Error('EIO: the display went away');
    return this.inner.capture();
  }
  onDamage(listener: () => void): () => void {
    return this.inner.onDamage(listener);
  }
}

t.test('the screen source throws: the session ends with source-error, the host keeps running', async (t) => {
  let now = Date.UTC(2026, 10, 25, 10, 0, 0);
  const screen = new VirtualScreen({ width: 320, height: 240, now: () => now });
  const source = new FlakySource(screen);
  const host = new Host({ source, consent: () => 'view', name: 'faults' });
  const errors: TesseraError[] = [];
  host.on('error', (e: TesseraError) => errors.push(e));
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const ticker = setInterval(() => {
    now += 1000;
    screen.tick();
  }, 50);
  t.teardown(() => clearInterval(ticker));
  const invitation = await host.createInvitation({ expires: '30m' });

  const helper = await Helper.connect(invitation.toURL());
  await helper.waitForFrame(() => true);
  const hostSide = host.sessions[0]!;
  source.broken = true;
  const [info, hostInfo] = await Promise.all([helper.closedPromise(), hostSide.closedPromise()]);
  t.equal(info.reason, 'source-error', 'the helper is told the reason: source-error');
  t.match(info.message ?? '', /the display went away/, `with the source's message: ${info.message}`);
  t.equal(hostInfo.reason, 'source-error', 'the host side closes with source-error too');
  t.ok(errors.some((e) => e.code === 'TESSERA_ERR_IO' && /the screen source failed: .*the display went away/i.test(e.message)), `the host emits a clear 'error' (${errors[0]?.message})`);

  // The host is still listening: once the source recovers, a new helper connects and sees the screen pixel-exactly.
  source.broken = false;
  clearInterval(ticker);
  const again = await Helper.connect(invitation.toURL());
  t.teardown(() => again.close());
  const expected = screen.snapshot().data;
  await again.waitForFrame((fb) => sameBytes(fb.data, expected));
  t.equal(again.closed, false, 'after the source recovers a new helper is connected and served');
  t.equal(host.sessions.length, 1, 'the host holds only the new session');
});
