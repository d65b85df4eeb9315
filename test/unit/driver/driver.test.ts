/**
 * The one connection driver (src/driver) over a pure in-memory Link with no Node stream under it: both handshakes,
 * both sessions, the helper's decode-paint-acknowledge path, deadlines, a link that closes or backs up, and the
 * bytes that come with the handshake's last message. What passes here passes on every transport adapter.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MemoryTicketStore, createInvitation, dhKeyPair, HandshakeInitiator, type Invitation } from '../../../src/handshake/index.js';
import { TileEncoder, TileDecoder, createFramebuffer } from '../../../src/codec/index.js';
import { FflateInflateBackend } from '../../../src/codec/backends.js';
import { HostSession, type HostSessionEvent } from '../../../src/session/host-session.js';
import { driveInitiator, driveResponder, HelperConnection, SessionDriver, type CloseInfo, type Established } from '../../../src/driver/index.js';
import type { AuditEvent } from '../../../src/handshake/audit.js';
import { NODE_CIPHERS, scryptKdf } from '../../../src/transport/handshake-crypto.js';
import { ZlibDeflateBackend } from '../../../src/node/zlib-backend.js';
import { createLinkPair, type TestLink } from '../../helpers/link-pair.js';

const random = (n: number) => new Uint8Array(randomBytes(n));
const hostKey = dhKeyPair(random(32));
const W = 96;
const H = 64;

function ticket(): { store: MemoryTicketStore; invitation: Invitation } {
  const store = new MemoryTicketStore();
  const { invitation, ticket } = createInvitation({ hostKey: hostKey.publicKey, addresses: ['127.0.0.1'], expires: { value: 10, units: 'minutes' }, name: 'Host', now: Date.now, random });
  store.add(ticket);
  return { store, invitation };
}

function responder(link: TestLink, store: MemoryTicketStore, audit: AuditEvent[] = [], extra: { timeoutMs?: number; consentTimeoutMs?: number; consent?: () => Promise<'decline' | { mode: 'view'; width: number; height: number }> } = {}): Promise<Established> {
  return driveResponder(link, {
    staticKey: hostKey,
    tickets: store,
    clock: Date.now,
    random,
    ciphers: NODE_CIPHERS,
    audit: (e) => audit.push(e),
    onConsent: extra.consent ?? (async () => ({ mode: 'view', width: W, height: H })),
    ...(extra.timeoutMs !== undefined ? { timeoutMs: extra.timeoutMs } : {}),
    ...(extra.consentTimeoutMs !== undefined ? { consentTimeoutMs: extra.consentTimeoutMs } : {}),
  });
}

function initiator(invitation: Invitation): HandshakeInitiator {
  return HandshakeInitiator.fromInvitation(invitation, { random, ciphers: NODE_CIPHERS, kdf: scryptKdf, requestMode: 'view' });
}

/** A test picture: a diagonal gradient with a square whose place depends on `k`. */
function picture(k: number) {
  const fb = createFramebuffer(W, H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      const inSquare = x >= k && x < k + 16 && y >= 8 && y < 24;
      fb.data[i] = inSquare ? 255 : (x * 2) & 0xff;
      fb.data[i + 1] = inSquare ? 0 : (y * 3) & 0xff;
      fb.data[i + 2] = 128;
      fb.data[i + 3] = 255;
    }
  }
  return fb;
}

t.test('a handshake and a session run end to end over a pure Link: frames pixel-exact, chat both ways, the close reason', async (t) => {
  const [hostLink, helperLink] = createLinkPair();
  const { store, invitation } = ticket();
  const audit: AuditEvent[] = [];
  const [hostEst, helperEst] = await Promise.all([responder(hostLink, store, audit), driveInitiator(helperLink, initiator(invitation))]);
  t.equal(hostEst.keys.sessionId, helperEst.keys.sessionId, 'both ends derived the same session');
  t.same(audit.map((e) => e.decision), ['accepted']);

  const hostEvents: HostSessionEvent['type'][] = [];
  const hostChats: string[] = [];
  const session = new HostSession({ deframer: hostEst.deframer, seal: hostEst.protector, now: Date.now(), mode: hostEst.mode, maxMode: 'view', width: W, height: H, clock: Date.now });
  const host = new SessionDriver(session, hostLink, {
    clock: Date.now,
    onEvent: (ev) => {
      hostEvents.push(ev.type);
      if (ev.type === 'chat') hostChats.push(ev.text);
    },
  });
  host.start();

  const painted: number[] = [];
  const helperChats: string[] = [];
  let closeInfo: CloseInfo | undefined;
  const decoder = new TileDecoder({ maxWidth: W, maxHeight: H, inflate: new FflateInflateBackend() });
  let latest = createFramebuffer(W, H);
  const helper = new HelperConnection(helperEst, decoder, {
    clock: Date.now,
    events: {
      frame: (result, seq) => {
        latest = result.framebuffer;
        painted.push(seq);
      },
      chat: (text) => helperChats.push(text),
      closed: (info) => (closeInfo = info),
    },
  });
  helper.start();

  const encoder = new TileEncoder({ width: W, height: H, deflate: new ZlibDeflateBackend() });
  for (let k = 0; k < 5; k++) {
    const frame = picture(k * 7);
    const update = encoder.encode(frame, undefined)!;
    const seq = session.sendUpdate(update.bytes.slice(), Date.now());
    host.flush();
    await t.resolves(waitFor(() => painted.includes(seq)), `update ${seq} painted`);
    t.same(Buffer.from(latest.data), Buffer.from(frame.data), `frame ${k} arrives pixel-exact`);
    await waitFor(() => session.decodedSeq === seq);
  }
  t.ok(hostEvents.includes('ack'), 'the helper acknowledged after painting');
  t.equal(helper.stats.frames, 5);

  helper.chat('hello host');
  session.chat('hello helper', Date.now());
  host.pump();
  await waitFor(() => hostChats.length === 1 && helperChats.length === 1);
  t.same([hostChats, helperChats], [['hello host'], ['hello helper']]);

  session.close('host-ended', 'done for today');
  host.pump();
  await waitFor(() => closeInfo !== undefined);
  t.match(closeInfo, { reason: 'host-ended', message: 'done for today', byPeer: true });
  await waitFor(() => helperLink.closed && hostLink.closed);
  t.ok(host.closed, 'the host side delivered its close too');
});

t.test('frames that arrive together with the handshake’s last message reach the session', async (t) => {
  const [hostLink, helperLink] = createLinkPair();
  const { store, invitation } = ticket();
  // Hold the helper's side of the link from the consent step on, until Welcome and the first update are both
  // queued: they then arrive in one chunk.
  const hostPromise = responder(hostLink, store, [], {
    consent: async () => {
      helperLink.pause();
      return { mode: 'view', width: W, height: H };
    },
  });
  const helperPromise = driveInitiator(helperLink, initiator(invitation));
  const hostEst = await hostPromise;
  const session = new HostSession({ deframer: hostEst.deframer, seal: hostEst.protector, now: Date.now(), mode: 'view', maxMode: 'view', width: W, height: H, clock: Date.now });
  const host = new SessionDriver(session, hostLink, { clock: Date.now, onEvent: () => {} });
  host.start();
  const encoder = new TileEncoder({ width: W, height: H, deflate: new ZlibDeflateBackend() });
  const frame = picture(3);
  session.sendUpdate(encoder.encode(frame, undefined)!.bytes.slice(), Date.now());
  host.flush();
  helperLink.resume();
  const helperEst = await helperPromise;
  t.ok(helperEst.deframer.bufferedBytes > 0, 'the update came in with Welcome');
  let painted: Uint8Array | undefined;
  const helper = new HelperConnection(helperEst, new TileDecoder({ maxWidth: W, maxHeight: H, inflate: new FflateInflateBackend() }), {
    clock: Date.now,
    events: { frame: (r) => (painted = r.framebuffer.data.slice()), closed: () => {} },
  });
  helper.start();
  await waitFor(() => painted !== undefined);
  t.same(Buffer.from(painted!), Buffer.from(frame.data), 'decoded pixel-exact');
  t.ok(helper.stats.bytesReceived >= helperEst.deframer.bufferedBytes, 'those bytes count as received');
  helper.close();
  await waitFor(() => host.closed);
});

t.test('the handshake deadline: a silent peer is dropped and audited as a timeout', async (t) => {
  const [hostLink] = createLinkPair();
  const { store } = ticket();
  const audit: AuditEvent[] = [];
  await t.rejects(responder(hostLink, store, audit, { timeoutMs: 50 }), { code: 'TESSERA_ERR_HANDSHAKE_TIMEOUT' });
  t.ok(hostLink.closed, 'the link is destroyed');
  t.match(audit, [{ decision: 'timeout', code: 'TESSERA_ERR_HANDSHAKE_TIMEOUT' }]);
});

t.test('the consent deadline: a host user who never answers declines', async (t) => {
  const [hostLink, helperLink] = createLinkPair();
  const { store, invitation } = ticket();
  const audit: AuditEvent[] = [];
  const never = () => new Promise<never>(() => {});
  const results = await Promise.allSettled([responder(hostLink, store, audit, { consentTimeoutMs: 50, consent: never }), driveInitiator(helperLink, initiator(invitation))]);
  t.match(results, [{ status: 'rejected', reason: { refusal: 'USER_DECLINED' } }, { status: 'rejected', reason: { refusal: 'USER_DECLINED' } }]);
  t.match(audit, [{ decision: 'refused', code: 'USER_DECLINED' }]);
});

t.test('a link that closes during the handshake is TESSERA_ERR_CLOSED on both sides', async (t) => {
  const [hostLink, helperLink] = createLinkPair();
  const { store, invitation } = ticket();
  const audit: AuditEvent[] = [];
  const host = responder(hostLink, store, audit, { consent: () => new Promise(() => {}) });
  const helper = driveInitiator(helperLink, initiator(invitation));
  await waitFor(() => helperLink.sent.length >= 2);
  helperLink.destroy();
  await t.rejects(host, { code: 'TESSERA_ERR_CLOSED' });
  await t.rejects(helper, { code: 'TESSERA_ERR_CLOSED' });
  t.match(audit.at(-1), { decision: 'error', code: 'TESSERA_ERR_CLOSED' });
});

t.test('cancelling with a signal rejects with AbortError and drops the link', async (t) => {
  const [, helperLink] = createLinkPair();
  const { invitation } = ticket();
  const ctrl = new AbortController();
  const p = driveInitiator(helperLink, initiator(invitation), { signal: ctrl.signal });
  ctrl.abort();
  await t.rejects(p, { code: 'ABORT_ERR' });
  t.ok(helperLink.closed);
});

t.test('a peer that stops reading: once its link is over the cap the session ends with LIMIT_EXCEEDED', async (t) => {
  const [hostLink, helperLink] = createLinkPair({ cap: 64 * 1024 });
  const { store, invitation } = ticket();
  const [hostEst] = await Promise.all([responder(hostLink, store), driveInitiator(helperLink, initiator(invitation))]);
  // The helper never takes another byte.
  helperLink.pause();
  let closed: { type: string; error?: { code: string } } | undefined;
  const session = new HostSession({ deframer: hostEst.deframer, seal: hostEst.protector, now: Date.now(), mode: 'view', maxMode: 'view', width: W, height: H, clock: Date.now });
  const host = new SessionDriver(session, hostLink, { clock: Date.now, onEvent: (ev) => ev.type === 'closed' && (closed = ev) });
  host.start();
  for (let i = 0; i < 100 && !host.closed; i++) {
    session.clipboard('x'.repeat(8 * 1024), Date.now());
    host.pump();
  }
  t.ok(host.closed, 'the session closed');
  t.match(closed, { type: 'closed', error: { code: 'TESSERA_ERR_LIMIT_EXCEEDED' } });
  t.ok(hostLink.closed, 'and the link was dropped');
  t.ok(host.bytesSent <= 64 * 1024 + 16 * 1024, `no more than the cap was sent (${host.bytesSent} bytes)`);
});

/** Polls `cond` on timers (the driver's work is on microtasks and timers); rejects after 5 s. */
async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}
