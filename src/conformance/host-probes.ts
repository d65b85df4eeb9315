/**
 * `tessera conformance host`: probes that act as a helper against a host, each on its own connection, and check
 * what the host sends against the requirements of spec/conformance.md. Every probe proves the same holder key, so
 * the invitation counts the whole run as one returning helper (spec/handshake.md §2.5, HS-21); the host must accept
 * each connection (run it with `--accept auto`). Every probe asks for view only: no input reaches the host's desktop.
 */
import nacl from 'tweetnacl';
import { Channel, encodeFrame } from '../framing/index.js';
import { CipherId, XSalsa20Poly1305, type AeadSuite } from '../framing/aead.js';
import { HandshakeInitiator, MessageType, decodeRefusal, encodeClientHello, type Mode } from '../handshake/index.js';
import { NodeAes256Gcm, NodeChaCha20Poly1305, nodeRandom } from '../transport/handshake-crypto.js';
import { CloseReason } from '../session/constants.js';
import { fail, notApplicable, pass, type Probe, type ProbeContext, type ProbeVerdict } from './probe.js';
import { ProbeSession, RawConnection, runHandshake, updateHeader, type HandshakeRun, type HostTarget } from './wire.js';

/** How long a probe waits for one answer of the host. */
const ANSWER_MS = 5_000;
/** How long a probe waits for the host to close a connection it must close at once. */
const CLOSE_MS = 3_000;
/** The handshake deadline of spec/handshake.md §8 (HS-67), plus a margin. */
const HANDSHAKE_DEADLINE_MS = 12_000;
/** The most updates a host may have in flight (spec/session.md §6.3, SES-9). */
const MAX_IN_FLIGHT_CEILING = 16;
/** How long the flow-control probe withholds acknowledgements. */
const WITHHOLD_MS = 4_000;

type Ctx = ProbeContext<HostTarget>;

/** The helper's handshake machine for the target, with the run's holder key (for probes, and for tests that drive a host by hand). */
export function initiatorFor(t: HostTarget, o: { ciphers?: readonly AeadSuite[]; requestMode?: Mode; wrongSecret?: boolean } = {}): HandshakeInitiator {
  const inv = t.invitation;
  return new HandshakeInitiator({
    hostKey: inv.hostKey,
    auth: {
      kind: 'ticket',
      ticketId: inv.ticketId,
      secret: o.wrongSecret ? nacl.randomBytes(32) : inv.secret,
      passwordKey: inv.passwordSalt && t.password !== undefined ? t.kdf(t.password, inv.passwordSalt) : undefined,
      holder: t.holder,
    },
    requestMode: o.requestMode ?? 'view',
    random: nodeRandom,
    ciphers: o.ciphers ?? [NodeAes256Gcm, NodeChaCha20Poly1305, XSalsa20Poly1305],
  });
}

/** Why a handshake that should have been admitted was not, as a verdict (n/a when the target refused on its terms). */
function notAdmitted(run: HandshakeRun): ProbeVerdict {
  if (run.end === 'refused') {
    return notApplicable(`the host refused the helper (${run.error?.message ?? 'refused'}); run the target with --accept auto; each run of the suite is one more helper of the invitation (--uses N for N runs)`);
  }
  if (run.end === 'error') return fail(`the handshake failed on what the host sent: ${run.error?.message ?? 'error'}`);
  return fail(run.end === 'closed' ? `the host closed the connection ${run.helloReceived ? 'after ServerHello' : 'before ServerHello'}` : `no ${run.helloReceived ? 'Welcome' : 'ServerHello'} within ${ANSWER_MS / 1000} s`);
}

/** Connects, runs a handshake that should be admitted, and starts a session on it. */
async function admitted(ctx: Ctx, o: { ciphers?: readonly AeadSuite[]; autoAck?: boolean } = {}): Promise<{ session: ProbeSession } | { verdict: ProbeVerdict }> {
  const conn = await RawConnection.open(ctx.target, ctx.signal);
  const run = await runHandshake(conn, initiatorFor(ctx.target, o.ciphers ? { ciphers: o.ciphers } : {}), ANSWER_MS);
  if (run.end !== 'done') {
    conn.close();
    return { verdict: notAdmitted(run) };
  }
  return { session: new ProbeSession(conn, run.result!, { signal: ctx.signal, autoAck: o.autoAck ?? true }) };
}

/** Describes how a session ended, for a reason. */
function ended(s: ProbeSession): string {
  if (s.localError) return `the host sent something this helper must reject: ${s.localError.message}`;
  if (s.peerClose) return `the host closed the session (${s.peerClose.reason}${s.peerClose.message ? `: ${s.peerClose.message}` : ''})`;
  return 'the host closed the connection';
}

const isOpen = (s: ProbeSession): boolean => !s.transportClosed && !s.peerClose && !s.localError;

/** Handshake offering only one cipher, then a sealed ping answered by a sealed pong. */
function cipherProbe(suite: AeadSuite, name: string): Probe<HostTarget> {
  const mandatory = suite.id === CipherId.XSalsa20Poly1305;
  return {
    name: `cipher-${suite.id}`,
    ids: mandatory ? ['HS-63', 'HS-31', 'HS-59'] : ['HS-31', 'HS-59'],
    title: `handshake offering only cipher ${suite.id} (${name}), then a sealed ping and pong`,
    async run(ctx) {
      const conn = await RawConnection.open(ctx.target, ctx.signal);
      const run = await runHandshake(conn, initiatorFor(ctx.target, { ciphers: [suite] }), ANSWER_MS);
      if (run.end !== 'done') {
        conn.close();
        if (!mandatory && !run.helloReceived && (run.end === 'closed' || run.end === 'timeout')) {
          return notApplicable(`the host does not run cipher ${suite.id}: it ${run.end === 'closed' ? 'closed the connection' : 'did not answer'} at a ClientHello offering only it`);
        }
        return notAdmitted(run);
      }
      const s = new ProbeSession(conn, run.result!, { signal: ctx.signal });
      s.ping();
      const ok = await s.waitFor(() => s.pongs > 0 || !isOpen(s), ANSWER_MS);
      conn.close();
      if (!isOpen(s)) return fail(ended(s));
      if (!ok) return fail(`no pong within ${ANSWER_MS / 1000} s of a sealed ping under cipher ${suite.id}`);
      return pass(`cipher ${suite.id} chosen; ping and pong sealed both ways`);
    },
  };
}

const firstUpdateKey: Probe<HostTarget> = {
  name: 'first-update-key',
  ids: ['HS-36', 'SES-5'],
  title: 'Welcome carries a screen size of at most 16384, and the first display update is a KEY update of 1..16384',
  async run(ctx) {
    const a = await admitted(ctx);
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    const got = await s.waitFor(() => s.updates.length > 0 || !isOpen(s), ANSWER_MS);
    s.conn.close();
    const first = s.updates[0];
    if (!first) return isOpen(s) || !got ? notApplicable(`no display update within ${ANSWER_MS / 1000} s`) : fail(ended(s));
    const h = updateHeader(first.update);
    if (!h) return fail(`the first display update is ${first.update.byteLength} bytes, too short for an update header`);
    if (!h.key) return fail('the first display update of the session is not a KEY update');
    if (!(h.width >= 1 && h.width <= 16384 && h.height >= 1 && h.height <= 16384)) return fail(`the first KEY update is ${h.width}x${h.height}, outside 1..16384`);
    return pass(`a KEY update of ${h.width}x${h.height} first`);
  },
};

const flowControl: Probe<HostTarget> = {
  name: 'flow-control',
  ids: ['SES-9', 'SES-8'],
  title: `without acknowledgements the host stops at its in-flight cap (at most ${MAX_IN_FLIGHT_CEILING}), and goes on after an ack whose decoded is 0`,
  timeoutMs: 20_000,
  async run(ctx) {
    const a = await admitted(ctx, { autoAck: false });
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    await s.waitFor(() => !isOpen(s), WITHHOLD_MS);
    const held = s.updates.length;
    if (s.localError && held > MAX_IN_FLIGHT_CEILING) {
      s.conn.close();
      return fail(`the host sent ${held} updates with none acknowledged (at most ${MAX_IN_FLIGHT_CEILING} may be in flight)`);
    }
    if (!isOpen(s)) {
      s.conn.close();
      return fail(ended(s));
    }
    if (held === 0) {
      s.conn.close();
      return notApplicable(`no display update within ${WITHHOLD_MS / 1000} s`);
    }
    // SES-8: the host reads only seq; decoded may be anything.
    s.sendControlRaw({ t: 'ack', seq: s.session.receivedSeq, decoded: 0 });
    s.autoAck = true;
    const more = await s.waitFor(() => s.updates.length > held || !isOpen(s), 6_000);
    s.conn.close();
    if (!isOpen(s)) return fail(`after an ack with decoded 0: ${ended(s)}`);
    if (!more) return notApplicable(`held ${held} unacknowledged update(s), but nothing came after the ack (did the screen not change?)`);
    return pass(`${held} update(s) in flight while unacknowledged, the next one after the ack`);
  },
};

const ackBeyond: Probe<HostTarget> = {
  name: 'ack-beyond',
  ids: ['SES-11', 'SES-20'],
  title: 'an ack for an update never sent ends the session with close protocol-error',
  async run(ctx) {
    const a = await admitted(ctx);
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    await s.waitFor(() => s.updates.length > 0 || !isOpen(s), ANSWER_MS);
    if (!isOpen(s)) return fail(ended(s));
    const seq = s.session.receivedSeq + 1000;
    s.sendControlRaw({ t: 'ack', seq, decoded: seq });
    await s.waitFor(() => s.transportClosed, CLOSE_MS);
    s.conn.close();
    if (s.localError) return fail(ended(s));
    if (!s.peerClose && !s.transportClosed) return fail(`the session went on after an ack for update ${seq}, which was never sent`);
    if (!s.peerClose) return fail('the host closed the connection without sending close protocol-error');
    if (s.peerClose.reason !== CloseReason.ProtocolError) return fail(`the host closed with reason ${s.peerClose.reason}, not protocol-error`);
    if (!s.transportClosed) return fail(`the host sent close but did not close the stream within ${CLOSE_MS / 1000} s`);
    return pass('close protocol-error, then the stream closed');
  },
};

const tamperedFrame: Probe<HostTarget> = {
  name: 'tampered-frame',
  ids: ['FR-14', 'HS-61', 'SES-20'],
  title: 'a sealed frame altered by one bit ends the session, with no reply',
  async run(ctx) {
    const a = await admitted(ctx, { autoAck: false });
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    // Unacknowledged, the host soon has nothing it may send: what arrives after the altered frame is its reply.
    await s.waitQuiet(500, 4_000);
    if (!isOpen(s)) return fail(ended(s));
    s.sendControlRaw({ t: 'ping', n: 1, ts: 0 }, true);
    await s.waitFor(() => s.transportClosed, CLOSE_MS);
    s.conn.close();
    if (s.peerClose) return fail(`the host answered a frame that failed to open with close ${s.peerClose.reason} (it must close without a reply)`);
    if (s.localError) return fail(ended(s));
    if (!s.transportClosed) return fail(`the session went on for ${CLOSE_MS / 1000} s after a frame that fails to open`);
    return pass('the connection closed, nothing sent');
  },
};

const chat: Probe<HostTarget> = {
  name: 'chat',
  ids: ['SES-2', 'IN-18'],
  title: 'an empty chat message and one of exactly 4 KiB are accepted; the session goes on',
  async run(ctx) {
    const a = await admitted(ctx);
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    s.chat('');
    s.chat('a'.repeat(4096));
    s.ping();
    await s.waitFor(() => s.pongs > 0 || !isOpen(s), ANSWER_MS);
    // A host that answers chat gets a moment to do so.
    if (isOpen(s) && s.chats.length === 0) await s.waitFor(() => s.chats.length > 0 || !isOpen(s), 1_000);
    s.conn.close();
    if (!isOpen(s)) return fail(`after an empty chat and one of 4096 bytes: ${ended(s)}`);
    if (s.pongs === 0) return fail(`no pong within ${ANSWER_MS / 1000} s after the chat messages`);
    return pass(s.chats.length > 0 ? `the host answered with ${s.chats.length} chat message(s)` : 'accepted (the host did not answer in chat)');
  },
};

const viewInput: Probe<HostTarget> = {
  name: 'view-input',
  ids: ['IN-29', 'IN-24'],
  title: 'input from a helper admitted for viewing is dropped, not an error: the session goes on',
  async run(ctx) {
    const a = await admitted(ctx);
    if ('verdict' in a) return a.verdict;
    const s = a.session;
    if (s.session.mode !== 'view') {
      s.conn.close();
      return fail(`Welcome granted ${s.session.mode} to a helper that asked for view`);
    }
    // A pointer move to the top-left corner and a Shift press and release: harmless, were they applied.
    s.session.sendInputUnchecked(
      [
        { type: 'pointerMove', x: 0, y: 0, buttons: 0 },
        { type: 'keyDown', code: 'ShiftLeft', modifiers: 0 },
        { type: 'keyUp', code: 'ShiftLeft', modifiers: 0 },
      ],
      Date.now(),
    );
    s.ping();
    await s.waitFor(() => s.pongs > 0 || !isOpen(s), ANSWER_MS);
    s.conn.close();
    if (!isOpen(s)) return fail(`after input without control: ${ended(s)}`);
    if (s.pongs === 0) return fail(`no pong within ${ANSWER_MS / 1000} s after input without control`);
    return pass('the session went on (whether the input was applied is not visible from here)');
  },
};

const badProof: Probe<HostTarget> = {
  name: 'bad-proof',
  ids: ['HS-45', 'HS-56', 'HS-48'],
  title: 'a wrong ticket proof is refused BAD_PROOF, sealed, and the host ends the connection',
  async run(ctx) {
    const conn = await RawConnection.open(ctx.target, ctx.signal);
    const run = await runHandshake(conn, initiatorFor(ctx.target, { wrongSecret: true }), ANSWER_MS);
    const closed = run.end === 'closed' || (await conn.waitClosed(CLOSE_MS));
    conn.close();
    if (run.end === 'done') return fail('the host admitted a helper whose ticket proof is wrong');
    if (!run.helloReceived) return notAdmitted(run);
    if (run.end === 'error' && run.error?.code === 'TESSERA_ERR_UNEXPECTED_MESSAGE') {
      return fail(`the refusal came in the clear after ServerHello, where it must be sealed (${run.error.message})`);
    }
    if (run.end !== 'refused') return fail(run.end === 'error' ? `the answer to Auth could not be read: ${run.error?.message ?? 'error'}` : `no refusal: the host ${run.end === 'closed' ? 'closed the connection' : 'did not answer'} after Auth`);
    const err = run.error as { refusal?: string; authenticated?: boolean };
    if (err.refusal === 'THROTTLED') return notApplicable('the host throttles this invitation (too many wrong proofs lately); try again in 10 minutes');
    if (!err.authenticated) return fail(`the refusal ${err.refusal} was not sealed`);
    if (err.refusal !== 'BAD_PROOF') return fail(`refused ${err.refusal}, not BAD_PROOF`);
    if (!closed) return fail(`the host did not end the connection within ${CLOSE_MS / 1000} s of its sealed refusal`);
    return pass('sealed BAD_PROOF, then the connection ended');
  },
};

const versionMismatch: Probe<HostTarget> = {
  name: 'version-mismatch',
  ids: ['HS-30', 'HS-41'],
  title: 'a ClientHello of version 2 is answered with the clear refusal VERSION_MISMATCH, then the connection ends',
  async run(ctx) {
    const conn = await RawConnection.open(ctx.target, ctx.signal);
    conn.writeFrame(Channel.Handshake, encodeClientHello({ version: 2, ephemeral: nacl.box.keyPair().publicKey, ciphers: [CipherId.XSalsa20Poly1305] }));
    const n = await conn.nextFrame(ANSWER_MS);
    const closed = n.kind === 'closed' || (await conn.waitClosed(CLOSE_MS));
    conn.close();
    if (n.kind !== 'frame') return fail(n.kind === 'closed' ? 'the host closed the connection without a refusal' : n.kind === 'timeout' ? `no answer within ${ANSWER_MS / 1000} s` : `the answer could not be read: ${n.error.message}`);
    const payload = n.frame.payload;
    if (n.frame.channel !== Channel.Handshake || payload[0] !== MessageType.Refusal) {
      return fail(`the host answered with ${n.frame.channel === Channel.Handshake ? `handshake message type ${payload[0] ?? 'none'}` : `a frame on channel ${n.frame.channel}`}, not a clear refusal`);
    }
    let refusal: string;
    try {
      refusal = decodeRefusal(payload);
    } catch (err) {
      return fail(`the refusal could not be read: ${(err as Error).message}`);
    }
    if (refusal !== 'VERSION_MISMATCH') return fail(`refused ${refusal}, not VERSION_MISMATCH`);
    if (!closed) return fail(`the host did not end the connection within ${CLOSE_MS / 1000} s of its refusal`);
    return pass('VERSION_MISMATCH in the clear, then the connection ended');
  },
};

/** A connection that sends `bytes` before any handshake and expects the host to close it without a reply. */
function preAuthProbe(name: string, ids: string[], title: string, bytes: () => Uint8Array, what: string): Probe<HostTarget> {
  return {
    name,
    ids,
    title,
    async run(ctx) {
      const conn = await RawConnection.open(ctx.target, ctx.signal);
      conn.write(bytes());
      const closed = await conn.waitClosed(CLOSE_MS);
      const n = await conn.nextFrame(0);
      conn.close();
      if (n.kind === 'frame') return fail(`the host answered ${what} with a frame on channel ${n.frame.channel}`);
      if (!closed) return fail(`the connection was still open ${CLOSE_MS / 1000} s after ${what}`);
      return pass('closed without a reply');
    },
  };
}

const preAuthOversize = preAuthProbe(
  'pre-auth-oversize',
  ['FR-5', 'FR-6', 'FR-9'],
  'a frame header announcing 8 KiB + 1 before the handshake closes the connection before its body is sent',
  () => new Uint8Array([0x00, 0x00, 0x20, 0x01, Channel.Handshake]),
  'a header over the 8 KiB pre-authentication cap',
);

const preAuthChannel = preAuthProbe(
  'pre-auth-channel',
  ['FR-4', 'HS-27'],
  'a control frame (channel 1) before the handshake closes the connection',
  () => encodeFrame(Channel.Control, new Uint8Array([0x81, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67])),
  'a frame on channel 1 in place of ClientHello',
);

const survivesGarbage: Probe<HostTarget> = {
  name: 'survives-garbage',
  ids: ['PROTO-3'],
  title: 'an HTTP request in place of a handshake closes that connection only; the next helper is admitted',
  timeoutMs: 25_000,
  async run(ctx) {
    const junk = await RawConnection.open(ctx.target, ctx.signal);
    junk.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: tessera\r\n\r\n'));
    const closed = await junk.waitClosed(HANDSHAKE_DEADLINE_MS);
    junk.close();
    if (!closed) return fail(`the connection that sent an HTTP request was still open after ${HANDSHAKE_DEADLINE_MS / 1000} s`);
    const a = await admitted(ctx);
    if ('verdict' in a) return a.verdict.status === 'fail' ? fail(`after the garbage: ${a.verdict.reason}`) : a.verdict;
    a.session.ping();
    const ok = await a.session.waitFor(() => a.session.pongs > 0 || !isOpen(a.session), ANSWER_MS);
    a.session.conn.close();
    if (!isOpen(a.session) || !ok) return fail(`after the garbage, the next session did not work: ${isOpen(a.session) ? 'no pong' : ended(a.session)}`);
    return pass('the garbage connection closed; the next one was admitted and answers');
  },
};

/**
 * The probes of `tessera conformance host`, in the order they run. The wrong proof runs last: wrong proofs count
 * towards the host's throttle (HS-64).
 */
export const HOST_PROBES: readonly Probe<HostTarget>[] = [
  cipherProbe(XSalsa20Poly1305, 'XSalsa20-Poly1305'),
  cipherProbe(NodeChaCha20Poly1305, 'ChaCha20-Poly1305'),
  cipherProbe(NodeAes256Gcm, 'AES-256-GCM'),
  firstUpdateKey,
  flowControl,
  ackBeyond,
  tamperedFrame,
  chat,
  viewInput,
  versionMismatch,
  preAuthOversize,
  preAuthChannel,
  survivesGarbage,
  badProof,
];
