/**
 * What the helper probes speak on the wire: a probe host that listens, admits the helper under test with its own
 * invitation (every connection, for viewing), and a session on the sans-IO HostSession over each connection, so a
 * probe sends exactly the display updates it means to (valid or not) and sees every acknowledgement and the close.
 */
import nacl from 'tweetnacl';
import { AbortError, toTesseraError, type TesseraError } from '../core/index.js';
import { Channel, encodeFrame, type ControlMessage } from '../framing/index.js';
import { DEFAULT_POLICY, MAX_TICKET_USES, MemoryTicketStore, createInvitation, type Invitation } from '../handshake/index.js';
import { HostSession } from '../session/host-session.js';
import { CloseReason } from '../session/constants.js';
import type { CoreEvent } from '../session/session-core.js';
import { acceptHandshake, type EstablishedHandshake } from '../transport/handshake-io.js';
import { nodeRandom } from '../transport/handshake-crypto.js';
import { listenTcp, type TcpListener } from '../transport/tcp.js';
import { Waker } from './probe.js';

/** The screen size Welcome announces; every probe's first KEY update sets the picture's real size (SES-6). */
export const WELCOME_WIDTH = 320;
export const WELCOME_HEIGHT = 240;
/** Updates the probe host lets be in flight: the most spec/session.md §6.3 allows (SES-9). */
const PROBE_MAX_IN_FLIGHT = 16;

/** Options of startHelperTarget. */
export interface HelperTargetOptions {
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Address to bind; default 127.0.0.1. */
  readonly bind?: string;
  /** How long a probe waits for the helper to connect. */
  readonly connectWaitMs: number;
  /**
   * How many different helpers the invitation admits, at most 100 (default 10). A helper that keeps its holder key
   * counts once however often it reconnects (HS-21); one that makes a new key per connection (a new process per
   * probe) needs one place per probe.
   */
  readonly uses?: number;
}

/**
 * The probe host: a listener, the invitation that admits the helper under test, and the next connection for each
 * probe. Connections that arrive while no probe waits are held (up to the listener's cap) for the next probe.
 */
export class HelperTarget {
  readonly invitation: Invitation;
  readonly connectWaitMs: number;
  readonly #listener: TcpListener;
  readonly #staticKey: nacl.BoxKeyPair;
  readonly #tickets: MemoryTicketStore;
  /** Called when a probe starts waiting for the helper to connect. */
  onWaiting: (() => void) | undefined;

  private constructor(listener: TcpListener, invitation: Invitation, staticKey: nacl.BoxKeyPair, tickets: MemoryTicketStore, connectWaitMs: number) {
    this.#listener = listener;
    this.invitation = invitation;
    this.#staticKey = staticKey;
    this.#tickets = tickets;
    this.connectWaitMs = connectWaitMs;
  }

  /** Listens and creates the invitation (its address is the bound one; 127.0.0.1 when bound to every interface). */
  static async start(o: HelperTargetOptions): Promise<HelperTarget> {
    const listener = await listenTcp({ port: o.port, host: o.bind ?? '127.0.0.1' });
    const staticKey = nacl.box.keyPair();
    const tickets = new MemoryTicketStore();
    const bound = listener.host === '0.0.0.0' || listener.host === '::' ? '127.0.0.1' : listener.host;
    const address = bound.includes(':') ? `[${bound}]:${listener.port}` : `${bound}:${listener.port}`;
    const created = createInvitation({
      hostKey: staticKey.publicKey,
      addresses: [address],
      expires: { value: 6, units: 'hours' },
      mode: 'view',
      name: 'tessera conformance helper',
      now: Date.now,
      random: nodeRandom,
      uses: Math.min(o.uses ?? 10, MAX_TICKET_USES),
      // The probe host's own policy: as many places as the run needs, up to the most any policy allows.
      policy: { ...DEFAULT_POLICY, solicited: { ...DEFAULT_POLICY.solicited, maxUses: MAX_TICKET_USES } },
    });
    tickets.add(created.ticket);
    return new HelperTarget(listener, created.invitation, staticKey, tickets, o.connectWaitMs);
  }

  /** The port the probe host listens on. */
  get port(): number {
    return this.#listener.port;
  }

  /**
   * Waits for the helper's next connection and runs the host's handshake (admitted for viewing at once).
   * @throws {Error} when no helper connects within connectWaitMs, or its handshake fails
   * @throws {AbortError} when `signal` aborts
   */
  async nextHelper(signal: AbortSignal): Promise<EstablishedHandshake> {
    this.onWaiting?.();
    // A timer of our own rather than AbortSignal.timeout inside AbortSignal.any, which Node may collect unfired.
    const wait = new AbortController();
    const timer = setTimeout(() => wait.abort(new Error('no helper connected')), this.connectWaitMs);
    const onAbort = (): void => wait.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let socket;
    try {
      socket = await this.#listener.accept({ signal: wait.signal });
    } catch (err) {
      if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });
      throw new Error(`no helper connected within ${Math.round(this.connectWaitMs / 1000)} s`, { cause: err });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    try {
      return await acceptHandshake(socket, {
        staticKey: this.#staticKey,
        tickets: this.#tickets,
        signal,
        onConsent: () => ({ mode: 'view', width: WELCOME_WIDTH, height: WELCOME_HEIGHT, codecs: { codec: 1 } }),
      });
    } catch (err) {
      socket.destroy();
      throw new Error(`the helper's handshake failed: ${toTesseraError(err).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
  }
}

/** A HostSession that also tells what each `ack` said, `decoded` included (the session itself reads only `seq`). */
class RecordingHostSession extends HostSession {
  onAck: ((seq: number, decoded: number) => void) | undefined;

  protected override handleControlMessage(msg: ControlMessage, now: number): void {
    if (msg.t === 'ack') this.onAck?.(msg.seq, msg.decoded);
    super.handleControlMessage(msg, now);
  }
}

/**
 * A host session over one admitted connection, on the sans-IO HostSession: it records the helper's
 * acknowledgements and its close, and sends updates through the session (numbered) or as raw display payloads.
 */
export class ProbeHostSession {
  readonly session: HostSession;
  readonly #est: EstablishedHandshake;
  /** Every `ack` seq, in arrival order. */
  readonly acks: number[] = [];
  /** The first `ack` whose `decoded` was not its `seq` (SES-7), if any. */
  oddAck: { seq: number; decoded: number } | undefined;
  /** The close the helper sent, if any. */
  peerClose: { reason: string; message?: string } | undefined;
  /** This side's verdict on what the helper sent, when it broke the protocol. */
  localError: TesseraError | undefined;
  transportClosed = false;
  readonly #waker = new Waker();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(est: EstablishedHandshake, signal: AbortSignal) {
    this.#est = est;
    const now = Date.now();
    const session = new RecordingHostSession({ deframer: est.deframer, seal: est.protector, now, mode: est.mode, maxMode: est.mode, width: WELCOME_WIDTH, height: WELCOME_HEIGHT, clock: Date.now, maxInFlight: PROBE_MAX_IN_FLIGHT });
    session.onAck = (seq, decoded) => {
      if (decoded !== seq) this.oddAck ??= { seq, decoded };
    };
    this.session = session;
    this.#timer = setInterval(() => {
      this.session.handleTimeout(Date.now());
      this.#pump();
    }, 1_000);
    const stop = (): void => this.close();
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    est.link.setHandler({
      data: (chunk) => {
        this.session.handleBytes(chunk, Date.now());
        this.#pump();
      },
      closed: () => {
        this.transportClosed = true;
        this.session.handleTransportClosed();
        clearInterval(this.#timer);
        this.#pump();
      },
    });
    // The handshake leaves the link paused; frames that came with its last message are already in the deframer.
    est.link.resume();
    this.session.handleBytes(new Uint8Array(0), Date.now());
    this.#pump();
  }

  /** The newest seq acknowledged (0 before any). */
  get lastAck(): number {
    return this.acks.reduce((a, b) => Math.max(a, b), 0);
  }

  /** True while neither side ended the session. */
  get open(): boolean {
    return !this.transportClosed && !this.peerClose && !this.localError && this.session.state === 'open';
  }

  /** Sends one codec update through the session; returns its display seq. */
  send(update: Uint8Array): number {
    const seq = this.session.sendUpdate(update, Date.now());
    this.#pump();
    return seq;
  }

  /** Sends `screen {width, height}` (spec/session.md §6.2, SES-5). */
  screen(width: number, height: number): void {
    this.session.resize(width, height, Date.now());
    this.#pump();
  }

  /** Seals and sends one Display payload as it is (its display seq is not the session's). */
  sendRawDisplay(payload: Uint8Array): void {
    this.#flush();
    this.#est.link.send(encodeFrame(Channel.Display, payload, this.#est.protector));
  }

  /** Waits until `predicate` holds (checked after everything the helper sends) or `ms` passes; true if it held. */
  waitFor(predicate: () => boolean, ms: number): Promise<boolean> {
    return this.#waker.waitFor(predicate, ms);
  }

  /** Ends the session: `close {reason: host-ended}` while it is open, then the stream. */
  close(): void {
    clearInterval(this.#timer);
    if (this.session.state === 'open') this.session.close(CloseReason.HostEnded, 'probe done');
    const last: Uint8Array[] = [];
    for (let out = this.session.pollTransmit(); out; out = this.session.pollTransmit()) last.push(out);
    if (this.#est.link.closed) return;
    for (const bytes of last) this.#est.link.send(bytes);
    this.#est.link.end();
  }

  #pump(): void {
    for (let ev = this.session.pollEvent(); ev; ev = this.session.pollEvent()) {
      if (ev.type === 'ack') this.acks.push(ev.seq);
      else if (ev.type === 'closed') {
        const closed = ev as Extract<CoreEvent, { type: 'closed' }>;
        if (closed.byPeer && !this.transportClosed) this.peerClose = { reason: closed.reason, ...(closed.message !== undefined ? { message: closed.message } : {}) };
        else if (closed.error && !this.transportClosed) this.localError = closed.error;
        clearInterval(this.#timer);
      }
    }
    this.#flush();
    this.#waker.wake();
  }

  #flush(): void {
    for (let out = this.session.pollTransmit(); out; out = this.session.pollTransmit()) this.#est.link.send(out);
  }
}
