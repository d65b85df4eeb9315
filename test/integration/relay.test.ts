/**
 * The relay on loopback (spec/relay.md): a host with no listening socket registers at a relay, a helper with only
 * the invitation reaches it through the relay, and the relay sees only ciphertext; refusals, caps, a relay that
 * dies mid-session and one that comes back.
 */
import t from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import {
  Host, Helper, VirtualScreen, startRelay, dialRelay, relayEndpoint, encodeRelayMessage, decodeRelayMessage, RelayRegistration,
  type RelayAuditEvent, type RelayServer, type HostSessionHandle,
} from '../../src/index.js';
import { RelayRefusal, dhKeyPair, relayRegisterMac } from '../../src/handshake/index.js';
import { nodeRandom } from '../../src/node/crypto.js';

const SCREEN_NOW = () => Date.UTC(2026, 10, 25, 10, 0, 0);
type Teardown = { teardown(fn: () => unknown): void };

function equalFrames(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Resolves when `pred` holds, checking every 10 ms, at most `limit` times. */
async function until(pred: () => boolean, what: string, limit = 1000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function relayAt(t: Teardown, options: Parameters<typeof startRelay>[0] = {}) {
  const audit: RelayAuditEvent[] = [];
  const relay = await startRelay({ port: 0, host: '127.0.0.1', ...options });
  relay.on('audit', (e: RelayAuditEvent) => audit.push(e));
  t.teardown(() => relay.close());
  return { relay, audit };
}

/** A host that listens nowhere and waits at the relay. */
async function relayedHost(t: Teardown, relay: RelayServer | string, opts: { consent?: 'control' | 'view' } = {}) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW });
  const host = new Host({ source: screen, sink: screen, consent: () => opts.consent ?? 'control', name: 'relayed-host' });
  t.teardown(() => host.close());
  const registered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  const registration = host.useRelay(typeof relay === 'string' ? relay : relay.url, { initialBackoffMs: 50, maxBackoffMs: 200 });
  await registered;
  const invitation = await host.createInvitation({ expires: '30m' });
  return { screen, host, invitation, registration };
}

t.test('a helper with only the invitation reaches a host with no open port, pixel-exact, and the relay sees only ciphertext', async (t) => {
  const taps: Buffer[] = [];
  const { relay, audit } = await relayAt(t, { tap: (_d, chunk) => taps.push(Buffer.from(chunk)) });
  const { screen, host, invitation } = await relayedHost(t, relay);
  t.equal(host.port, undefined, 'the host listens on no port');
  t.same(invitation.invitation.addresses, [], 'the invitation names no direct address');
  t.equal(invitation.invitation.relay?.url, relay.url);
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const helper = await Helper.connect(invitation.toURL(), { requestControl: true });
  t.teardown(() => helper.close());
  t.equal(helper.path, 'relay');
  const session = await sessionP;
  t.equal(session.path, 'relay', "the host's session says it came through the relay");
  await helper.waitForFrame(() => true);
  await helper.waitForFrame((fb) => equalFrames(fb.data, screen.snapshot().data));
  t.pass('the helper framebuffer equals the host screen');

  const secret = 'the launch code is 7 7 4 2 tangerine';
  const got = new Promise<string>((resolve) => session.once('chat', resolve));
  helper.chat(secret);
  t.equal(await got, secret, 'chat from the helper reaches the host');
  const back = new Promise<string>((resolve) => helper.once('chat', resolve));
  session.chat(`${secret} (ack)`);
  t.equal(await back, `${secret} (ack)`, 'chat from the host reaches the helper');

  helper.type('Hi');
  await until(() => screen.text === 'Hi', 'typed text');
  await helper.waitForFrame((fb) => equalFrames(fb.data, screen.snapshot().data));

  const spliced = Buffer.concat(taps);
  t.ok(spliced.length > 1000, `the relay carried ${spliced.length} bytes`);
  t.equal(spliced.indexOf(Buffer.from(secret)), -1, 'no plaintext of the chat in the relay\'s bytes');
  t.equal(spliced.indexOf(Buffer.from('tangerine')), -1);
  t.equal(spliced.indexOf(Buffer.from('relayed-host')), -1, 'not even the host name (it rides in the sealed Welcome)');
  const paired = audit.filter((e) => e.event === 'paired');
  t.equal(paired.length, 1, 'the pairing is audited');
  const id = invitation.invitation.relay!.id;
  const idText = [Buffer.from(id).toString('hex'), Buffer.from(id).toString('base64url')];
  const lines = JSON.stringify(audit);
  for (const form of idText) t.notOk(lines.includes(form), 'the audit log never holds the rendezvous id in full');
  t.match(paired[0]!, { host: /^[0-9a-f]{12}$/, id: /^[0-9a-f]{12}$/, peer: /^127\.0\.0\.1:\d+$/ });
});

t.test('direct and relay side by side: a reachable host is reached directly; an unreachable address falls back to the relay', async (t) => {
  const { relay } = await relayAt(t);
  const screen = new VirtualScreen({ width: 320, height: 240, now: SCREEN_NOW });
  const host = new Host({ source: screen, consent: () => 'view' });
  t.teardown(() => host.close());
  await host.listen({ port: 0 });
  const registered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  host.useRelay(relay.url);
  await registered;
  const both = await host.createInvitation({ expires: '30m' });
  t.equal(both.invitation.addresses.length, 1, 'a listening host keeps its address');
  t.ok(both.invitation.relay, 'and names its relay');
  const directSession = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const direct = await Helper.connect(both.toURL(), { relayDelayMs: 5_000 });
  t.equal(direct.path, 'direct');
  t.equal((await directSession).path, 'direct', "the host's session says it came directly");
  await direct.close();
  // An address where nothing listens: the relay wins.
  const dead = await host.createInvitation({ expires: '30m', addresses: ['127.0.0.1:1'] });
  const viaRelay = await Helper.connect(dead.toURL());
  t.equal(viaRelay.path, 'relay');
  await viaRelay.waitForFrame(() => true);
  await viaRelay.close();
});

t.test('an unknown rendezvous id is refused and audited with a short hash', async (t) => {
  const { relay, audit } = await relayAt(t);
  await relayedHost(t, relay);
  const id = nodeRandom(16);
  await t.rejects(dialRelay(relay.url, id), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'UNKNOWN_ID' });
  await until(() => audit.some((e) => e.reason === 'UNKNOWN_ID'), 'the audit line');
  const line = audit.find((e) => e.reason === 'UNKNOWN_ID')!;
  t.match(line, { event: 'refused', id: /^[0-9a-f]{12}$/ });
  t.notOk(JSON.stringify(line).includes(Buffer.from(id).toString('hex')));
});

t.test('a revoked invitation is no longer served at the relay', async (t) => {
  const { relay } = await relayAt(t);
  const { host, invitation } = await relayedHost(t, relay);
  host.revokeInvitation(invitation.id);
  const id = invitation.invitation.relay!.id;
  // The refresh is a message on the control connection: wait until the relay answers UNKNOWN_ID.
  let refusal: string | undefined;
  for (let i = 0; i < 50 && refusal === undefined; i++) {
    try {
      const s = await dialRelay(relay.url, id, { timeoutMs: 2_000 });
      s.destroy();
      await new Promise((r) => setTimeout(r, 20));
    } catch (err) {
      refusal = (err as { refusal?: string }).refusal;
    }
  }
  t.equal(refusal, 'UNKNOWN_ID');
});

/** Opens a raw control connection and returns it with the relay's challenge. */
async function rawControl(relay: RelayServer) {
  const ws = new WebSocket(relayEndpoint(relay.url, '/tessera-relay/1/host'));
  ws.binaryType = 'nodebuffer';
  const messages: ReturnType<typeof decodeRelayMessage>[] = [];
  let closed = false;
  ws.on('message', (d: Buffer) => messages.push(decodeRelayMessage(new Uint8Array(d))));
  ws.on('close', () => (closed = true));
  ws.on('error', () => {});
  await until(() => messages.length > 0, 'the challenge');
  return { ws, messages, isClosed: () => closed };
}

t.test('a wrong registration proof is refused and audited; a host off the list is refused', async (t) => {
  const allowed = dhKeyPair(nodeRandom(32));
  const { relay, audit } = await relayAt(t, { allowedHosts: [allowed.publicKey] });
  t.notOk(relay.open, 'a relay with a host list is not open');
  const { ws, messages, isClosed } = await rawControl(relay);
  const challenge = messages[0]!;
  t.equal(challenge.type, 'challenge');
  // Claims the allowed key without its secret.
  ws.send(encodeRelayMessage({ type: 'register', hostKey: allowed.publicKey, mac: nodeRandom(64) }));
  await until(() => isClosed(), 'the relay closing');
  t.same(messages[1], { type: 'refused', code: 3 }, 'refused with BAD_PROOF');
  t.ok(audit.some((e) => e.event === 'register-refused' && e.reason === 'BAD_PROOF'), 'audited');
  t.equal(relay.hosts, 0);

  // A real proof, for a key not on the list.
  const stranger = dhKeyPair(nodeRandom(32));
  const lost = new Promise<{ refusal?: string; code: string }>((resolve) => {
    const reg = new RelayRegistration({ url: relay.url, hostKey: stranger, ids: () => [], onStream: () => {} });
    reg.once('lost', (err) => {
      reg.close();
      resolve(err);
    });
    reg.start();
  });
  t.match(await lost, { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'HOST_NOT_ALLOWED' });
  t.ok(audit.some((e) => e.reason === 'HOST_NOT_ALLOWED'));
  // And the allowed host registers.
  const ok = new RelayRegistration({ url: relay.url, hostKey: allowed, ids: () => [], onStream: () => {} });
  t.teardown(() => ok.close());
  await new Promise((resolve) => ok.once('registered', resolve).start());
  t.equal(relay.hosts, 1);
});

/** A host that registers and serves `ids` by hand, and never opens a data connection. */
async function silentHost(relay: RelayServer, ids: Uint8Array[]) {
  const kp = dhKeyPair(nodeRandom(32));
  const c = await rawControl(relay);
  const ch = c.messages[0]!;
  if (ch.type !== 'challenge') throw new Error('no challenge');
  c.ws.send(encodeRelayMessage({ type: 'register', hostKey: kp.publicKey, mac: relayRegisterMac(kp.secretKey, kp.publicKey, ch.nonce, ch.relayKey) }));
  await until(() => c.messages.length > 1, 'registered');
  c.ws.send(encodeRelayMessage({ type: 'serve', ids }));
  return c;
}

t.test('a helper waiting for a host that never opens the data connection is refused with PAIRING_TIMEOUT', async (t) => {
  const { relay, audit } = await relayAt(t, { pairingTimeoutMs: 300 });
  const id = nodeRandom(16);
  const c = await silentHost(relay, [id]);
  t.teardown(() => c.ws.terminate());
  t.same(c.messages[1], { type: 'registered' });
  // The serve message and the dial race on two sockets: retry while the id is not yet known.
  let err: { refusal?: string } | undefined;
  for (let i = 0; i < 50; i++) {
    err = await dialRelay(relay.url, id).then(() => undefined, (e: { refusal?: string }) => e);
    if (err?.refusal !== 'UNKNOWN_ID') break;
  }
  t.match(err, { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'PAIRING_TIMEOUT' });
  const incoming = c.messages.find((m) => m.type === 'incoming');
  t.ok(incoming, 'the host was told of the helper');
  if (incoming?.type === 'incoming') t.match(incoming.peer, /^127\.0\.0\.1:\d+$/, 'with the helper\'s address');
  t.ok(audit.some((e) => e.event === 'refused' && e.reason === 'PAIRING_TIMEOUT'), 'audited');
  // The token of a timed-out pairing is spent.
  if (incoming?.type === 'incoming') {
    const data = new WebSocket(relayEndpoint(relay.url, '/tessera-relay/1/data'));
    data.binaryType = 'nodebuffer';
    const answer = await new Promise<ReturnType<typeof decodeRelayMessage>>((resolve, reject) => {
      data.on('open', () => data.send(encodeRelayMessage({ type: 'accept', token: incoming.token })));
      data.on('message', (d: Buffer) => resolve(decodeRelayMessage(new Uint8Array(d))));
      data.on('error', reject);
    });
    t.same(answer, { type: 'refused', code: 5 }, 'UNKNOWN_TOKEN');
    data.terminate();
  }
});

t.test('connections per address are capped, and a freed slot is usable again', async (t) => {
  const { relay, audit } = await relayAt(t, { maxConnectionsPerAddress: 2 });
  const a = await rawControl(relay);
  const b = await rawControl(relay);
  t.teardown(() => {
    a.ws.terminate();
    b.ws.terminate();
  });
  await t.rejects(dialRelay(relay.url, nodeRandom(16)), { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'BUSY' });
  t.ok(audit.some((e) => e.event === 'refused' && e.reason === 'TOO_MANY_FROM_ADDRESS'), 'audited');
  a.ws.terminate();
  let refusal: string | undefined;
  for (let i = 0; i < 100 && refusal !== 'UNKNOWN_ID'; i++) {
    refusal = await dialRelay(relay.url, nodeRandom(16)).then(() => 'paired', (e: { refusal?: string }) => e.refusal);
    if (refusal !== 'UNKNOWN_ID') await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(refusal, 'UNKNOWN_ID', 'with a slot free the relay answers the helper');
});

t.test('the relay dying mid-session ends both sides with a clear code; the host re-registers and the same invitation works again', async (t) => {
  const first = await startRelay({ port: 0, host: '127.0.0.1' });
  const port = first.port;
  const { host, invitation } = await relayedHost(t, first.url);
  const lost: { code: string }[] = [];
  host.on('relay-lost', (err: { code: string }) => lost.push(err));
  const sessionP = new Promise<HostSessionHandle>((resolve) => host.once('session', resolve));
  const helper = await Helper.connect(invitation.toURL());
  t.equal(helper.path, 'relay');
  const session = await sessionP;
  await helper.waitForFrame(() => true);
  const helperClosed = helper.closedPromise();
  const hostClosed = session.closedPromise();
  await first.close();
  const [hc, sc] = await Promise.all([helperClosed, hostClosed]);
  t.equal(hc.reason, 'connection-lost');
  t.equal(hc.error?.code, 'TESSERA_ERR_RELAY_LOST', 'the helper says the relay went away');
  t.equal(sc.reason, 'connection-lost', 'the host session ends too');
  t.equal(sc.error?.code, 'TESSERA_ERR_RELAY_LOST', 'and the host says the relay went away');
  await until(() => lost.length > 0, 'the host noticing');
  t.equal(lost[0]!.code, 'TESSERA_ERR_RELAY_LOST');
  t.notOk(host.sessions.length, 'no session is left');

  // The relay comes back on the same port: the host re-registers by itself, and the invitation works again.
  const reregistered = new Promise<void>((resolve) => host.once('relay-registered', () => resolve()));
  const second = await startRelay({ port, host: '127.0.0.1' });
  t.teardown(() => second.close());
  await reregistered;
  let again: Helper | undefined;
  for (let i = 0; i < 50 && !again; i++) {
    // The served ids follow the registration on the control connection; retry while they are on their way.
    again = await Helper.connect(invitation.toURL()).catch((err: { refusal?: string }) => {
      if (err.refusal !== 'UNKNOWN_ID') throw err;
      return undefined;
    });
  }
  t.ok(again, 'the same invitation connects through the new relay');
  t.equal(again!.path, 'relay');
  await again!.waitForFrame(() => true);
  await again!.close();
});

/** A raw pair through the relay: the host side's stream (from a registration) and the helper side's. */
async function rawPair(t: Teardown, relay: RelayServer) {
  const kp = dhKeyPair(nodeRandom(32));
  const id = nodeRandom(16);
  let hostSide: import('node:stream').Duplex | undefined;
  const reg = new RelayRegistration({ url: relay.url, hostKey: kp, ids: () => [id], onStream: (s) => (hostSide = s) });
  t.teardown(() => reg.close());
  await new Promise((resolve) => reg.once('registered', resolve).start());
  let helperSide: import('node:stream').Duplex | undefined;
  for (let i = 0; i < 50 && !helperSide; i++) {
    helperSide = await dialRelay(relay.url, id).catch((err: { refusal?: string }) => {
      if (err.refusal !== 'UNKNOWN_ID') throw err;
      return undefined;
    });
  }
  await until(() => hostSide !== undefined, 'the host side');
  t.teardown(() => {
    helperSide!.destroy();
    hostSide!.destroy();
  });
  return { host: hostSide!, helper: helperSide! };
}

const closed = (s: import('node:stream').Duplex) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

t.test('the splice keeps order and applies backpressure: while one side does not read, the relay stops reading the other', async (t) => {
  let forwarded = 0;
  const { relay } = await relayAt(t, { maxPairBytesPerSecond: 0, tap: (d, chunk) => d === 'to-host' && (forwarded += chunk.byteLength) });
  const { host, helper } = await rawPair(t, relay);
  host.pause();
  const CHUNK = 64 * 1024;
  const CHUNKS = 512; // 32 MiB queued by the writer at once
  for (let i = 0; i < CHUNKS; i++) helper.write(Buffer.alloc(CHUNK, i & 0xff));
  // Wait until the relay has stopped moving bytes (unchanged over 20 checks), within a bounded number of checks.
  let last = -1;
  let still = 0;
  for (let i = 0; i < 1000 && still < 20; i++) {
    await new Promise((r) => setTimeout(r, 10));
    still = forwarded === last ? still + 1 : 0;
    last = forwarded;
  }
  t.ok(forwarded < (CHUNKS * CHUNK) / 2, `the relay held back: it forwarded ${forwarded} of ${CHUNKS * CHUNK} bytes while the host did not read`);
  const received: Buffer[] = [];
  let bytes = 0;
  host.on('data', (d: Buffer) => {
    received.push(d);
    bytes += d.length;
  });
  host.resume();
  await until(() => bytes === CHUNKS * CHUNK, 'every byte', 3000);
  const all = Buffer.concat(received);
  let inOrder = true;
  for (let i = 0; i < CHUNKS && inOrder; i++) inOrder = all[i * CHUNK] === (i & 0xff) && all[i * CHUNK + CHUNK - 1] === (i & 0xff);
  t.ok(inOrder, 'every byte arrives, in order, once the host reads');
});

t.test('a pair over its byte cap is ended and audited', async (t) => {
  const { relay, audit } = await relayAt(t, { maxPairBytes: 100_000 });
  const { host, helper } = await rawPair(t, relay);
  host.resume();
  helper.resume();
  helper.on('error', () => {});
  host.on('error', () => {});
  for (let i = 0; i < 4; i++) helper.write(Buffer.alloc(50_000, 1));
  await Promise.all([closed(helper), closed(host)]);
  await until(() => audit.some((e) => e.event === 'ended'), 'the audit line');
  t.match(audit.find((e) => e.event === 'ended'), { reason: 'BYTE_CAP' });
});

t.test('an idle pair is ended and audited', async (t) => {
  const { relay, audit } = await relayAt(t, { idleTimeoutMs: 200 });
  const { host, helper } = await rawPair(t, relay);
  host.resume();
  helper.resume();
  helper.on('error', () => {});
  host.on('error', () => {});
  await Promise.all([closed(helper), closed(host)]);
  await until(() => audit.some((e) => e.event === 'ended'), 'the audit line');
  t.match(audit.find((e) => e.event === 'ended'), { reason: 'IDLE', bytes: 0 });
});

/** A raw helper connection: sends Connect for `id`, records every message and the close status and reason. */
async function rawHelper(relay: RelayServer, id: Uint8Array, send = true) {
  const ws = new WebSocket(relayEndpoint(relay.url, '/tessera-relay/1/connect'));
  ws.binaryType = 'nodebuffer';
  const messages: ReturnType<typeof decodeRelayMessage>[] = [];
  let close: { code: number; reason: string } | undefined;
  ws.on('message', (d: Buffer) => messages.push(decodeRelayMessage(new Uint8Array(d))));
  ws.on('close', (code: number, reason: Buffer) => (close = { code, reason: reason.toString() }));
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  if (send) ws.send(encodeRelayMessage({ type: 'connect', id }));
  return { ws, messages, closed: () => close };
}

t.test('RLY-5: after Refused the relay closes with 1008 and the refusal name as the reason', async (t) => {
  const { relay } = await relayAt(t);
  const h = await rawHelper(relay, nodeRandom(16));
  await until(() => h.closed() !== undefined, 'the relay closing');
  t.same(h.messages, [{ type: 'refused', code: RelayRefusal.UnknownId }], 'Refused UNKNOWN_ID');
  t.same(h.closed(), { code: 1008, reason: 'UNKNOWN_ID' });
});

t.test('RLY-33: a connection that sends no first message is refused MALFORMED and audited HELLO_TIMEOUT', async (t) => {
  const { relay, audit } = await relayAt(t, { helloTimeoutMs: 200 });
  const h = await rawHelper(relay, nodeRandom(16), false);
  await until(() => h.closed() !== undefined, 'the relay closing');
  t.same(h.messages, [{ type: 'refused', code: RelayRefusal.Malformed }], 'Refused MALFORMED');
  t.equal(h.closed()?.code, 1008);
  t.ok(audit.some((e) => e.event === 'refused' && e.reason === 'HELLO_TIMEOUT'), 'audited HELLO_TIMEOUT');
  // A host's control connection that never registers is ended the same way.
  const c = await rawControl(relay);
  await until(() => c.isClosed(), 'the relay closing the control connection');
  t.same(c.messages.slice(1), [{ type: 'refused', code: RelayRefusal.Malformed }], 'Refused MALFORMED after the challenge');
});

t.test('RLY-30: helpers waiting for one host are capped; the next is refused BUSY', async (t) => {
  const { relay, audit } = await relayAt(t, { maxPendingPerHost: 2, pairingTimeoutMs: 10_000 });
  const id = nodeRandom(16);
  const host = await silentHost(relay, [id]);
  t.teardown(() => host.ws.terminate());
  // The serve message and the first dial race on two sockets: wait until the relay knows the id.
  let first = await rawHelper(relay, id);
  for (let i = 0; i < 50 && first.messages.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (first.closed()) first = await rawHelper(relay, id);
  }
  const second = await rawHelper(relay, id);
  await until(() => host.messages.filter((m) => m.type === 'incoming').length === 2, 'two helpers announced to the host');
  const third = await rawHelper(relay, id);
  await until(() => third.closed() !== undefined, 'the third refused');
  t.same(third.messages, [{ type: 'refused', code: RelayRefusal.Busy }], 'Refused BUSY');
  t.same(third.closed(), { code: 1008, reason: 'BUSY' });
  t.equal(first.closed(), undefined, 'the first still waits');
  t.equal(second.closed(), undefined, 'the second still waits');
  t.ok(audit.some((e) => e.event === 'refused' && e.reason === 'BUSY'), 'audited');
  for (const h of [first, second]) h.ws.terminate();
});

t.test('RLY-10: an id already served by one host stays with it when another host serves it too', async (t) => {
  const { relay } = await relayAt(t);
  const id = nodeRandom(16);
  const streams: string[] = [];
  const registration = (name: string) => {
    const reg = new RelayRegistration({ url: relay.url, hostKey: dhKeyPair(nodeRandom(32)), ids: () => [id], onStream: (s) => (streams.push(name), s.destroy()) });
    t.teardown(() => reg.close());
    return new Promise<void>((resolve) => reg.once('registered', () => resolve()).start());
  };
  await registration('first');
  // Dial until the relay knows the id (the serve message and the dial race on two sockets).
  const dial = async (): Promise<void> => {
    for (let i = 0; i < 50; i++) {
      const err = await dialRelay(relay.url, id).then((s) => (s.destroy(), undefined), (e: { refusal?: string }) => e);
      if (err?.refusal !== 'UNKNOWN_ID') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await dial();
  await until(() => streams.length === 1, 'the first pairing');
  await registration('second');
  await new Promise((r) => setTimeout(r, 100));
  await dial();
  await until(() => streams.length === 2, 'the second pairing');
  t.same(streams, ['first', 'first'], 'both helpers were paired with the host that served the id first');
});

t.test('RLY-14: a second registration of the same host key replaces the first, which is told REPLACED', async (t) => {
  const { relay, audit } = await relayAt(t);
  const key = dhKeyPair(nodeRandom(32));
  const first = new RelayRegistration({ url: relay.url, hostKey: key, ids: () => [], onStream: () => {}, initialBackoffMs: 60_000, maxBackoffMs: 60_000 });
  t.teardown(() => first.close());
  await new Promise((resolve) => first.once('registered', resolve).start());
  const lost = new Promise<{ refusal?: string; code: string }>((resolve) => first.once('lost', resolve));
  const second = new RelayRegistration({ url: relay.url, hostKey: key, ids: () => [], onStream: () => {} });
  t.teardown(() => second.close());
  await new Promise((resolve) => second.once('registered', resolve).start());
  t.match(await lost, { code: 'TESSERA_ERR_RELAY_REFUSED', refusal: 'REPLACED' }, 'the first registration ends with REPLACED');
  first.close();
  t.ok(audit.some((e) => e.event === 'unregistered' && e.reason === 'REPLACED'), 'audited');
  t.equal(relay.hosts, 1, 'one registration for the key');
});

t.test('RLY-15: a control connection that misses a Pong is dropped', async (t) => {
  const { relay } = await relayAt(t, { pingIntervalMs: 100 });
  const kp = dhKeyPair(nodeRandom(32));
  // A host whose WebSocket does not answer pings.
  const ws = new WebSocket(relayEndpoint(relay.url, '/tessera-relay/1/host'), { autoPong: false });
  ws.binaryType = 'nodebuffer';
  const messages: ReturnType<typeof decodeRelayMessage>[] = [];
  let pings = 0;
  let closed = false;
  ws.on('message', (d: Buffer) => messages.push(decodeRelayMessage(new Uint8Array(d))));
  ws.on('ping', () => pings++);
  ws.on('close', () => (closed = true));
  ws.on('error', () => {});
  await until(() => messages.length > 0, 'the challenge');
  const ch = messages[0]!;
  if (ch.type !== 'challenge') throw new Error('no challenge');
  ws.send(encodeRelayMessage({ type: 'register', hostKey: kp.publicKey, mac: relayRegisterMac(kp.secretKey, kp.publicKey, ch.nonce, ch.relayKey) }));
  await until(() => messages.length > 1, 'registered');
  t.same(messages[1], { type: 'registered' });
  await until(() => closed, 'the relay dropping the silent host');
  t.ok(pings >= 1, `the relay pinged (${pings}) before it dropped the connection`);
  t.equal(relay.hosts, 0);
  // A host that answers (RelayRegistration, through ws's automatic Pong) stays through several intervals.
  const live = new RelayRegistration({ url: relay.url, hostKey: dhKeyPair(nodeRandom(32)), ids: () => [], onStream: () => {} });
  t.teardown(() => live.close());
  let lostLive = false;
  live.on('lost', () => (lostLive = true));
  await new Promise((resolve) => live.once('registered', resolve).start());
  await new Promise((r) => setTimeout(r, 500));
  t.notOk(lostLive, 'a host that answers pings keeps its registration');
  t.equal(relay.hosts, 1);
});

t.test('RLY-15: the host drops a control connection to a relay that misses a Pong, and registers again', async (t) => {
  // A relay double whose WebSocket never answers pings: it challenges, takes any Register and says Registered.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  t.teardown(() => new Promise((r) => server.close(r)));
  await new Promise((r) => server.once('listening', r));
  const relayKey = dhKeyPair(nodeRandom(32)).publicKey;
  let registrations = 0;
  let pings = 0;
  server.on('connection', (ws) => {
    ws.on('ping', () => pings++);
    ws.on('message', (d: Buffer) => {
      if (decodeRelayMessage(new Uint8Array(d)).type === 'register') {
        registrations++;
        ws.send(encodeRelayMessage({ type: 'registered' }));
      }
    });
    ws.send(encodeRelayMessage({ type: 'challenge', nonce: nodeRandom(32), relayKey }));
  });
  const port = (server.address() as { port: number }).port;
  const reg = new RelayRegistration({ url: `ws://127.0.0.1:${port}`, hostKey: dhKeyPair(nodeRandom(32)), ids: () => [], onStream: () => {}, pingIntervalMs: 100, initialBackoffMs: 50, maxBackoffMs: 50 });
  t.teardown(() => reg.close());
  const lost = new Promise<{ code: string }>((resolve) => reg.once('lost', resolve));
  await new Promise((resolve) => reg.once('registered', resolve).start());
  t.match(await lost, { code: 'TESSERA_ERR_RELAY_LOST' }, 'the silent relay is given up with RELAY_LOST');
  t.ok(pings >= 1, `the host pinged (${pings}) before it gave up`);
  await until(() => registrations >= 2, 'the host registering again');
  t.pass('and the host registers again');
});
