/**
 * Deliberately broken helpers for the helper probes' own tests (test/conformance/probe-helper.test.ts): each breaks
 * one rule of the spec, so the probe for that rule must report FAIL with its id. Each is a real handshake
 * (connectHandshake) and a HelperSession with a TileDecoder, on which one behaviour is changed:
 * - `ack-without-decoding`: acknowledges every update as it arrives, malformed or not (against CODEC-37, SES-20);
 * - `never-ack`: decodes every update and never acknowledges one (against SES-7);
 * - `ignore-seq-gaps`: decodes a non-KEY update whose codec seq skips as if it were the next one (against CODEC-9);
 * - `drop-without-close`: on a malformed update drops the connection without `close {protocol-error}` (against SES-20);
 * - `ack-decoded-zero`: acknowledges with `ack {seq, decoded: 0}`, sealed by hand (against SES-7).
 */
import { connect } from 'node:net';
import { FflateInflateBackend, TileDecoder } from '../../src/codec/index.js';
import { Channel, encodeControl, encodeFrame } from '../../src/framing/index.js';
import type { Invitation } from '../../src/handshake/index.js';
import { newHolderKey } from '../../src/handshake/index.js';
import { HelperSession } from '../../src/session/helper-session.js';
import { connectHandshake } from '../../src/transport/handshake-io.js';
import { nodeRandom } from '../../src/transport/handshake-crypto.js';

export type BrokenBehaviour = 'ack-without-decoding' | 'never-ack' | 'ignore-seq-gaps' | 'drop-without-close' | 'ack-decoded-zero';

/** One connection of a broken helper; resolves when the connection ends. */
async function brokenHelperOnce(invitation: Invitation, behaviour: BrokenBehaviour, holder: ReturnType<typeof newHolderKey>, signal: AbortSignal): Promise<void> {
  const address = invitation.addresses[0]!;
  const socket = connect(address.port, address.host);
  socket.on('error', () => {});
  const est = await connectHandshake(socket, { invitation, holder, requestMode: 'view', signal });
  const session = new HelperSession({ deframer: est.deframer, seal: est.protector, now: Date.now(), mode: est.mode });
  const decoder = new TileDecoder({ maxWidth: 4096, maxHeight: 4096, inflate: new FflateInflateBackend() });
  let lastCodecSeq = 0;
  const flush = (): void => {
    for (let out = session.pollTransmit(); out; out = session.pollTransmit()) est.link.send(out);
  };
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      clearInterval(timer);
      resolve();
    };
    const timer = setInterval(() => {
      session.handleTimeout(Date.now());
      pump();
    }, 1_000);
    signal.addEventListener('abort', () => est.link.destroy(), { once: true });
    function pump(): void {
      for (let ev = session.pollEvent(); ev; ev = session.pollEvent()) {
        if (ev.type === 'update') {
          if (behaviour === 'ack-without-decoding') {
            session.acknowledge(ev.seq, Date.now());
            continue;
          }
          const update = ev.update;
          const view = new DataView(update.buffer, update.byteOffset, update.byteLength);
          if (behaviour === 'ignore-seq-gaps' && update.byteLength >= 6 && (update[1]! & 1) === 0) view.setUint32(2, (lastCodecSeq + 1) >>> 0);
          try {
            decoder.decode(update);
          } catch (err) {
            if (behaviour === 'drop-without-close') {
              est.link.destroy();
              return;
            }
            session.abort(err);
            continue;
          }
          if (update.byteLength >= 6) lastCodecSeq = view.getUint32(2);
          if (behaviour === 'ack-decoded-zero') {
            flush();
            est.link.send(encodeFrame(Channel.Control, encodeControl({ t: 'ack', seq: ev.seq, decoded: 0 }), est.protector));
          } else if (behaviour !== 'never-ack') session.acknowledge(ev.seq, Date.now());
        } else if (ev.type === 'closed') {
          flush();
          est.link.end();
          return;
        }
      }
      flush();
    }
    est.link.setHandler({
      data: (chunk) => {
        session.handleBytes(chunk, Date.now());
        pump();
      },
      closed: () => {
        session.handleTransportClosed();
        finish();
      },
    });
    est.link.resume();
    session.handleBytes(new Uint8Array(0), Date.now());
    pump();
  });
}

/** A broken helper connecting again and again (one holder key, one connection at a time) until `signal` aborts. */
export async function brokenHelperLoop(invitation: Invitation, behaviour: BrokenBehaviour, signal: AbortSignal): Promise<void> {
  const holder = newHolderKey(nodeRandom);
  while (!signal.aborted) {
    try {
      await brokenHelperOnce(invitation, behaviour, holder, signal);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
