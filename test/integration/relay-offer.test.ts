/**
 * Offers through the relay (spec/relay.md §5.1, §5.2): a host whose policy allows offers keeps a standing
 * registration (its offer id); an allow-listed helper with only the host key and the relay's URL reaches it, and
 * the host user is still asked. The offer id is reserved for the host that proved the key. Two relays and a real
 * nats-server: a helper that reaches relay B is sent to relay A, where the host waits; no byte crosses B.
 */
import t from 'tap';
import nacl from 'tweetnacl';
import { WebSocket, WebSocketServer } from 'ws';
import {
  Host, Helper, VirtualScreen, startRelay, parsePolicy, parseHelpers, RelayRegistration, offerRendezvousId, encodeRelayMessage, decodeRelayMessage, relayEndpoint,
  type RelayAuditEvent, type RelayServer, type HostConsentRequest,
} from '../../src/index.js';
import { toBase64 } from '../../src/handshake/index.js';
import { dhKeyPair } from '../../src/handshake/index.js';
import { nodeRandom } from '../../src/node/crypto.js';
import { natsSkip, startNatsServer } from '../helpers/nats.js';

const SCREEN_NOW = () => Date.UTC(2026, 10, 25, 10, 0, 0);
type Teardown = { teardown(fn: () => unknown): void };

async function until(pred: () => boolean, what: string, limit = 1000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function relayAt(t: Teardown, options: Parameters<typeof startRelay>[0] = {}) {
  const audit: RelayAuditEvent[] = [];
  let tapped = 0;
  const relay = await startRelay({ port: 0, host: '127.0.0.1', tap: (_d, c) => (tapped += c.byteLength), ...options });
  relay.on('audit', (e: RelayAuditEvent) => audit.push(e));
  t.teardown(() => relay.close());
  return { relay, audit, tapped: () => tapped };
}

const bob = nacl.sign.keyPair();
const mallory = nacl.sign.keyPair();
const helpers = parseHelpers({ users: { bob: [toBase64(bob.publicKey)] }, groups: { helpdesk: ['bob'] } });

/** A host that listens nowhere, allows offers from group:helpdesk (or not), and records what its user was asked. */
async function offeringHost(t: Teardown, relay: RelayServer | string, opts: { offers?: boolean } = {}) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW });
  const asked: HostConsentRequest[] = [];
  const host = new Host({
    source: screen,
    sink: screen,
    name: 'offering-host',
    helpers,
    policy: parsePolicy({ offer: { enabled: opts.offers ?? true, permit: 'control', helpers: ['group:helpdesk'] } }),
    consent: (r) => {
      asked.push(r);
      return 'control';
    },
  });
  t.teardown(() => host.close());
  const registered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  host.useRelay(typeof relay === 'string' ? relay : relay.url, { initialBackoffMs: 50, maxBackoffMs: 200 });
  await registered;
  return { screen, host, asked };
}

t.test('an allow-listed helper offers help through the relay with only the host key; the host user is asked', async (t) => {
  const { relay, audit, tapped } = await relayAt(t);
  const { host, asked } = await offeringHost(t, relay);
  t.equal(host.port, undefined, 'the host listens on no port');
  await until(() => audit.some((e) => e.event === 'registered'), 'the registration');
  const helper = await Helper.offer(undefined, { relay: relay.url, hostKey: host.hostKey.publicKey, identity: bob, requestControl: true });
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  t.equal(helper.mode, 'control');
  await helper.waitForFrame(() => true);
  t.equal(asked.length, 1, 'the host user was asked once');
  t.equal(asked[0]!.kind, 'offer');
  t.equal(asked[0]!.helper, 'bob');
  t.ok(tapped() > 0, 'the session ran through the relay');
  t.ok(audit.some((e) => e.event === 'paired'), 'the relay audited the pairing');

  // Someone not on the allow-list reaches the host through the relay too, and the host refuses them itself.
  await t.rejects(Helper.offer(undefined, { relay: relay.url, hostKey: host.hostKey.publicKey, identity: mallory }), { code: 'TESSERA_ERR_HANDSHAKE_REFUSED', refusal: 'POLICY_DENIED' });
  t.equal(asked.length, 1, 'the host user was not bothered by a helper the policy denies');
});

t.test('a host whose policy does not allow offers keeps no standing registration: UNKNOWN_ID at the relay', async (t) => {
  const { relay } = await relayAt(t);
  const { host, asked } = await offeringHost(t, relay, { offers: false });
  await t.rejects(Helper.offer(undefined, { relay: relay.url, hostKey: host.hostKey.publicKey, identity: bob }), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'UNKNOWN_ID' });
  t.equal(asked.length, 0);
});

t.test('the offer id is reserved for the host that proved its key: another host serving it loses it', async (t) => {
  const { relay } = await relayAt(t);
  // The real host exists but has not registered yet.
  const screen = new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW });
  const host = new Host({
    source: screen,
    helpers,
    policy: parsePolicy({ offer: { enabled: true, permit: 'view', helpers: ['user:bob'] } }),
    consent: () => 'view',
  });
  t.teardown(() => host.close());
  const victimKey = host.hostKey;
  // An impostor: a real host with its own key, registered at the relay, serving the victim's offer id.
  const impostor = new Host({ source: new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW }), helpers, policy: parsePolicy({ offer: { enabled: true, helpers: ['user:bob'] } }), consent: () => 'view' });
  t.teardown(() => impostor.close());
  const squatter = new RelayRegistration({
    url: relay.url,
    hostKey: impostor.hostKey,
    ids: () => [offerRendezvousId(victimKey.publicKey)],
    onStream: (s, peer) => void impostor.attach(s, peer).catch(() => {}),
    initialBackoffMs: 50,
  });
  t.teardown(() => squatter.close());
  await new Promise<void>((resolve) => squatter.once('registered', () => resolve()).start());
  await until(() => relay.hosts === 1, 'the squatter registered');
  // While the real host is away, the squatter gets the helper, and the handshake's key pinning refuses it.
  await new Promise((r) => setTimeout(r, 50));
  await t.rejects(Helper.offer(undefined, { relay: relay.url, hostKey: victimKey.publicKey, identity: bob }), { code: 'TESSERA_ERR_HANDSHAKE_REFUSED', refusal: 'HOST_KEY_MISMATCH' });

  // The real host registers: its offer id is its own from then on, whatever the squatter serves.
  const registered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  host.useRelay(relay.url, { initialBackoffMs: 50 });
  await registered;
  squatter.refresh();
  await new Promise((r) => setTimeout(r, 50));
  const helper = await Helper.offer(undefined, { relay: relay.url, hostKey: victimKey.publicKey, identity: bob });
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  t.equal(helper.mode, 'view');
});

t.test('a relay that redirects in a loop is refused after one hop (REDIRECT_LOOP)', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  t.teardown(() => new Promise<void>((r) => wss.close(() => r())));
  const port = (wss.address() as { port: number }).port;
  let asked = 0;
  wss.on('connection', (ws) => ws.once('message', () => {
    asked++;
    // Each relay sends the helper to "the other": a loop.
    ws.send(encodeRelayMessage({ type: 'redirect', url: `ws://127.0.0.1:${port}/again${asked}` }));
  }));
  await t.rejects(Helper.offer(undefined, { relay: `ws://127.0.0.1:${port}`, hostKey: nodeRandom(32), identity: bob, timeoutMs: 3000 }), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'REDIRECT_LOOP' });
  t.equal(asked, 2, 'one redirect was followed, the second refused');
});

t.test('two relays and one nats-server: a helper that reaches relay B is sent to relay A, where the host waits', { skip: natsSkip() }, async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.stop());
  // Each relay announces the URL helpers reach it at; here, the loopback URL it listens on (the port known only after
  // listening, so the cluster link is given a placeholder first and the relays are started on fixed free ports).
  const a0 = await startRelay({ port: 0, host: '127.0.0.1' });
  const b0 = await startRelay({ port: 0, host: '127.0.0.1' });
  const [portA, portB] = [a0.port, b0.port];
  await a0.close();
  await b0.close();
  const cluster = (port: number) => ({ nats: nats.url, publicUrl: `ws://127.0.0.1:${port}`, refreshMs: 200, ttlMs: 2_000 });
  const A = await relayAt(t, { port: portA, cluster: cluster(portA) });
  const B = await relayAt(t, { port: portB, cluster: cluster(portB) });
  await until(() => A.relay.clusterConnected === true && B.relay.clusterConnected === true, 'both relays on nats');

  const { host, asked } = await offeringHost(t, A.relay);
  await until(() => B.relay.clusterEntries === 1, 'relay B learns the standing registration at A');
  t.equal(A.relay.clusterEntries, 0, 'a relay does not list its own hosts as elsewhere');

  const helper = await Helper.offer(undefined, { relay: B.relay.url, hostKey: host.hostKey.publicKey, identity: bob, requestControl: true });
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  await helper.waitForFrame(() => true);
  t.equal(asked.length, 1, 'the host user was asked');
  t.ok(B.audit.some((e) => e.event === 'redirected'), 'relay B audited the redirect');
  t.notOk(B.audit.some((e) => e.event === 'paired'), 'relay B paired nothing');
  // On the wire (RLY-5): Redirect, then the relay closes with 1000 and the reason REDIRECT.
  const raw = new WebSocket(relayEndpoint(B.relay.url, '/tessera-relay/1/connect'));
  raw.binaryType = 'nodebuffer';
  const rawMessages: ReturnType<typeof decodeRelayMessage>[] = [];
  raw.on('message', (d: Buffer) => rawMessages.push(decodeRelayMessage(new Uint8Array(d))));
  raw.on('error', () => {});
  raw.on('open', () => raw.send(encodeRelayMessage({ type: 'connect', id: offerRendezvousId(host.hostKey.publicKey) })));
  const rawClose = await new Promise<{ code: number; reason: string }>((resolve) => raw.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  t.same(rawMessages, [{ type: 'redirect', url: A.relay.url }], 'relay B answers Redirect to relay A');
  t.same(rawClose, { code: 1000, reason: 'REDIRECT' }, 'and closes with 1000 REDIRECT');
  t.equal(B.tapped(), 0, 'no session byte crossed relay B');
  t.ok(A.tapped() > 0, 'the session ran through relay A');
  helper.close();

  // The host leaves: relay B forgets it at once (remove), and a helper at B hears UNKNOWN_ID, not a redirect.
  await host.close();
  await until(() => B.relay.clusterEntries === 0, 'relay B forgets the host');
  await t.rejects(Helper.offer(undefined, { relay: B.relay.url, hostKey: host.hostKey.publicKey, identity: bob }), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'UNKNOWN_ID' });
});

t.test('a relay that dies without a word is forgotten by the cluster within the presence lifetime', { skip: natsSkip() }, async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.stop());
  const p = await startRelay({ port: 0, host: '127.0.0.1' });
  const portA = p.port;
  await p.close();
  const A = await startRelay({ port: portA, host: '127.0.0.1', cluster: { nats: nats.url, publicUrl: `ws://127.0.0.1:${portA}`, refreshMs: 100, ttlMs: 600 } });
  const B = await relayAt(t, { cluster: { nats: nats.url, publicUrl: 'ws://127.0.0.1:1', refreshMs: 100, ttlMs: 600 } });
  await until(() => A.clusterConnected === true && B.relay.clusterConnected === true, 'both relays on nats');
  const { host } = await offeringHost(t, A);
  await until(() => B.relay.clusterEntries === 1, 'relay B learns the host');
  // Relay A vanishes: its NATS link drops with it, so no remove is sent; B expires the entry by itself.
  await A.close();
  void host;
  await until(() => B.relay.clusterEntries === 0, 'relay B expires the silent relay', 500);
  t.pass('forgotten without a word from relay A');
});
