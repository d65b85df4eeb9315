/**
 * The batteries-included host (style.md §E): shares a ScreenSource with invited or offering helpers over TCP
 * (or any stream.Duplex), asks its user for consent, gates and injects their input, and writes every
 * authentication and control decision to the audit log. Built on the sans-IO layers below.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import { writeSecretFile } from './secret-file.js';
import { AbortError, ConfigError, ErrorCode, StateError, TesseraError, type Clock } from '../core/index.js';
import {
  DEFAULT_POLICY,
  EMPTY_HELPERS,
  MemoryTicketStore,
  Throttle,
  auditEvent,
  leastMode,
  type AuditEvent,
  type ConsentRequest,
  type Duration,
  type Helpers,
  type Invitation,
  type Mode,
  type Policy,
  type TicketRecord,
  type TicketStore,
} from '../handshake/index.js';
import { TileEncoder, type QualityMode, type Rect } from '../codec/index.js';
import type { InputEvent } from '../input/events.js';
import { HostSession, type HostSessionEvent } from '../session/host-session.js';
import { CloseReason } from '../session/constants.js';
import { DisplayGroups, type DisplayEncoder, type DisplayMember } from '../session/display-groups.js';
import type { ScreenSource, InputSink } from '../adapters/types.js';
import { ReplayScreen } from '../adapters/replay/replay-screen.js';
import { acceptHandshake } from '../transport/handshake-io.js';
import { listenTcp, type TcpListener } from '../transport/tcp.js';
import { SendQueue } from '../transport/send-queue.js';
import { AuditLog } from './audit-log.js';
import { FileTicketStore } from './ticket-store.js';
import { HostKey, loadOrCreateHostKey } from './state-dir.js';
import { issueInvitation } from './index.js';
import { nodeRandom } from './crypto.js';
import { ZlibDeflateBackend, nodeBytesEqual } from './zlib-backend.js';
import { SharpImageCodec } from './sharp-image-codec.js';
import { parseExpires } from './expires.js';
import { sendInvitation, mailtoUri, type SendInvitationOptions, type SentInvitation, type InvitationMessageOptions } from './email.js';

/** What the host user answers to a consent request: the mode allowed, or 'decline'. */
export type ConsentReply = Mode | 'decline';

/** A consent question: at connection time ('connect') or when a connected viewer asks for control ('control'). */
export interface HostConsentRequest extends ConsentRequest {
  readonly reason: 'connect' | 'control';
}

/** Options of Host. */
export interface HostOptions {
  /** The screen to share. */
  readonly source: ScreenSource;
  /** Where admitted input goes; without one, every helper is view-only. */
  readonly sink?: InputSink;
  /** Group-policy settings (default: solicited help with control, 6-hour tickets; offers off). */
  readonly policy?: Policy;
  /** The helpers directory for offers. */
  readonly helpers?: Helpers;
  /** State folder for the host key, tickets and audit log; without one, they live in memory only. */
  readonly stateDir?: string;
  /** Codec quality: 'lossless' (default), 'balanced' or 'low-bandwidth'. */
  readonly quality?: QualityMode;
  /** Asks the host user; must answer within consentTimeoutMs or the helper is declined. */
  readonly consent: (request: HostConsentRequest, signal: AbortSignal) => ConsentReply | Promise<ConsentReply>;
  /** Display name in invitations (default: the machine's host name). */
  readonly name?: string;
  /** Most captures per second when polling (default 30). */
  readonly maxFps?: number;
  /** Display updates in flight per helper (default 2). */
  readonly maxInFlight?: number;
  /** Input rate limit per helper (default 2,000 events/s). */
  readonly maxEventsPerSecond?: number;
  /** Most helpers connected at once (default 8). */
  readonly maxHelpers?: number;
  /** Most handshakes in progress at once (default 64); more connections are dropped at once. */
  readonly maxHandshakes?: number;
  /**
   * Most handshakes in progress from one address (default 8), so one attacker cannot hold every handshake slot;
   * more connections from that address are dropped at once and audited as TOO_MANY_HANDSHAKES.
   */
  readonly maxHandshakesPerAddress?: number;
  /** Handshake deadline (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** How long the user has to answer (default 60 s). */
  readonly consentTimeoutMs?: number;
  /** Milliseconds clock (tests use it to expire tickets); default Date.now. */
  readonly clock?: Clock;
  /** Send-queue cap per helper; a helper that lets more pile up is disconnected (default 64 MiB). */
  readonly maxQueuedBytes?: number;
}

/** Options of Host.listen. */
export interface ListenOptions {
  /** Default 3389; 0 picks a free port. */
  readonly port?: number;
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  readonly signal?: AbortSignal;
}

/** Options of Host.createInvitation. */
export interface CreateInvitationOptions {
  /** Mode offered (default 'control'); policy may lower it. */
  readonly mode?: Mode;
  /** Lifetime: { value, units } or "30m", "2h", "1d"; capped by policy (default 1 hour). */
  readonly expires?: Duration | string;
  /** When set, the helper must also know this password (told to them another way). */
  readonly password?: string;
  /** Display name for this invitation (default: the host's name). */
  readonly name?: string;
  /** Addresses written into the invitation (default: the listening address). */
  readonly addresses?: readonly string[];
}

/** An invitation the host created, with the forms it can be sent in. */
export class HostInvitation {
  readonly invitation: Invitation;
  /** True when policy shortened the lifetime or lowered the mode. */
  readonly capped: boolean;

  constructor(invitation: Invitation, capped: boolean) {
    this.invitation = invitation;
    this.capped = capped;
  }

  /** The ticket id (hex): an identifier for listing and revoking, not a secret. */
  get id(): string {
    return this.invitation.ticketIdHex;
  }

  get expiresAt(): Date {
    return new Date(this.invitation.expiresMs);
  }

  get mode(): Mode {
    return this.invitation.mode;
  }

  /** The `tessera://` URL (carries the secret: send it only to the helper). */
  toURL(): string {
    return this.invitation.toUrl();
  }

  /** The text of a `.tessera` file (carries the secret). */
  toString(): string {
    return this.invitation.toText();
  }

  /** Writes the `.tessera` file with mode 0600. */
  toFile(path: string): void {
    writeSecretFile(path, this.invitation.toText());
  }

  /** A printable summary without the secret. */
  describe(): string {
    return this.invitation.describe();
  }

  /**
   * Emails the invitation through an SMTP server: the link in the body ('mailto' method) or the `.tessera` file
   * attached ('attachment'). Never the password. A failure leaves the invitation valid (send it another way).
   * @throws {EmailError} TESSERA_ERR_EMAIL_FAILED with one clear sentence
   */
  send(options: SendInvitationOptions): Promise<SentInvitation> {
    return sendInvitation(this, options);
  }

  /** A `mailto:` URI that opens the user's own mail program with the message filled in. */
  mailtoUri(options: Pick<InvitationMessageOptions, 'note'> & { to?: string; subject?: string } = {}): string {
    return mailtoUri(this, options);
  }

  toJSON(): object {
    return this.invitation.toJSON();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HostInvitation { id: '${this.id}', mode: '${this.mode}', expires: '${this.expiresAt.toISOString()}' }`;
  }
}

/** Counters of one helper's session. */
export interface SessionStats {
  readonly updatesSent: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly inFlight: number;
  /** Bytes written to the stream that it has not taken yet (bounded: updates wait above 512 KiB). */
  readonly queuedBytes: number;
  readonly rttMs: number | undefined;
  readonly input: HostSession['inputStats'];
}

/** Why a session ended. */
export interface SessionCloseInfo {
  readonly reason: CloseReason;
  readonly message?: string | undefined;
  readonly error?: TesseraError | undefined;
  readonly byPeer: boolean;
}

/**
 * One connected helper, as the host app sees it. Events: 'mode' ({mode, paused}), 'control-request',
 * 'chat' (text), 'clipboard' (text), 'input' (events injected), 'close' (SessionCloseInfo).
 */
export class HostSessionHandle extends EventEmitter implements DisplayMember {
  readonly id: string;
  /** "ip:port" of the helper. */
  readonly peer: string;
  readonly kind: 'ticket' | 'offer';
  readonly ticketId: string | undefined;
  /** Verified helper user name (offers). */
  readonly helper: string | undefined;
  readonly connectedAt: Date;
  /** @internal */
  readonly session: HostSession;
  readonly #host: Host;
  readonly #duplex: Duplex;
  readonly #queue: SendQueue;
  readonly #lowWaterBytes: number;
  #bytesSent = 0;
  #bytesReceived = 0;
  #updatesSent = 0;
  #closedInfo: SessionCloseInfo | undefined;

  /** @internal created by Host */
  constructor(host: Host, duplex: Duplex, session: HostSession, info: { id: string; peer: string; kind: 'ticket' | 'offer'; ticketId?: string | undefined; helper?: string | undefined; maxQueuedBytes: number }) {
    super();
    this.#host = host;
    this.#duplex = duplex;
    this.session = session;
    this.id = info.id;
    this.peer = info.peer;
    this.kind = info.kind;
    this.ticketId = info.ticketId;
    this.helper = info.helper;
    this.connectedAt = new Date();
    this.#queue = new SendQueue(duplex, { maxQueuedBytes: info.maxQueuedBytes });
    // Display updates wait while this much is still queued for the socket: a helper that stops reading
    // stops receiving updates long before the queue cap is reached.
    this.#lowWaterBytes = 512 * 1024;
  }

  get mode(): Mode {
    return this.session.mode;
  }

  get paused(): boolean {
    return this.session.paused;
  }

  get closed(): boolean {
    return this.#closedInfo !== undefined;
  }

  get stats(): SessionStats {
    return {
      updatesSent: this.#updatesSent,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
      inFlight: this.session.inFlight,
      queuedBytes: this.#queue.queuedBytes,
      rttMs: this.session.rttMs,
      input: this.session.inputStats,
    };
  }

  /** @internal DisplayMember */
  get canSendUpdate(): boolean {
    return this.session.canSendUpdate && this.#queue.queuedBytes < this.#lowWaterBytes;
  }

  /** @internal DisplayMember */
  get decodedSeq(): number {
    return this.session.decodedSeq;
  }

  /** @internal DisplayMember */
  sendUpdate(update: Uint8Array, now: number): number {
    const seq = this.session.sendUpdate(update, now);
    this.#updatesSent++;
    this.flush();
    return seq;
  }

  /** Takes control away at once (the Esc key of Windows Remote Assistance). */
  revokeControl(): void {
    if (this.closed) return;
    const had = this.session.mode === 'control';
    this.session.revokeControl(this.#host.now());
    if (had) this.#host.audit({ decision: 'control-revoked', peer: this.peer, ticketId: this.ticketId ?? null, helper: this.helper ?? null, mode: 'view' });
    this.#pump();
  }

  /** Grants control where policy and the invitation allow it; returns the mode granted. */
  grantControl(): Mode {
    if (this.closed) return this.session.mode;
    const mode = this.session.grantControl(this.#host.now());
    this.#host.audit({ decision: mode === 'control' ? 'control-granted' : 'control-denied', peer: this.peer, ticketId: this.ticketId ?? null, helper: this.helper ?? null, mode });
    this.#pump();
    return mode;
  }

  /** Pauses (or resumes) the helper's input; the helper keeps viewing. */
  pause(paused = true): void {
    if (this.closed) return;
    this.session.pause(paused, this.#host.now());
    this.#host.audit({ decision: paused ? 'paused' : 'resumed', peer: this.peer, ticketId: this.ticketId ?? null, helper: this.helper ?? null, mode: this.session.mode });
    this.#pump();
  }

  chat(text: string): void {
    if (this.closed) return;
    this.session.chat(text, this.#host.now());
    this.#pump();
  }

  clipboard(text: string): void {
    if (this.closed) return;
    this.session.clipboard(text, this.#host.now());
    this.#pump();
  }

  /** Ends the session with a reason the helper is told. */
  close(reason: CloseReason = CloseReason.HostEnded, message?: string): void {
    if (this.closed) return;
    this.session.close(reason, message);
    this.#pump();
  }

  /** Resolves when the session has ended. */
  closedPromise(): Promise<SessionCloseInfo> {
    if (this.#closedInfo) return Promise.resolve(this.#closedInfo);
    return new Promise((resolve) => this.once('close', resolve));
  }

  /** @internal counts bytes that arrived with the handshake. */
  countReceived(n: number): void {
    this.#bytesReceived += n;
  }

  /** @internal drops the connection at once (the host is closing). */
  destroy(): void {
    this.#duplex.destroy();
  }

  /** @internal wires the socket to the session. */
  start(initial: Uint8Array | undefined): void {
    this.#duplex.on('data', (chunk: Buffer) => {
      this.#bytesReceived += chunk.byteLength;
      this.session.handleBytes(chunk, this.#host.now());
      this.#pump();
    });
    const lost = (err?: unknown) => {
      this.session.handleTransportClosed(err);
      this.#pump();
    };
    this.#duplex.on('end', () => lost());
    this.#duplex.on('close', () => lost());
    this.#duplex.on('error', (err) => lost(err));
    if (initial && initial.byteLength > 0) this.session.handleBytes(initial, this.#host.now());
    this.#pump();
    // The handshake driver leaves the stream paused; reading starts now that a listener is attached.
    this.#duplex.resume();
  }

  /** @internal runs timers. */
  tick(now: number): void {
    this.session.handleTimeout(now);
    this.#pump();
  }

  /** @internal writes what the session produced. */
  flush(): void {
    for (let out = this.session.pollTransmit(); out; out = this.session.pollTransmit()) {
      if (this.#closedInfo) return;
      if (!this.#queue.tryWrite(out)) {
        // The helper lets bytes pile up beyond the cap: drop it rather than grow without bound.
        this.session.handleTransportClosed(new TesseraError(ErrorCode.LimitExceeded, 'the helper stopped reading; its send queue is full'));
        this.#duplex.destroy();
        break;
      }
      this.#bytesSent += out.byteLength;
    }
  }

  #pump(): void {
    this.flush();
    for (let ev = this.session.pollEvent(); ev; ev = this.session.pollEvent()) this.#handleEvent(ev);
    this.flush();
  }

  #handleEvent(ev: HostSessionEvent): void {
    switch (ev.type) {
      case 'input':
        this.#host.inject(ev.events);
        this.emit('input', ev.events);
        return;
      case 'ack':
        this.#host.acknowledged();
        return;
      case 'control-request':
        this.emit('control-request');
        this.#host.askControl(this);
        return;
      case 'mode':
        this.emit('mode', { mode: ev.mode, paused: ev.paused });
        return;
      case 'chat':
        this.emit('chat', ev.text);
        return;
      case 'clipboard':
        this.#host.setClipboard(ev.text);
        this.emit('clipboard', ev.text);
        return;
      case 'rtt':
        this.emit('rtt', ev.ms);
        return;
      case 'closed': {
        this.flush();
        const info: SessionCloseInfo = { reason: ev.reason, message: ev.message, error: ev.error, byPeer: ev.byPeer };
        this.#closedInfo = info;
        void this.#queue.end().catch(() => {}).finally(() => this.#duplex.destroy());
        setTimeout(() => this.#duplex.destroy(), 2_000).unref();
        this.#host.detach(this, info);
        this.emit('close', info);
        return;
      }
    }
  }
}

type HostState = 'idle' | 'listening' | 'closing' | 'closed';

/**
 * A remote-assistance host. Events: 'listening' ({port, host}), 'session' (HostSessionHandle),
 * 'audit' (AuditEvent), 'error' (TesseraError: a failure that did not stop the host, such as the screen source failing).
 */
export class Host extends EventEmitter {
  readonly source: ScreenSource;
  readonly sink: InputSink | undefined;
  readonly policy: Policy;
  readonly helpers: Helpers;
  readonly quality: QualityMode;
  readonly name: string;
  readonly hostKey: HostKey;
  readonly tickets: TicketStore;
  readonly #options: HostOptions;
  readonly #auditLog: AuditLog | undefined;
  readonly #throttle: Throttle;
  /** The store as the handshake sees it: a use that cannot be recorded is reported, not turned into a refusal. */
  readonly #handshakeTickets: TicketStore;
  readonly #clock: Clock;
  readonly #groups: DisplayGroups<HostSessionHandle>;
  readonly #sessions = new Set<HostSessionHandle>();
  readonly #handshakes = new Set<Duplex>();
  readonly #handshakesByAddress = new Map<string, number>();
  readonly #abort = new AbortController();
  #listener: TcpListener | undefined;
  #state: HostState = 'idle';
  #timer: NodeJS.Timeout | undefined;
  #capturing = false;
  #kickPending = false;
  #lastCaptureAt = 0;
  #injectChain: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void)[] = [];
  #sessionCounter = 0;
  #width: number;
  #height: number;

  constructor(options: HostOptions) {
    super();
    if (!options || typeof options.consent !== 'function') throw new ConfigError('host: a consent callback is required');
    if (!options.source) throw new ConfigError('host: a screen source is required');
    this.#options = options;
    this.source = options.source;
    this.sink = options.sink;
    this.policy = options.policy ?? DEFAULT_POLICY;
    this.helpers = options.helpers ?? EMPTY_HELPERS;
    this.quality = options.quality ?? 'lossless';
    this.name = options.name ?? hostname();
    this.#clock = options.clock ?? Date.now;
    this.#width = this.source.width;
    this.#height = this.source.height;
    if (options.stateDir !== undefined) {
      this.hostKey = loadOrCreateHostKey(options.stateDir);
      this.tickets = new FileTicketStore(options.stateDir);
      this.#auditLog = new AuditLog(options.stateDir);
    } else {
      this.hostKey = new HostKey(nodeRandom(32));
      this.tickets = new MemoryTicketStore();
    }
    this.#throttle = new Throttle({ clock: this.#clock });
    // Counting a use is bookkeeping: when the state folder cannot be written (read-only, full), the verified helper is
    // still admitted and the host reports the failure, rather than refusing it as if the user had declined.
    const store = this.tickets;
    this.#handshakeTickets = {
      get: (id) => store.get(id),
      add: (record) => store.add(record),
      recordUse: (id, nowMs) => {
        try {
          store.recordUse(id, nowMs);
        } catch (err) {
          this.reportError(toError(err, 'the ticket use could not be recorded'));
        }
      },
      revoke: (id) => store.revoke(id),
      list: () => store.list(),
      prune: (beforeMs) => store.prune(beforeMs),
    };
    // Every handshake in progress listens on the host's abort signal (and removes its listener when done): allow as
    // many as maxHandshakes without Node's 'possible EventTarget memory leak' warning at the eleventh.
    setMaxListeners((options.maxHandshakes ?? 64) + 16, this.#abort.signal);
    const imageCodec = this.quality === 'lossless' ? undefined : new SharpImageCodec();
    this.#groups = new DisplayGroups<HostSessionHandle>({
      createEncoder: () => createDisplayEncoder(this.source.width, this.source.height, this.quality, imageCodec),
    });
    if (this.source.onDamage) this.#unsubscribe.push(this.source.onDamage(() => this.kick()));
    if (this.source.onResize) this.#unsubscribe.push(this.source.onResize((w, h) => this.#resized(w, h)));
  }

  /** The current time of the host's clock. */
  now(): number {
    return this.#clock();
  }

  /** Connected helpers. */
  get sessions(): readonly HostSessionHandle[] {
    return [...this.#sessions];
  }

  /** The bound TCP port once listening. */
  get port(): number | undefined {
    return this.#listener?.port;
  }

  /** The bound address once listening. */
  get address(): string | undefined {
    return this.#listener?.host;
  }

  /**
   * Starts accepting helpers on TCP (port 3389 by default, loopback by default).
   * @returns the bound port and address
   */
  async listen(options: ListenOptions = {}): Promise<{ port: number; host: string }> {
    if (this.#state !== 'idle') throw new StateError(`host cannot listen in state ${this.#state}`);
    const listener = await listenTcp({
      port: options.port ?? 3389,
      host: options.host ?? '127.0.0.1',
      maxPendingConnections: 64,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.#listener = listener;
    this.#state = 'listening';
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    void this.#acceptLoop(listener);
    this.#startTimer();
    const bound = { port: listener.port, host: listener.host };
    this.emit('listening', bound);
    return bound;
  }

  /**
   * Serves a helper on any stream (an in-memory pair, a WebSocket stream, a TLS socket).
   * Resolves with the session once the handshake and consent succeeded; rejects with the refusal otherwise.
   * `signal` cancels the handshake (AbortError) or ends the session that follows.
   */
  async attach(duplex: Duplex, peer?: string, options: { signal?: AbortSignal } = {}): Promise<HostSessionHandle> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('host is closed');
    const { signal } = options;
    if (signal?.aborted) {
      duplex.destroy();
      throw new AbortError(undefined, { cause: signal.reason });
    }
    if (this.#state === 'idle') {
      this.#state = 'listening';
      this.#startTimer();
    }
    // Aborting ends the handshake, or later the session, on this stream only.
    let handle: HostSessionHandle | undefined;
    const onAbort = () => (handle ? handle.close(CloseReason.HostEnded, 'cancelled') : duplex.destroy());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      handle = await this.#serve(duplex, peer);
      handle.once('close', () => signal?.removeEventListener('abort', onAbort));
      return handle;
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
      throw err;
    }
  }

  /** Creates an invitation (a ticket in the host's store) for a helper. */
  async createInvitation(options: CreateInvitationOptions = {}): Promise<HostInvitation> {
    const expires = options.expires === undefined ? { value: 1, units: 'hours' as const } : typeof options.expires === 'string' ? parseExpires(options.expires) : options.expires;
    const addresses = options.addresses ?? [this.#defaultAddress()];
    const created = issueInvitation({
      hostKey: this.hostKey,
      store: this.tickets,
      addresses,
      expires,
      name: options.name ?? this.name,
      policy: this.policy,
      now: this.#clock,
      audit: (e) => this.audit(e),
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
    });
    return new HostInvitation(created.invitation, created.capped);
  }

  /** Revokes an invitation by ticket id: later connections with it are refused with TICKET_REVOKED. */
  revokeInvitation(id: string): boolean {
    const ok = this.tickets.revoke(id);
    if (ok) this.audit({ decision: 'revoked', ticketId: id });
    return ok;
  }

  /** Tickets in the store (no secrets). */
  listInvitations(): TicketRecord[] {
    return this.tickets.list();
  }

  /** Stops listening, ends every session with 'host-ended' and releases the source. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.#abort.abort(new AbortError('the host is closing'));
    if (this.#timer) clearInterval(this.#timer);
    for (const u of this.#unsubscribe) u();
    // Stop accepting first; the listener's close completes only once every connection is gone.
    const listenerClosed = this.#listener?.close();
    for (const d of this.#handshakes) d.destroy();
    const open = [...this.#sessions];
    const closing = open.map((s) => s.closedPromise());
    for (const s of open) s.close(CloseReason.HostEnded, 'the host ended the session');
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, 2_000).unref())]);
    for (const s of open) s.destroy();
    await Promise.race([listenerClosed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await this.#injectChain;
    this.sink?.releaseAll?.();
    this.#state = 'closed';
    this.emit('close');
  }

  /** @internal emits 'error' for a failure the host survives; without a listener it is dropped, never thrown. */
  reportError(err: TesseraError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** @internal records an audit decision: event, then the log file. */
  audit(fields: Partial<Omit<AuditEvent, 'time'>> & { decision: AuditEvent['decision'] }): void {
    this.#recordAudit(auditEvent(this.#clock(), fields));
  }

  /** @internal injects gated input in order. */
  inject(events: readonly InputEvent[]): void {
    const sink = this.sink;
    if (!sink) return;
    this.#injectChain = this.#injectChain
      .then(async () => {
        for (const e of events) await sink.inject(e);
      })
      .catch((err: unknown) => {
        this.reportError(toError(err, 'the input sink failed'));
      })
      .finally(() => this.kick());
  }

  /** @internal */
  setClipboard(text: string): void {
    try {
      this.sink?.setClipboard?.(text);
    } catch (err) {
      this.reportError(toError(err, 'the input sink failed to set the clipboard'));
    }
  }

  /** @internal a viewer asks for control: ask the user, within policy and the invitation. */
  askControl(handle: HostSessionHandle): void {
    const maxMode = handle.session.maxMode;
    if (maxMode !== 'control' || !this.sink) {
      handle.session.denyControl(this.#clock());
      this.audit({ decision: 'control-denied', peer: handle.peer, ticketId: handle.ticketId ?? null, helper: handle.helper ?? null, code: 'POLICY_DENIED', mode: 'view' });
      handle.flush();
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.#options.consentTimeoutMs ?? 60_000);
    timer.unref();
    handle.once('close', () => ctrl.abort());
    const request: HostConsentRequest = {
      reason: 'control',
      kind: handle.kind,
      ticketId: handle.ticketId,
      helper: handle.helper,
      requestedMode: 'control',
      maxMode,
      peer: handle.peer,
    };
    Promise.resolve()
      .then(() => this.#options.consent(request, ctrl.signal))
      .catch(() => 'decline' as const)
      .then((answer) => {
        clearTimeout(timer);
        if (handle.closed) return;
        if (ctrl.signal.aborted || answer !== 'control') {
          handle.session.denyControl(this.#clock());
          this.audit({ decision: 'control-denied', peer: handle.peer, ticketId: handle.ticketId ?? null, helper: handle.helper ?? null, code: 'USER_DECLINED', mode: 'view' });
          handle.flush();
          return;
        }
        handle.grantControl();
      });
  }

  /** @internal a session ended. */
  detach(handle: HostSessionHandle, info: SessionCloseInfo): void {
    if (!this.#sessions.delete(handle)) return;
    this.#groups.remove(handle);
    this.audit({ decision: 'closed', peer: handle.peer, ticketId: handle.ticketId ?? null, helper: handle.helper ?? null, code: info.error?.code ?? info.reason, mode: handle.mode });
    this.kick();
  }

  /** @internal asks for a capture as soon as one is useful (new damage, an ack, injected input). */
  kick(): void {
    if (this.#state !== 'listening') return;
    if (this.#capturing) {
      this.#kickPending = true;
      return;
    }
    // Never capture inside the caller: a source's damage listener may run in the middle of its own state change
    // (a window half moved), and capturing there would read the screen between two halves of that change.
    if (this.#kickQueued) return;
    this.#kickQueued = true;
    queueMicrotask(() => {
      this.#kickQueued = false;
      if (this.#state === 'listening' && !this.#capturing) void this.#captureOnce();
      else if (this.#capturing) this.#kickPending = true;
    });
  }

  #kickQueued = false;

  #startTimer(): void {
    if (this.#timer) return;
    const fps = this.#options.maxFps ?? 30;
    const interval = Math.max(5, Math.floor(1000 / fps));
    let lastTick = 0;
    this.#timer = setInterval(() => {
      const now = this.#clock();
      if (now - lastTick >= 1000) {
        lastTick = now;
        for (const s of this.#sessions) s.tick(now);
      }
      // Sources without damage reports are polled at the frame rate; so is a replay at a fixed pace, whose frames
      // change with time and never report damage (only an ack-paced replay does, on advance()).
      const src = this.source;
      const polled = !src.onDamage || (src instanceof ReplayScreen && src.pace === 'fixed');
      if (polled || now - this.#lastCaptureAt >= 1000) this.kick();
    }, interval);
    this.#timer.unref();
  }

  async #captureOnce(): Promise<void> {
    if (!this.#groups.wantsFrame()) return;
    this.#capturing = true;
    this.#kickPending = false;
    try {
      const now = this.#clock();
      this.#lastCaptureAt = now;
      const capture = await this.source.capture();
      if (capture.frame.width !== this.#width || capture.frame.height !== this.#height) this.#resized(capture.frame.width, capture.frame.height);
      const gen = await this.#groups.offer(capture.frame, capture.damage as Rect[] | undefined, this.#clock());
      this.#advanceReplay(gen);
    } catch (err) {
      const error = toError(err, 'the screen source failed');
      this.reportError(error);
      for (const s of [...this.#sessions]) s.close(CloseReason.SourceError, error.message);
    } finally {
      this.#capturing = false;
    }
    if (this.#kickPending) setImmediate(() => this.kick());
  }

  #pendingGeneration = 0;
  #replayAdvanced = false;

  /** @internal a helper acknowledged updates: a replay at pace 'ack' may move on, and there is room to send. */
  acknowledged(): void {
    this.#advanceReplay(this.#pendingGeneration);
    this.kick();
  }

  /** Moves an ack-paced replay on once every connected helper has decoded the frame of generation `gen`. */
  #advanceReplay(gen: number): void {
    const src = this.source;
    if (!(src instanceof ReplayScreen) || src.pace !== 'ack') return;
    if (gen > this.#pendingGeneration) {
      this.#pendingGeneration = gen;
      this.#replayAdvanced = false;
    }
    // After an advance, wait until a capture of the new frame has been offered before judging delivery again.
    if (this.#replayAdvanced || this.#pendingGeneration === 0) return;
    if (this.#sessions.size > 0 && this.#groups.delivered(this.#pendingGeneration) && !src.done) {
      this.#replayAdvanced = true;
      src.advance();
      this.emit('replay-advance', src.index);
    }
  }

  #resized(width: number, height: number): void {
    if (width === this.#width && height === this.#height) return;
    this.#width = width;
    this.#height = height;
    // Each group's next update is a key frame at the new size (the codec carries the size).
    this.#groups.resetAll();
    for (const s of this.#sessions) s.session.resize(width, height, this.#clock());
    for (const s of this.#sessions) s.flush();
  }

  async #acceptLoop(listener: TcpListener): Promise<void> {
    const maxHandshakes = this.#options.maxHandshakes ?? 64;
    try {
      for await (const socket of listener) {
        if (this.#handshakes.size >= maxHandshakes) {
          this.audit({ decision: 'refused', peer: `${socket.remoteAddress}:${socket.remotePort}`, code: 'TOO_MANY_HANDSHAKES' });
          socket.destroy();
          continue;
        }
        void this.#serve(socket).catch(() => {});
      }
    } catch {
      // The listener closed.
    }
  }

  async #serve(duplex: Duplex, peer?: string): Promise<HostSessionHandle> {
    duplex.on('error', () => {});
    const address = (duplex as Duplex & { remoteAddress?: string }).remoteAddress ?? peer?.replace(/:\d+$/, '') ?? 'unknown';
    const perAddress = this.#options.maxHandshakesPerAddress ?? 8;
    const fromAddress = this.#handshakesByAddress.get(address) ?? 0;
    if (fromAddress >= perAddress) {
      const remotePort = (duplex as Duplex & { remotePort?: number }).remotePort;
      this.audit({ decision: 'refused', peer: remotePort !== undefined ? `${address}:${remotePort}` : (peer ?? address), code: 'TOO_MANY_HANDSHAKES' });
      duplex.destroy();
      throw new TesseraError(ErrorCode.LimitExceeded, `too many handshakes in progress from ${address}`);
    }
    this.#handshakesByAddress.set(address, fromAddress + 1);
    this.#handshakes.add(duplex);
    let maxMode: Mode = 'view';
    try {
      const est = await acceptHandshake(duplex, {
        staticKey: this.hostKey,
        tickets: this.#handshakeTickets,
        policy: this.policy,
        helpers: this.helpers,
        throttle: this.#throttle,
        clock: this.#clock,
        signal: this.#abort.signal,
        audit: (e) => this.#recordAudit(e),
        ...(peer !== undefined ? { peer } : {}),
        ...(this.#options.handshakeTimeoutMs !== undefined ? { timeoutMs: this.#options.handshakeTimeoutMs } : {}),
        ...(this.#options.consentTimeoutMs !== undefined ? { consentTimeoutMs: this.#options.consentTimeoutMs } : {}),
        onConsent: async (request, signal) => {
          if (this.#sessions.size >= (this.#options.maxHelpers ?? 8)) return 'decline';
          maxMode = this.#maxModeFor(request);
          const answer = await this.#options.consent({ ...request, reason: 'connect' }, signal);
          if (answer === 'decline') return 'decline';
          const mode = leastMode(answer, request.maxMode, this.sink ? 'control' : 'view');
          return { mode, width: this.source.width, height: this.source.height, codecs: { codec: 1, quality: this.quality } };
        },
      });
      if (this.#state !== 'listening') {
        duplex.destroy();
        throw new StateError('host is closed');
      }
      const now = this.#clock();
      const session = new HostSession({
        deframer: est.deframer,
        seal: est.protector,
        now,
        mode: est.mode,
        maxMode: this.sink ? maxMode : 'view',
        width: this.source.width,
        height: this.source.height,
        clock: this.#clock,
        ...(this.#options.maxInFlight !== undefined ? { maxInFlight: this.#options.maxInFlight } : {}),
        ...(this.#options.maxEventsPerSecond !== undefined ? { maxEventsPerSecond: this.#options.maxEventsPerSecond } : {}),
      });
      const handle = new HostSessionHandle(this, duplex, session, {
        id: `${est.keys.sessionId}`,
        peer: est.remote,
        kind: est.peer.kind,
        ticketId: est.peer.ticketId,
        helper: est.peer.helper,
        maxQueuedBytes: this.#options.maxQueuedBytes ?? 64 * 1024 * 1024,
      });
      handle.countReceived(est.deframer.bufferedBytes);
      this.#sessionCounter++;
      this.#sessions.add(handle);
      this.#groups.add(handle);
      handle.start(undefined);
      this.emit('session', handle);
      this.kick();
      return handle;
    } finally {
      this.#handshakes.delete(duplex);
      const left = (this.#handshakesByAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#handshakesByAddress.set(address, left);
      else this.#handshakesByAddress.delete(address);
    }
  }

  /** The most a helper may hold: policy's permit for its kind, and for a ticket the invitation's mode. */
  #maxModeFor(request: ConsentRequest): Mode {
    if (request.kind === 'offer') return this.policy.offer.permit;
    const ticket = request.ticketId ? this.tickets.get(request.ticketId) : undefined;
    return leastMode(this.policy.solicited.permit, ticket?.mode ?? 'view');
  }

  #recordAudit(event: AuditEvent): void {
    try {
      this.#auditLog?.append(event);
    } catch (err) {
      this.reportError(toError(err, 'the audit log could not be written'));
    }
    this.emit('audit', event);
  }

  #defaultAddress(): string {
    const port = this.#listener?.port ?? 3389;
    const host = this.#listener?.host;
    if (!host || host === '0.0.0.0' || host === '::') return `${hostname()}:${port}`;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }
}

/** The Node encoder for one display group: node:zlib deflate, sharp for lossy tiles. */
export function createDisplayEncoder(width: number, height: number, quality: QualityMode, imageCodec: SharpImageCodec | undefined): DisplayEncoder {
  const encoder = new TileEncoder({
    width,
    height,
    quality,
    deflate: new ZlibDeflateBackend(),
    bytesEqual: nodeBytesEqual,
    ...(imageCodec ? { imageCodec } : {}),
  });
  return {
    encode: async (frame, damage) => {
      if (frame.width !== encoder.width || frame.height !== encoder.height) encoder.resize(frame.width, frame.height);
      const update = quality === 'lossless' ? encoder.encode(frame, damage) : await encoder.encodeAsync(frame, damage);
      return update ? update.bytes.slice() : undefined;
    },
    reset: () => encoder.reset(),
  };
}

function toError(err: unknown, context: string): TesseraError {
  if (err instanceof TesseraError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new TesseraError(ErrorCode.Io, `${context}: ${msg}`, { cause: err });
}
