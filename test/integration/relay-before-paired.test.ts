/**
 * RLY-4: between its Connect (a helper) or its Accept (a host's data connection) and the relay's Paired, a client
 * sends nothing. A relay double (a plain WebSocket server speaking spec/relay.md) holds Paired back for a while and
 * records every message that arrives meanwhile; after Paired the helper's handshake begins.
 */
import t from 'tap';
import nacl from 'tweetnacl';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { Helper, Host, VirtualScreen } from '../../src/index.js';
import { decodeRelayMessage, encodeRelayMessage, RelayPath, type RelayMessage } from '../../src/handshake/relay.js';

const HOLD_MS = 400;

interface Arrival {
  readonly path: string;
  readonly at: 'before-paired' | 'after-paired';
  readonly bytes: Uint8Array;
}

/** A relay that answers by the book but waits HOLD_MS before each Paired, recording what clients send. */
async function relayDouble(t: { teardown(fn: () => unknown): void }) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  t.teardown(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
  const arrivals: Arrival[] = [];
  const firsts: Array<{ path: string; type: string }> = [];
  const controlTypes: string[] = [];
  const control: WebSocket[] = [];
  const send = (ws: WebSocket, m: RelayMessage) => ws.send(encodeRelayMessage(m));
  wss.on('connection', (ws, req) => {
    const path = req.url ?? '';
    let paired = false;
    let first = true;
    ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data);
      if (path === RelayPath.Host) {
        const m = decodeRelayMessage(bytes);
        controlTypes.push(m.type);
        if (m.type === 'register') send(ws, { type: 'registered' });
        return;
      }
      if (first) {
        first = false;
        const m = decodeRelayMessage(bytes);
        firsts.push({ path, type: m.type });
        if (m.type !== 'connect' && m.type !== 'accept') return;
        setTimeout(() => {
          paired = true;
          if (ws.readyState === ws.OPEN) send(ws, { type: 'paired' });
        }, HOLD_MS);
        return;
      }
      arrivals.push({ path, at: paired ? 'after-paired' : 'before-paired', bytes });
    });
    if (path === RelayPath.Host) {
      control.push(ws);
      send(ws, { type: 'challenge', nonce: nacl.randomBytes(32), relayKey: nacl.box.keyPair().publicKey });
    }
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  /** Tells the registered host that a helper is waiting. */
  const incoming = () => send(control[0]!, { type: 'incoming', token: nacl.randomBytes(16), peer: '127.0.0.1:40000' });
  const closeAll = () => {
    for (const c of wss.clients) c.terminate();
  };
  return { url, arrivals, firsts, incoming, closeAll, serving: () => controlTypes.includes('serve') };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

t.test('RLY-4: a helper sends nothing after Connect until Paired, then its ClientHello', async (t) => {
  const relay = await relayDouble(t);
  const identity = nacl.sign.keyPair();
  const offered = Helper.offer(undefined, { relay: relay.url, hostKey: nacl.box.keyPair().publicKey, identity, timeoutMs: 3_000 }).then(
    (h) => h.close(),
    () => undefined,
  );
  t.ok(await until(() => relay.arrivals.length > 0, 5_000), 'the helper sent something after pairing');
  t.same(relay.arrivals.filter((a) => a.at === 'before-paired').map((a) => a.bytes.byteLength), [], 'nothing before Paired');
  t.equal(relay.arrivals[0]!.path, RelayPath.Connect);
  const hello = relay.arrivals[0]!.bytes;
  t.equal(hello[4], 0, 'the first bytes after Paired are a handshake frame (channel 0)');
  t.equal(hello[5], 1, 'holding ClientHello (type 1)');
  relay.closeAll();
  await offered;
});

t.test('RLY-4: a host sends nothing after Accept until Paired (nor after it, until the helper speaks)', async (t) => {
  const relay = await relayDouble(t);
  const screen = new VirtualScreen({ width: 320, height: 240 });
  const host = new Host({ source: screen, consent: () => 'view' });
  t.teardown(() => host.close());
  const ctrl = new AbortController();
  t.teardown(() => ctrl.abort());
  host.useRelay(relay.url, { signal: ctrl.signal, proxy: false });
  t.ok(await until(relay.serving, 5_000), 'the host registered and said which ids it serves');
  relay.incoming();
  t.ok(await until(() => relay.firsts.some((f) => f.path === RelayPath.Data), 5_000), 'the host opened a data connection');
  t.same(relay.firsts.filter((f) => f.path === RelayPath.Data), [{ path: RelayPath.Data, type: 'accept' }], 'beginning with Accept');
  await new Promise((r) => setTimeout(r, HOLD_MS * 2));
  t.same(relay.arrivals.filter((a) => a.path === RelayPath.Data), [], 'the data connection carried nothing but Accept, before or after Paired');
});
