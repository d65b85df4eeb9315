/**
 * Handshake and AEAD figures (spec/handshake.md §7.2):
 *  - handshakes per second, sans-IO in memory and over TCP on 127.0.0.1;
 *  - sealed-frame throughput at 16 KiB bodies (seal + open) for each transport cipher, plus WebCrypto AES-GCM
 *    (async, as a browser would run it) for reference. Ratios are against tweetnacl secretbox, measured in the same run.
 * Run: node --import tsx bench/handshake.bench.ts [--json]
 */
import { createServer, connect } from 'node:net';
import { randomBytes, webcrypto } from 'node:crypto';
import { AeadFrameProtector, XSalsa20Poly1305, type AeadSuite } from '../src/framing/aead.js';
import { HandshakeInitiator, HandshakeResponder, MemoryTicketStore, createInvitation, dhKeyPair } from '../src/handshake/index.js';
import { NodeAes256Gcm, NodeChaCha20Poly1305, nodeRandom } from '../src/node/crypto.js';
import { acceptHandshake, connectHandshake } from '../src/transport/handshake-io.js';

const JSON_OUT = process.argv.includes('--json');
const FRAME = 16 * 1024;
const results: Record<string, number | string> = {};

function timeFor<T>(minMs: number, fn: () => T): { ops: number; ms: number } {
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    fn();
    ops++;
    now = performance.now();
  }
  return { ops, ms: now - start };
}

function aeadMBps(suite: AeadSuite): number {
  const k1 = new Uint8Array(randomBytes(32)), k2 = new Uint8Array(randomBytes(32));
  const a = new AeadFrameProtector(suite, k1, k2);
  const b = new AeadFrameProtector(suite, k2, k1);
  const body = new Uint8Array(randomBytes(FRAME));
  for (let i = 0; i < 50; i++) b.open(a.seal(body));
  const { ops, ms } = timeFor(1500, () => b.open(a.seal(body)));
  return (ops * FRAME) / 1e6 / (ms / 1000);
}

async function webCryptoMBps(): Promise<number> {
  const raw = randomBytes(32);
  const key = await webcrypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const body = new Uint8Array(randomBytes(FRAME));
  const iv = new Uint8Array(12);
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < 1500) {
    new DataView(iv.buffer).setUint32(8, ops);
    const ct = await webcrypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, body);
    await webcrypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
    ops++;
  }
  return (ops * FRAME) / 1e6 / ((performance.now() - start) / 1000);
}

function inMemoryHandshakes(): number {
  const host = dhKeyPair(nodeRandom(32));
  const store = new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({ hostKey: host.publicKey, addresses: ['127.0.0.1'], expires: { value: 1, units: 'hours' }, name: 'b', now: Date.now, random: nodeRandom });
  store.add(ticket);
  const { ops, ms } = timeFor(2000, () => {
    const ini = HandshakeInitiator.fromInvitation(invitation, { random: nodeRandom });
    const res = new HandshakeResponder({ staticKey: host, tickets: store, clock: Date.now, random: nodeRandom });
    res.receive(ini.next()!);
    ini.receive(res.next()!);
    res.receive(ini.next()!);
    res.accept({ mode: 'control', width: 1, height: 1 });
    ini.receive(res.next()!);
    ini.finish();
    res.finish();
  });
  return ops / (ms / 1000);
}

async function tcpHandshakes(): Promise<number> {
  const host = dhKeyPair(nodeRandom(32));
  const store = new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({ hostKey: host.publicKey, addresses: ['127.0.0.1'], expires: { value: 1, units: 'hours' }, name: 'b', now: Date.now, random: nodeRandom });
  store.add(ticket);
  const server = createServer((sock) => {
    acceptHandshake(sock, { staticKey: host, tickets: store, onConsent: () => ({ mode: 'control', width: 1, height: 1 }) }).then(() => sock.destroy(), () => sock.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < 3000) {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    await connectHandshake(sock, { invitation });
    sock.destroy();
    ops++;
  }
  const rate = ops / ((performance.now() - start) / 1000);
  server.close();
  return rate;
}

const base = aeadMBps(XSalsa20Poly1305);
results['aead.xsalsa20-poly1305.MBps'] = +base.toFixed(1);
for (const suite of [NodeChaCha20Poly1305, NodeAes256Gcm]) {
  const v = aeadMBps(suite);
  results[`aead.${suite.name}.MBps`] = +v.toFixed(1);
  results[`aead.${suite.name}.ratio`] = +(v / base).toFixed(2);
}
const wc = await webCryptoMBps();
results['aead.webcrypto-aes-gcm-async.MBps'] = +wc.toFixed(1);
results['aead.webcrypto-aes-gcm-async.ratio'] = +(wc / base).toFixed(2);
results['handshake.in-memory.perSecond'] = +inMemoryHandshakes().toFixed(1);
results['handshake.tcp-loopback.perSecond'] = +(await tcpHandshakes()).toFixed(1);
results['frameBytes'] = FRAME;

if (JSON_OUT) console.log(JSON.stringify(results));
else {
  console.log(`AEAD seal+open, ${FRAME}-byte frames (ratio vs tweetnacl secretbox in this run):`);
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(40)} ${v}`);
}
