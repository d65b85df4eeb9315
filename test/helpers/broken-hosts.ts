/**
 * Deliberately broken hosts for the conformance probes' own tests (test/conformance/probe-host.test.ts): each breaks
 * one rule of the spec, so the probe for that rule must report FAIL with its id.
 * - `scriptedHost`: a real handshake (acceptHandshake), then a session that only does what its script says.
 * - `refusalInTheClear`: a proxy in front of a real Host that turns its sealed refusal into one in the clear.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import nacl from 'tweetnacl';
import { Channel, encodeFrame } from '../../src/framing/index.js';
import { MemoryTicketStore, createInvitation, type Invitation } from '../../src/handshake/index.js';
import { acceptHandshake } from '../../src/transport/handshake-io.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';

/** A broken host on 127.0.0.1 and the invitation to it. */
export interface BrokenHost {
  readonly invitation: Invitation;
  /** Where it listens (for the proxy, not the invitation's address). */
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** A display payload (spec/session.md §6.2) whose update is only a header: the probes read no further. */
export function displayPayload(seq: number, key: boolean, width = 320, height = 240): Uint8Array {
  const p = new Uint8Array(4 + 12);
  const v = new DataView(p.buffer);
  v.setUint32(0, seq);
  p[4] = 1; // version
  p[5] = key ? 1 : 0;
  v.setUint16(10, width);
  v.setUint16(12, height);
  return p;
}

/**
 * A host that runs a correct handshake (admitting every helper for viewing) and then does only what `script` does
 * with the sealed connection: it never reads what the helper sends.
 */
export async function scriptedHost(script: (send: (channel: Channel, payload: Uint8Array) => void) => void): Promise<BrokenHost> {
  const staticKey = nacl.box.keyPair();
  const tickets = new MemoryTicketStore();
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
    acceptHandshake(sock, { staticKey, tickets, onConsent: () => ({ mode: 'view', width: 320, height: 240, codecs: { codec: 1 } }) }).then(
      (est) => script((channel, payload) => sock.write(encodeFrame(channel, payload, est.protector))),
      () => {},
    );
  });
  const port = await listen(server);
  const created = createInvitation({ hostKey: staticKey.publicKey, addresses: [`127.0.0.1:${port}`], expires: { value: 30, units: 'minutes' }, name: 'broken host', now: Date.now, random: nodeRandom, uses: 1 });
  tickets.add(created.ticket);
  return { invitation: created.invitation, port, close: closer(server, sockets) };
}

/**
 * A proxy in front of a real host (at `port`) that forwards every byte, except that a sealed refusal from the host
 * (0x7e) goes on as a refusal in the clear (0x7f) with the code BAD_PROOF: a host that refuses in the clear after it
 * proved its key (against HS-45).
 */
export async function refusalInTheClear(target: { port: number; invitation: Invitation }): Promise<BrokenHost> {
  const sockets = new Set<Socket>();
  const server = createServer((helper) => {
    const host = connect(target.port, '127.0.0.1');
    for (const s of [helper, host]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        helper.destroy();
        host.destroy();
      });
    }
    helper.pipe(host);
    let buf = Buffer.alloc(0);
    let handshake = true;
    host.on('data', (chunk: Buffer) => {
      if (!handshake) return void helper.write(chunk);
      buf = Buffer.concat([buf, chunk]);
      while (handshake && buf.length >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) return;
        const frame = buf.subarray(0, 4 + len);
        buf = buf.subarray(4 + len);
        if (frame[4] === Channel.Handshake && frame[5] === 0x7e) helper.write(encodeFrame(Channel.Handshake, new Uint8Array([0x7f, 0x00, 0x04])));
        else helper.write(frame);
        if (frame[4] === Channel.Handshake && frame[5] === 0x04) handshake = false;
      }
      if (!handshake && buf.length > 0) helper.write(buf);
    });
    host.on('end', () => helper.end());
  });
  const port = await listen(server);
  // The helper dials the proxy (at `port`) with the host's invitation: the handshake never sees the address.
  return { invitation: target.invitation, port, close: closer(server, sockets) };
}
