/**
 * A 3840x2160 screen of random pixels over real TCP on 127.0.0.1 (spec/framing.md §2.3, FR-10): its lossless KEY
 * update is about 24.9 MB, over the 16 MiB every receiver accepts, so the host sends the picture as several updates
 * within the cap. A proxy between helper and host reads the frame headers on the wire (the length is not sealed)
 * and records the largest body the host sent.
 */
import t from 'tap';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { Host, Helper, type HostSessionHandle } from '../../src/index.js';
import type { Capture, DamageListener, ScreenSource, Unsubscribe } from '../../src/adapters/types.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/framing/constants.js';

const W = 3840, H = 2160;

/** A screen of opaque random pixels that changes, all of it, when told to. */
class NoiseScreen implements ScreenSource {
  readonly width = W;
  readonly height = H;
  #frame = NoiseScreen.#noise();
  readonly #listeners = new Set<DamageListener>();

  static #noise(): Uint8Array {
    const data = new Uint8Array(W * H * 4);
    for (let off = 0; off < data.length; off += 65_536) randomFillSync(data.subarray(off, Math.min(data.length, off + 65_536)));
    // Opaque, as a capture is (little-endian words: alpha is the high byte).
    const words = new Uint32Array(data.buffer);
    for (let i = 0; i < words.length; i++) words[i] = (words[i]! | 0xff000000) >>> 0;
    return data;
  }

  get pixels(): Uint8Array {
    return this.#frame;
  }

  capture(): Capture {
    return { frame: { width: W, height: H, data: this.#frame }, damage: [{ x: 0, y: 0, width: W, height: H }] };
  }

  onDamage(listener: DamageListener): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** New noise everywhere; a new buffer, so the previous capture stays as it was. */
  next(): void {
    this.#frame = NoiseScreen.#noise();
    for (const l of this.#listeners) l();
  }
}

/** What the proxy saw the host send: frame bodies by their length header. */
interface WireStats {
  frames: number;
  maxBody: number;
  /** Bodies over 1 MiB: the pieces of the noisy pictures. */
  big: number;
}

/** A TCP proxy to the host that parses the host's frame headers on their way to the helper. */
async function frameProxy(hostPort: number): Promise<{ server: Server; port: number; wire: WireStats; sockets: Set<Socket> }> {
  const wire: WireStats = { frames: 0, maxBody: 0, big: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((helperSide) => {
    const hostSide = connect({ host: '127.0.0.1', port: hostPort });
    sockets.add(helperSide).add(hostSide);
    helperSide.on('error', () => hostSide.destroy());
    hostSide.on('error', () => helperSide.destroy());
    helperSide.pipe(hostSide);
    // Header bytes still to read (and the value so far), or body bytes still to skip.
    let headerLeft = 4, length = 0, bodyLeft = 0;
    hostSide.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; ) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, chunk.length - i);
          bodyLeft -= n;
          i += n;
          continue;
        }
        length = length * 256 + chunk[i++]!;
        if (--headerLeft > 0) continue;
        wire.frames++;
        wire.maxBody = Math.max(wire.maxBody, length);
        if (length > 1 << 20) wire.big++;
        bodyLeft = length;
        headerLeft = 4;
        length = 0;
      }
      if (!helperSide.write(chunk)) {
        hostSide.pause();
        helperSide.once('drain', () => hostSide.resume());
      }
    });
    hostSide.on('end', () => helperSide.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, wire, sockets };
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

t.test('a 4K screen of noise reaches the helper exact, in frames within 16 MiB, and the session stays open', async (t) => {
  const screen = new NoiseScreen();
  const host = new Host({ source: screen, quality: 'lossless', consent: () => 'view', name: 'noise-host' });
  await host.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => host.close());
  const proxy = await frameProxy(host.port!);
  t.teardown(() => {
    for (const s of proxy.sockets) s.destroy();
    proxy.server.close();
  });
  const invitation = await host.createInvitation({ mode: 'view', expires: '30m', addresses: [`127.0.0.1:${proxy.port}`] });
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const errors: unknown[] = [];
  host.on('error', (err) => errors.push(err));

  let start = Date.now();
  const helper = await Helper.connect(invitation.toURL(), { timeoutMs: 30_000 });
  t.teardown(() => helper.close());
  const session = await sessionP;
  await helper.waitForFrame((fb) => equal(fb.data, screen.pixels));
  t.comment(`first noisy picture exact at the helper after ${Date.now() - start} ms (handshake included)`);
  t.equal(helper.width, W);
  t.equal(helper.height, H);
  t.ok(proxy.wire.maxBody <= DEFAULT_MAX_BODY_BYTES, `largest frame body on the wire ${proxy.wire.maxBody} bytes, within 16 MiB`);
  t.ok(proxy.wire.big >= 2, `the picture went as ${proxy.wire.big} large frames`);
  t.notOk(session.closed, 'the host session is open');
  t.notOk(helper.closed, 'the helper is connected');

  // The whole screen changes again: the delta is over the cap too.
  const bigBefore = proxy.wire.big;
  start = Date.now();
  screen.next();
  await helper.waitForFrame((fb) => equal(fb.data, screen.pixels));
  t.comment(`second noisy picture exact at the helper after ${Date.now() - start} ms`);
  t.ok(proxy.wire.big - bigBefore >= 2, `the second picture went as ${proxy.wire.big - bigBefore} large frames`);
  t.ok(proxy.wire.maxBody <= DEFAULT_MAX_BODY_BYTES, `largest frame body on the wire ${proxy.wire.maxBody} bytes`);
  t.notOk(session.closed, 'the host session is still open');
  t.notOk(helper.closed, 'the helper is still connected');
  t.same(errors, [], 'the host reported no error');
});
