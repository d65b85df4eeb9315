/** Shared setup for the handshake integration tests: a host on 127.0.0.1:0 with a state folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Throttle, type Policy, type Helpers, type ConsentRequest } from '../../src/handshake/index.js';
import { AuditLog, FileTicketStore, loadOrCreateHostKey, issueInvitation, type HostKey } from '../../src/node/index.js';
import { acceptHandshake, connectHandshake, type AcceptHandshakeOptions, type ConnectHandshakeOptions, type ConsentDecision, type EstablishedHandshake } from '../../src/transport/handshake-io.js';

export interface HostFixture {
  readonly stateDir: string;
  readonly hostKey: HostKey;
  readonly store: FileTicketStore;
  readonly log: AuditLog;
  readonly throttle: Throttle;
  readonly port: number;
  /** Fake clock value used by the throttle and responder. */
  now: number;
  /** Results of each acceptHandshake, in connection order. */
  readonly results: Promise<EstablishedHandshake>[];
  readonly sockets: Socket[];
  consent: (req: ConsentRequest) => ConsentDecision | Promise<ConsentDecision>;
  close(): Promise<void>;
}

export interface HostFixtureOptions {
  readonly stateDir?: string;
  readonly policy?: Policy;
  readonly helpers?: Helpers;
  readonly extra?: Partial<AcceptHandshakeOptions>;
}

export async function startHost(o: HostFixtureOptions = {}): Promise<HostFixture> {
  const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'tessera-hs-'));
  const hostKey = loadOrCreateHostKey(stateDir);
  const store = new FileTicketStore(stateDir);
  const log = new AuditLog(stateDir);
  const fx = {
    stateDir,
    hostKey,
    store,
    log,
    now: Date.now(),
    results: [] as Promise<EstablishedHandshake>[],
    sockets: [] as Socket[],
    consent: (() => ({ mode: 'control', width: 640, height: 480, codecs: { tile: 64 } })) as HostFixture['consent'],
  } as unknown as HostFixture & { server: Server };
  (fx as { throttle: Throttle }).throttle = new Throttle({ clock: () => fx.now });
  const server = createServer((sock) => {
    fx.sockets.push(sock);
    const p = acceptHandshake(sock, {
      staticKey: hostKey,
      tickets: store,
      throttle: fx.throttle,
      clock: () => fx.now,
      audit: (e) => log.append(e),
      onConsent: (req) => fx.consent(req),
      ...(o.policy ? { policy: o.policy } : {}),
      ...(o.helpers ? { helpers: o.helpers } : {}),
      ...o.extra,
    });
    p.catch(() => undefined);
    fx.results.push(p);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fx as { port: number }).port = (server.address() as { port: number }).port;
  fx.close = async () => {
    for (const s of fx.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!o.stateDir) rmSync(stateDir, { recursive: true, force: true });
  };
  return fx;
}

export function invite(fx: HostFixture, extra: { mode?: 'view' | 'control'; password?: string; expiresMinutes?: number; policy?: Policy } = {}) {
  return issueInvitation({
    hostKey: fx.hostKey,
    store: fx.store,
    addresses: [`127.0.0.1:${fx.port}`],
    expires: { value: extra.expiresMinutes ?? 60, units: 'minutes' },
    name: 'Test Host',
    now: () => fx.now,
    audit: (e) => fx.log.append(e),
    ...(extra.mode ? { mode: extra.mode } : {}),
    ...(extra.password !== undefined ? { password: extra.password } : {}),
    ...(extra.policy ? { policy: extra.policy } : {}),
  });
}

export async function dial(fx: HostFixture): Promise<Socket> {
  const sock = connect(fx.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return sock;
}

export async function helperConnect(fx: HostFixture, o: ConnectHandshakeOptions): Promise<{ sock: Socket; result: Promise<EstablishedHandshake> }> {
  const sock = await dial(fx);
  const result = connectHandshake(sock, o);
  result.catch(() => undefined);
  return { sock, result };
}

/** The host-side result of connection number `count` (waits until the host saw it); wrapped so awaiting does not unwrap it. */
export async function hostResult(fx: HostFixture, count: number): Promise<{ result: Promise<EstablishedHandshake> }> {
  for (let i = 0; i < 200 && fx.results.length < count; i++) await new Promise((r) => setTimeout(r, 5));
  return { result: fx.results[count - 1]! };
}
