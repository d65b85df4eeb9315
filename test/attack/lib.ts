/**
 * Shared pieces of the live-host attack tests (test/attack/*.test.ts) and `npm run soak`: a host on 127.0.0.1
 * port 0 sharing a ticking virtual desktop, its audit trail, raw sockets for hostile peers, a real ClientHello,
 * and measurements of the host process (heap after GC, RSS, active handles).
 */
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Host, Helper, VirtualScreen, type AuditEvent, type HostOptions, type HostInvitation } from '../../src/index.js';
import { Channel, Deframer, encodeFrame } from '../../src/framing/index.js';
import { HandshakeInitiator, type Invitation } from '../../src/handshake/index.js';
import { NODE_CIPHERS, nodeRandom, scryptKdf } from '../../src/transport/handshake-crypto.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms; rejects after `ms` with `what` (a bound on a behaviour, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await sleep(10);
  }
}

export interface LiveHost {
  readonly host: Host;
  readonly screen: VirtualScreen;
  readonly audit: AuditEvent[];
  readonly invitation: HostInvitation;
  readonly port: number;
  close(): Promise<void>;
}

/** A host on 127.0.0.1:0 whose virtual desktop clock ticks every 50 ms, so every capture differs. */
export async function startHost(options: Partial<HostOptions> = {}, size = { width: 320, height: 240 }): Promise<LiveHost> {
  let screenNow = Date.UTC(2026, 10, 25, 9, 0, 0);
  const screen = new VirtualScreen({ ...size, now: () => screenNow });
  // Every refusal is written one by one (the flood folding has its own test, test/attack/flood.test.ts), so each bad
  // peer's entry can be checked.
  const host = new Host({ source: screen, sink: screen, consent: () => 'view', name: 'attack-host', auditFlood: { burst: Infinity }, ...options });
  const audit: AuditEvent[] = [];
  host.on('audit', (e: AuditEvent) => audit.push(e));
  host.on('error', () => {});
  await host.listen({ port: 0 });
  // Several peers (legit helpers, hostile clients, raw handshakes) share this invitation: it admits as many as policy allows.
  const invitation = await host.createInvitation({ expires: '30m', mode: 'view', uses: 10 });
  const ticker = setInterval(() => {
    screenNow += 1000;
    screen.tick();
  }, 50);
  return {
    host,
    screen,
    audit,
    invitation,
    port: host.port!,
    close: async () => {
      clearInterval(ticker);
      await host.close();
    },
  };
}

/** Counts frames a helper decodes. */
export function frameCounter(helper: Helper): { readonly frames: number } {
  const c = { frames: 0 };
  helper.on('frame', () => c.frames++);
  return c;
}

/** Resolves once the helper has decoded `n` more frames (the host keeps serving it). */
export async function expectFrames(helper: Helper, n = 3, ms = 15_000): Promise<void> {
  const start = helper.stats.frames;
  await waitFor(() => helper.stats.frames >= start + n || helper.closed, `${n} more frames`, ms);
  if (helper.closed) throw new Error('the legitimate helper was disconnected');
}

/** A raw TCP socket to the host, read and discarded; errors are swallowed (the host may reset it). */
export type RawSocket = Socket & { readonly clientPort: number };

export function rawSocket(port: number): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    // Read and drop whatever the host sends: a socket that is never read never sees the host's FIN ('end'/'close').
    s.resume();
    // The local port names this peer in the host's audit ("127.0.0.1:<port>"); a closed socket forgets it.
    s.once('connect', () => resolve(Object.assign(s, { clientPort: s.localPort! })));
    s.once('close', () => reject(new Error('closed before connecting')));
  });
}

/** Resolves when the socket is closed (by either side). */
export function closed(s: Socket): Promise<void> {
  if (s.destroyed) return Promise.resolve();
  return new Promise((r) => s.once('close', () => r()));
}

/** The host's audit entries for one raw socket (matched by its local port). */
export function auditFor(audit: readonly AuditEvent[], s: { readonly clientPort: number }): AuditEvent[] {
  const peer = `127.0.0.1:${s.clientPort}`;
  return audit.filter((e) => e.peer === peer);
}

/** The first bytes a real helper sends: the ClientHello frame for `invitation`, and the initiator to go on with. */
export function clientHello(invitation: Invitation): { bytes: Uint8Array; initiator: HandshakeInitiator } {
  const initiator = HandshakeInitiator.fromInvitation(invitation, { random: nodeRandom, ciphers: NODE_CIPHERS, kdf: scryptKdf, requestMode: 'view' });
  return { bytes: encodeFrame(Channel.Handshake, initiator.next()!), initiator };
}

/**
 * Sends a real ClientHello, reads the ServerHello and returns the real Auth frame (not yet sent), so a test can
 * send any prefix of it.
 */
export async function helloThenAuth(port: number, invitation: Invitation): Promise<{ socket: RawSocket; auth: Uint8Array }> {
  const socket = await rawSocket(port);
  const { bytes, initiator } = clientHello(invitation);
  const deframer = new Deframer();
  const auth = await new Promise<Uint8Array>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      try {
        deframer.push(chunk);
        const f = deframer.next();
        if (!f) return;
        initiator.receive(f.payload);
        resolve(encodeFrame(Channel.Handshake, initiator.next()!));
      } catch (err) {
        reject(err);
      }
    });
    socket.once('close', () => reject(new Error('closed before the ServerHello')));
    socket.write(bytes);
  });
  socket.removeAllListeners('data');
  return { socket, auth };
}

let gcFn: (() => void) | undefined;
/** Runs a full GC (V8's gc exposed at run time; tests need no --expose-gc flag). */
export function gc(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

export interface ProcessFigures {
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  /** Active libuv resources by type (TCPSocketWrap, TCPServerWrap, Timeout, ...). */
  readonly handles: Record<string, number>;
  readonly handleTotal: number;
}

/** Memory after a full GC and the process's active resources. */
export function measure(): ProcessFigures {
  gc();
  const m = process.memoryUsage();
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  return {
    rssMiB: Math.round((m.rss / 1048576) * 10) / 10,
    heapUsedMiB: Math.round((m.heapUsed / 1048576) * 10) / 10,
    handles,
    handleTotal: Object.values(handles).reduce((a, b) => a + b, 0),
  };
}

/** Waits (bounded) until the TCP sockets and timers are back near a baseline: nothing an attacker left behind. */
export async function settleHandles(base: ProcessFigures, slack = 2, ms = 15_000): Promise<ProcessFigures> {
  const key = (f: ProcessFigures, k: string) => f.handles[k] ?? 0;
  let now = measure();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (key(now, 'TCPSocketWrap') > key(base, 'TCPSocketWrap') + slack || key(now, 'Timeout') > key(base, 'Timeout') + slack)) {
    await sleep(100);
    now = measure();
  }
  return now;
}

/** Connects a legitimate helper with the host's invitation. */
export async function legitHelper(live: LiveHost): Promise<Helper> {
  const helper = await Helper.connect(live.invitation.toURL(), { timeoutMs: 10_000 });
  helper.on('error', () => {});
  return helper;
}

export function count<T>(items: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}
