/**
 * The batteries-included host (ARCHITECTURE.md, "Two doors for embedders"): shares a ScreenSource with invited or offering helpers over TCP
 * (or any stream.Duplex), asks its user for consent, gates and injects their input, and writes every
 * authentication and control decision to the audit log. It wires four rooms together: admission (listener,
 * handshake slots, consent), invitations, the capture-and-fan-out loop, and the sessions; ARCHITECTURE.md maps them.
 */
import { featureCaps, type Feature } from '../../session/features.js';
import { EventEmitter } from 'node:events';
import { hostname, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { AbortError, ConfigError, ErrorCode, StateError, TesseraError, fromHex, toHex, toTesseraError, type Clock } from '../../core/index.js';
import { stat } from 'node:fs/promises';
import type { TransferCode } from '../../framing/control.js';
import type { FileOffer } from '../../session/transfer.js';
import type { IncomingSink, OutgoingFile, TransferResult } from '../../driver/transfer.js';
import { DownloadFolder, openOutgoingFile, sanitizeFileName } from '../../node/transfer-files.js';
import { CLOSE_GRACE_MS, DEFAULT_CONSENT_TIMEOUT_MS, DEFAULT_MAX_HELPERS, DEFAULT_PORT, MAX_UNDECODED_UPDATES } from '../../core/defaults.js';
import {
  DEFAULT_POLICY,
  EMPTY_HELPERS,
  MAX_SERVED_IDS,
  rendezvousId, offerRendezvousId,
  MemoryTicketStore,
  auditEvent,
  leastMode,
  transferPolicy,
  type AuditEvent,
  type ConsentRequest,
  type Helpers,
  type Mode,
  type Policy,
  type TicketRecord,
  type TicketStore,
} from '../../handshake/index.js';
import type { QualityMode } from '../../codec/index.js';
import type { InputEvent } from '../../input/events.js';
import type { DropReason } from '../../input/input-gate.js';
import { DEFAULT_MAX_CHAT_BYTES } from '../../input/constants.js';
import { encodeText } from '../../input/text-channel.js';
import { HostSession } from '../../session/host-session.js';
import { CloseReason } from '../../session/constants.js';
import type { Established } from '../../driver/handshake.js';
import type { ScreenSource, InputSink, PresenceIndicator } from '../../adapters/types.js';
import { listenTcp, type TcpListener } from '../../transport/tcp.js';
import { AuditLog } from '../../node/audit-log.js';
import { FileTicketStore } from '../../node/ticket-store.js';
import { HostKey, loadOrCreateHostKey } from '../../node/state-dir.js';
import { nodeRandom } from '../../node/crypto.js';
import { ensureRecordingDir, pruneRecordings, RecordingFile } from '../../node/recording-file.js';
import { recordingSigningKey, toB64url } from '../../recording/format.js';
import { RelayRegistration } from '../../relay/client.js';
import { Admission } from './admission.js';
export type { WrongProof, LockOut } from './admission.js';
import { AuditFloodGate } from './audit-flood.js';
import { CursorFeed } from './cursor-feed.js';
import { CaptureLoop } from './capture-loop.js';
import { reachableAddresses } from './addresses.js';
import { createHostInvitation, type CreateInvitationOptions, type HostInvitation } from './invitations.js';
import { SessionEntry, type HostSessionHandle, type SessionCloseInfo, type SessionHooks } from './session-handle.js';

/** What the host user answers to a consent request: the mode allowed, or 'decline'. */
export type ConsentReply = Mode | 'decline';

/** A consent question: at connection time ('connect') or when a connected viewer asks for control ('control'). */
export interface HostConsentRequest extends ConsentRequest {
  readonly reason: 'connect' | 'control';
  /** True when this host records its sessions (spec/recording.md): tell the host user. */
  readonly recorded: boolean;
}

/** Session recording for audit (spec/recording.md). */
export interface HostRecordingOptions {
  /** Folder of the recordings (made with mode 0700); one file per session, mode 0600. */
  readonly dir: string;
  /**
   * 'required': a session that cannot be recorded is not started (the helper's connection is dropped and the error
   * reported); 'optional' (default): it goes on unrecorded and the error is reported.
   */
  readonly policy?: 'optional' | 'required';
  /** Encrypts every recording to this auditor X25519 public key, so the host alone cannot read it later. */
  readonly auditorPublicKey?: Uint8Array;
  /** Deletes recordings older than this many days when the host starts. */
  readonly retentionDays?: number;
}

/** A file a helper offers, as the host user is asked about it (spec/transfer.md). */
export interface FileRequest {
  readonly session: HostSessionHandle;
  /** The name as the helper sent it: untrusted text (print it with printable()). */
  readonly name: string;
  /** The name it will be saved under (sanitised; " (1)" may still be added if taken). */
  readonly savedName: string;
  readonly size: number;
  /** SHA-256 of the file, hex. */
  readonly sha256: string;
  /** Bytes already received from an earlier attempt (the transfer resumes there). */
  readonly resumeFrom: number;
}

/** File transfer on a host (spec/transfer.md); within `policy.transfer`. */
export interface HostTransferOptions {
  /** Folder received files are saved into; without one the host receives no files (it may still send). */
  readonly downloads?: string;
  /** Whether to take a file: 'auto' takes every file policy allows; a function asks the host user. Default: refuse. */
  readonly accept?: 'auto' | ((request: FileRequest, signal: AbortSignal) => boolean | Promise<boolean>);
  /** How long the host user has to answer an offer (default 2 minutes), then it is refused with `timeout`. */
  readonly answerTimeoutMs?: number;
}

/** Options of Host. Every default lives in src/core/defaults.ts. */
export interface HostOptions {
  /** The screen to share. */
  readonly source: ScreenSource;
  /** Where admitted input goes; without one, every helper is view-only. */
  readonly sink?: InputSink;
  /**
   * Shows the host user on the shared screen that helpers are connected, viewing or controlling (X11Border,
   * or the VirtualScreen itself); told on every join, leave and change of control. Closed with the host.
   */
  readonly presence?: PresenceIndicator;
  /**
   * Share the clipboard (default true): text a controlling helper sends goes to the sink's clipboard, and text the
   * host user copies (a sink with `onClipboard`, such as X11Input) goes to every helper holding control, not paused.
   * False turns both directions off.
   */
  readonly clipboard?: boolean;
  /** Group-policy settings (default: solicited help with control, 6-hour tickets; offers off). */
  readonly policy?: Policy;
  /** The helpers directory for offers. */
  readonly helpers?: Helpers;
  /** State folder for the host key, tickets and audit log; without one, they live in memory only. */
  readonly stateDir?: string;
  /** Codec quality: 'lossless' (default), 'balanced' or 'low-bandwidth'. */
  readonly quality?: QualityMode;
  /** Records every session for audit (spec/recording.md); helpers are told in Welcome (`recording: true`). */
  readonly recording?: HostRecordingOptions;
  /** Asks the host user; must answer within consentTimeoutMs or the helper is declined. */
  readonly consent: (request: HostConsentRequest, signal: AbortSignal) => ConsentReply | Promise<ConsentReply>;
  /** Display name in invitations (default: the machine's host name). */
  readonly name?: string;
  /**
   * Names or addresses an invitation lists first ('NAME', 'NAME:PORT', '[v6]:PORT'; without a port, the listening
   * port), e.g. a public name with a forwarded port; at most 8. Without them an invitation never names the machine's
   * bare host name (see invitationAddresses).
   */
  readonly advertise?: readonly string[];
  /**
   * Send the pointer on its own channel to helpers that take it (spec/session.md §6.9), when the source can report it
   * (`readCursor`/`onCursor`; the virtual desktop and X11 can). Default true.
   */
  readonly cursor?: boolean;
  /** Most captures per second when polling (default 30). */
  readonly maxFps?: number;
  /** Display updates in flight per helper (default 2, at most 16: spec/session.md §6.3). */
  readonly maxInFlight?: number;
  /** Input rate limit per helper (default 2,000 events/s). */
  readonly maxEventsPerSecond?: number;
  /** Most helpers connected at once (default 8). */
  readonly maxHelpers?: number;
  /** Most handshakes in progress at once (default 64). */
  readonly maxHandshakes?: number;
  /**
   * Most handshakes in progress from one address (default 8; IPv6 counts by /64), so one attacker cannot hold every
   * slot. At either cap the oldest connection that has sent nothing is evicted for the newcomer; when all are talking,
   * the newcomer is dropped and audited as TOO_MANY_HANDSHAKES.
   */
  readonly maxHandshakesPerAddress?: number;
  /** Handshake deadline (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** A connection that sends no byte for this long is dropped (default 2 s), so idle sockets cannot hold slots. */
  readonly firstByteTimeoutMs?: number;
  /** How long the user has to answer (default 60 s). */
  readonly consentTimeoutMs?: number;
  /** Milliseconds clock (tests use it to expire tickets); default Date.now. */
  readonly clock?: Clock;
  /** Send-queue cap per helper; a helper that lets more pile up is disconnected (default 64 MiB). */
  readonly maxQueuedBytes?: number;
  /**
   * How a flood is audited: of the refusals, timeouts and errors of connections that never authenticated, `burst`
   * per decision and code (default 20) are written one by one in each `intervalMs` (default 10 s); the rest become
   * one line with a `count`. `burst: Infinity` writes every one.
   */
  readonly auditFlood?: { readonly intervalMs?: number; readonly burst?: number };
  /** File transfer, both ways (spec/transfer.md); without it the host offers no file transfer. */
  readonly transfer?: HostTransferOptions;
}

/** Options of Host.listen. */
export interface ListenOptions {
  /** Default 3389; 0 picks a free port. */
  readonly port?: number;
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  readonly signal?: AbortSignal;
}

type HostState = 'idle' | 'listening' | 'closing' | 'closed';

/** Options of Host.useRelay. */
export interface UseRelayOptions {
  /** Ends this registration. */
  readonly signal?: AbortSignal;
  /** First retry delay after a failure (default 500 ms), doubled per failure up to maxBackoffMs (default 30 s). */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * The HTTP proxy to reach the relay through (`http://[user:password@]host:port`, CONNECT), false for none;
   * default: the environment's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY (src/relay/proxy.ts).
   */
  readonly proxy?: string | false;
}

/** How often a host with a relay re-sends its served ids (new invitations from other processes, expiries). */
const RELAY_REFRESH_MS = 30_000;

/**
 * A remote-assistance host. Events: 'listening' ({port, host}), 'session' (HostSessionHandle),
 * 'audit' (AuditEvent), 'wrong-password' (WrongProof: each wrong proof for an invitation, as it happens),
 * 'locked' (LockOut: wrong proofs locked an invitation or an address out), 'error' (TesseraError: a failure that
 * did not stop the host, such as the screen source failing), 'replay-advance' (index), 'close'.
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
  readonly #clock: Clock;
  readonly #admission: Admission;
  readonly #capture: CaptureLoop<SessionEntry>;
  readonly #cursorFeed: CursorFeed<SessionEntry>;
  readonly #sessions = new Set<SessionEntry>();
  readonly #hooks: SessionHooks;
  readonly #abort = new AbortController();
  readonly #auditGate: AuditFloodGate;
  #listener: TcpListener | undefined;
  #state: HostState = 'idle';
  #injectChain: Promise<void> = Promise.resolve();
  #clipboardOff: (() => void) | undefined;
  #presenceChain: Promise<void> = Promise.resolve();
  readonly #relays = new Set<RelayRegistration>();
  #relayRefresh: NodeJS.Timeout | undefined;
  readonly #downloads: DownloadFolder | undefined;

  constructor(options: HostOptions) {
    super();
    if (!options || typeof options.consent !== 'function') throw new ConfigError('host: a consent callback is required');
    if (!options.source) throw new ConfigError('host: a screen source is required');
    if (options.maxInFlight !== undefined && !(Number.isSafeInteger(options.maxInFlight) && options.maxInFlight >= 1 && options.maxInFlight <= MAX_UNDECODED_UPDATES)) {
      throw new ConfigError(`host: maxInFlight must be 1 to ${MAX_UNDECODED_UPDATES}, got ${options.maxInFlight}`, { field: 'maxInFlight' });
    }
    // An advertised name that could never go into an invitation is refused now, not at the first invitation.
    if (options.advertise) reachableAddresses({ bind: '127.0.0.1', port: DEFAULT_PORT, interfaces: {}, advertise: options.advertise });
    this.#options = options;
    this.source = options.source;
    this.sink = options.sink;
    this.policy = options.policy ?? DEFAULT_POLICY;
    this.helpers = options.helpers ?? EMPTY_HELPERS;
    this.quality = options.quality ?? 'lossless';
    this.name = options.name ?? hostname();
    this.#clock = options.clock ?? Date.now;
    if (options.stateDir !== undefined) {
      this.hostKey = loadOrCreateHostKey(options.stateDir);
      this.tickets = new FileTicketStore(options.stateDir);
      this.#auditLog = new AuditLog(options.stateDir);
    } else {
      this.hostKey = new HostKey(nodeRandom(32));
      this.tickets = new MemoryTicketStore();
    }
    if (options.recording) {
      ensureRecordingDir(options.recording.dir);
      if (options.recording.retentionDays !== undefined) pruneRecordings(options.recording.dir, options.recording.retentionDays, this.#clock());
    }
    this.#auditGate = new AuditFloodGate({ clock: this.#clock, emit: (e) => this.#writeAudit(e), ...pick(options.auditFlood ?? {}, ['intervalMs', 'burst']) });
    this.#admission = new Admission({
      hostKey: this.hostKey,
      tickets: this.#recordingUses(this.tickets),
      policy: this.policy,
      helpers: this.helpers,
      clock: this.#clock,
      signal: this.#abort.signal,
      audit: (e) => this.#recordAudit(e),
      consent: (request, signal) => this.#consentToConnect(request, signal),
      onWrongProof: (proof) => this.emit('wrong-password', proof),
      onLockOut: (lockOut) => this.emit('locked', lockOut),
      ...pick(options, ['maxHandshakes', 'maxHandshakesPerAddress', 'handshakeTimeoutMs', 'consentTimeoutMs', 'firstByteTimeoutMs', 'maxQueuedBytes']),
    });
    this.#capture = new CaptureLoop<SessionEntry>({
      source: this.source,
      quality: this.quality,
      clock: this.#clock,
      ...(options.maxFps !== undefined ? { maxFps: options.maxFps } : {}),
      onSourceError: (err) => {
        const error = toTesseraError(err, 'the screen source failed');
        this.#reportError(error);
        for (const s of [...this.#sessions]) s.handle.close(CloseReason.SourceError, error.message);
      },
      // A picture that cannot be sent within the frame cap even split (spec/framing.md §2.3) ends only the sessions of
      // the display group that met it.
      onDisplayError: (members, err) => {
        const error = toTesseraError(err, 'a display update does not fit a frame');
        this.#reportError(error);
        for (const s of members) s.handle.close(CloseReason.SourceError, error.message);
      },
      onReplayAdvance: (index) => this.emit('replay-advance', index),
    });
    this.#cursorFeed = new CursorFeed<SessionEntry>({
      source: this.source,
      clock: this.#clock,
      onError: (err) => this.#reportError(toTesseraError(err, 'the screen source failed to read the pointer')),
    });
    this.#hooks = {
      now: () => this.#clock(),
      audit: (fields) => this.#recordAudit(auditEvent(this.#clock(), fields)),
      inject: (events, current, cancelled) => this.#inject(events, current, cancelled),
      setClipboard: (text) => this.#setClipboard(text),
      askControl: (entry) => this.#askControl(entry),
      acknowledged: () => this.#capture.acknowledged(),
      cursorTaken: (entry) => this.#cursorFeed.taken(entry),
      detach: (entry, info) => this.#detach(entry, info),
      fileOffer: (entry, offer, signal) => this.#fileOffer(entry, offer, signal),
      openFile: (entry, path) => this.#openFile(entry, path),
      fileResult: (entry, result) => this.#fileResult(entry, result),
    };
    this.#downloads = options.transfer?.downloads === undefined ? undefined : new DownloadFolder(options.transfer.downloads);
  }

  /**
   * Sends a chat message to every connected helper (each session's chat() sends to one).
   * @returns how many helpers it was sent to
   * @throws {StateError} when the text is longer than the chat cap (DEFAULT_MAX_CHAT_BYTES UTF-8 bytes) or has a
   *   lone surrogate; then it was sent to none
   */
  chat(text: string): number {
    encodeText(text, DEFAULT_MAX_CHAT_BYTES);
    let sent = 0;
    for (const s of this.#sessions) {
      if (s.handle.closed) continue;
      s.handle.chat(text);
      sent++;
    }
    return sent;
  }

  /** The current time of the host's clock. */
  now(): number {
    return this.#clock();
  }

  /** Connected helpers. */
  get sessions(): readonly HostSessionHandle[] {
    return [...this.#sessions].map((s) => s.handle);
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
   * The addresses an invitation lists by default ("host:port", best first, at most 8): the advertised names, then
   * the listening address, or on a wildcard (0.0.0.0, ::; also before listen) the machine's non-loopback,
   * non-link-local interface addresses, never the bare host name; the loopback address only when the machine has
   * nothing else (isLoopbackOnly tells; warn the user then). Read afresh each time, as interfaces come and go.
   * @throws {ConfigError} an advertised name is invalid
   */
  invitationAddresses(): string[] {
    return reachableAddresses({
      bind: this.#listener?.host,
      port: this.#listener?.port ?? DEFAULT_PORT,
      interfaces: networkInterfaces(),
      ...(this.#options.advertise ? { advertise: this.#options.advertise } : {}),
    });
  }

  /**
   * Starts accepting helpers on TCP (port 3389 by default, loopback by default).
   * @returns the bound port and address
   */
  async listen(options: ListenOptions = {}): Promise<{ port: number; host: string }> {
    if (this.#state !== 'idle') throw new StateError(`host cannot listen in state ${this.#state}`);
    const listener = await listenTcp({
      port: options.port ?? DEFAULT_PORT,
      host: options.host ?? '127.0.0.1',
      maxPendingConnections: 64,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    this.#listener = listener;
    this.#start();
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
    void this.#admission.acceptLoop(listener, (est) => void this.#open(est, 'direct'));
    const bound = { port: listener.port, host: listener.host };
    this.emit('listening', bound);
    return bound;
  }

  /**
   * Serves a helper on any stream (an in-memory pair, a WebSocket stream, a TLS socket).
   * Resolves with the session once the handshake and consent succeeded; rejects with the refusal otherwise.
   * `signal` cancels the handshake (AbortError) or ends the session that follows.
   */
  attach(duplex: Duplex, peer?: string, options: { signal?: AbortSignal } = {}): Promise<HostSessionHandle> {
    return this.#attach(duplex, peer, options, 'direct');
  }

  async #attach(duplex: Duplex, peer: string | undefined, options: { signal?: AbortSignal }, path: 'direct' | 'relay'): Promise<HostSessionHandle> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('host is closed');
    const { signal } = options;
    if (signal?.aborted) {
      duplex.destroy();
      throw new AbortError(undefined, { cause: signal.reason });
    }
    this.#start();
    // Aborting ends the handshake, or later the session, on this stream only.
    let handle: HostSessionHandle | undefined;
    const onAbort = () => (handle ? handle.close(CloseReason.HostEnded, 'cancelled') : duplex.destroy());
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      handle = this.#open(await this.#admission.admit(duplex, peer), path);
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
    const created = createHostInvitation(
      {
        hostKey: this.hostKey,
        tickets: this.tickets,
        policy: this.policy,
        name: this.name,
        clock: this.#clock,
        defaultAddresses: () => (this.#listener || this.#relays.size === 0 ? this.invitationAddresses() : []),
        defaultRelay: () => this.#relays.values().next().value?.url,
        audit: (e) => this.#recordAudit(e),
      },
      options,
    );
    this.#refreshRelays();
    return created;
  }

  /**
   * Waits for helpers at a relay as well (spec/relay.md): registers with the host key, serves the rendezvous ids of
   * the live invitations, re-registers with exponential backoff when the relay drops, and hands each paired
   * connection to attach(), so admission, consent, throttling and audit are the same as on a direct connection.
   * Events on the host: 'relay-registered' ({relay}), 'relay-lost' (TesseraError, retryInMs).
   * Invitations created afterwards carry the relay's URL and their rendezvous id.
   */
  useRelay(url: string, options: UseRelayOptions = {}): RelayRegistration {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('host is closed');
    let registration: RelayRegistration;
    try {
      registration = new RelayRegistration({
        url,
        hostKey: this.hostKey,
        ids: () => this.#servedIds(),
        onStream: (stream, peer) => {
          this.#attach(stream, peer, {}, 'relay').catch(() => {
            // Refusals are audited by admission; the stream is closed.
          });
        },
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
        ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
        ...(options.proxy !== undefined ? { proxy: options.proxy } : {}),
      });
    } catch (err) {
      // A proxy that cannot be used (its own ConfigError names the variable, never the URL's credentials).
      if (err instanceof ConfigError && err.field === 'proxy') throw err;
      throw new ConfigError(`host: invalid relay url ${JSON.stringify(url)}`, { field: 'relay', cause: err });
    }
    this.#relays.add(registration);
    registration.on('registered', (info: { relay: string }) => this.emit('relay-registered', info));
    registration.on('lost', (err: TesseraError, retryInMs: number) => {
      if (this.listenerCount('relay-lost') > 0) this.emit('relay-lost', err, retryInMs);
    });
    registration.on('error', (err: unknown) => this.#reportError(toTesseraError(err, 'a relay data connection failed')));
    options.signal?.addEventListener('abort', () => this.#relays.delete(registration), { once: true });
    if (!this.#relayRefresh) {
      // Invitations made by another process (tessera invitations create) are picked up within this interval.
      this.#relayRefresh = setInterval(() => this.#refreshRelays(), RELAY_REFRESH_MS);
      this.#relayRefresh.unref();
    }
    return registration.start();
  }

  /** The rendezvous ids of the live invitations: derived from the host key and each ticket id. */
  #servedIds(): Uint8Array[] {
    let records: TicketRecord[];
    try {
      records = this.tickets.list();
    } catch (err) {
      this.#reportError(toTesseraError(err, 'the ticket store could not be read'));
      return [];
    }
    const now = this.#clock();
    // A host whose policy allows offers keeps a standing registration: its offer id, which an allow-listed helper
    // computes from the host key (tessera offer --relay); the host user is still asked for every connection.
    const standing = this.policy.offer.enabled ? [offerRendezvousId(this.hostKey.publicKey)] : [];
    return [
      ...standing,
      ...records
        .filter((r) => !r.revoked && r.expiresMs > now)
        .slice(-(MAX_SERVED_IDS - standing.length))
        .map((r) => rendezvousId(this.hostKey.secretKey, fromHex(r.id)!)),
    ];
  }

  #refreshRelays(): void {
    for (const r of this.#relays) r.refresh();
  }

  /** Revokes an invitation by ticket id: later connections with it are refused with TICKET_REVOKED. */
  revokeInvitation(id: string): boolean {
    const ok = this.tickets.revoke(id);
    if (ok) this.#recordAudit(auditEvent(this.#clock(), { decision: 'revoked', ticketId: id }));
    if (ok) this.#refreshRelays();
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
    for (const r of this.#relays) r.close();
    this.#relays.clear();
    clearInterval(this.#relayRefresh);
    this.#capture.stop();
    this.#clipboardOff?.();
    this.#cursorFeed.stop();
    // Stop accepting first; the listener's close completes only once every connection is gone.
    const listenerClosed = this.#listener?.close();
    this.#admission.destroyAll();
    const open = [...this.#sessions];
    const closing = open.map((s) => s.handle.closedPromise());
    for (const s of open) s.handle.close(CloseReason.HostEnded, 'the host ended the session');
    await Promise.race([Promise.all(closing), sleep(CLOSE_GRACE_MS)]);
    for (const s of open) s.destroy();
    await Promise.race([listenerClosed, sleep(CLOSE_GRACE_MS)]);
    await this.#injectChain;
    this.sink?.releaseAll?.();
    await this.#presenceChain;
    try {
      await this.#options.presence?.close?.();
    } catch (err) {
      this.#reportError(toTesseraError(err));
    }
    this.#auditGate.flush();
    this.#state = 'closed';
    this.emit('close');
  }

  #start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'listening';
    this.#capture.start();
    if (this.#options.cursor !== false) this.#cursorFeed.start();
    if (this.#options.clipboard !== false && this.sink?.onClipboard) this.#clipboardOff = this.sink.onClipboard((text) => this.#hostCopied(text));
  }

  /** The host user copied text: it goes to the helpers that hold control and are not paused, as input would come from them. */
  #hostCopied(text: string): void {
    for (const entry of this.#sessions) {
      if (entry.session.state === 'open' && entry.session.mode === 'control' && !entry.session.paused) entry.handle.clipboard(text);
    }
  }

  /** A handshake succeeded: the session starts, the app is told, the capture loop fans out to it. */
  #open(est: Established, path: 'direct' | 'relay'): HostSessionHandle {
    if (this.#state !== 'listening') {
      est.link.destroy();
      throw new StateError('host is closed');
    }
    const recorder = this.#startRecording(est, path);
    const session = new HostSession({
      ...(recorder ? { onInputDropped: (event: InputEvent, reason: DropReason) => recorder.writer.inputDropped(this.#clock(), reason, event) } : {}),
      deframer: est.deframer,
      seal: est.protector,
      now: this.#clock(),
      mode: est.mode,
      maxMode: this.sink ? this.#maxModeFor(est) : 'view',
      width: this.source.width,
      height: this.source.height,
      clock: this.#clock,
      ...pick(this.#options, ['maxInFlight', 'maxEventsPerSecond']),
      offeredFeatures: this.#offeredFeatures(),
    });
    const identity = { id: est.keys.sessionId, peer: est.link.remote, kind: est.peer.kind, ticketId: est.peer.ticketId, helper: est.peer.helper, path };
    const entry = new SessionEntry(session, est.link, identity, this.#hooks, est.deframer.bufferedBytes, recorder);
    this.#sessions.add(entry);
    this.#capture.add(entry);
    entry.handle.on('mode', () => this.#showPresence());
    this.#cursorFeed.add(entry);
    entry.start();
    this.#showPresence();
    this.emit('session', entry.handle);
    return entry.handle;
  }

  /**
   * Opens the recording of a session about to start and writes its header (spec/recording.md §4.1). A recording that
   * cannot be made is reported; under the 'required' policy the connection is dropped and this throws.
   */
  #startRecording(est: Established, path: 'direct' | 'relay'): RecordingFile | undefined {
    const rec = this.#options.recording;
    if (!rec) return undefined;
    try {
      const sign = recordingSigningKey(this.hostKey.secretKey);
      const time = this.#clock();
      const stamp = new Date(time).toISOString().replace(/[:.]/g, '-');
      const file = RecordingFile.create(rec.dir, `${stamp}-${est.keys.sessionId.slice(0, 16)}`, {
        signSecretKey: sign.secretKey,
        ...(rec.auditorPublicKey ? { auditorPublicKey: rec.auditorPublicKey } : {}),
      });
      file.writer.header(time, {
        v: 1,
        session: est.keys.sessionId,
        host: toB64url(this.hostKey.publicKey),
        signer: toB64url(sign.publicKey),
        kind: est.peer.kind,
        ...(est.peer.ticketId !== undefined ? { ticketId: est.peer.ticketId } : {}),
        ...(est.peer.helper !== undefined ? { helper: est.peer.helper } : {}),
        ...(est.peer.identityKey !== undefined ? { helperKey: toB64url(est.peer.identityKey) } : {}),
        peer: est.link.remote,
        path,
        mode: est.mode,
        width: this.source.width,
        height: this.source.height,
        codec: 1,
        quality: this.quality,
      });
      return file;
    } catch (err) {
      const error = toTesseraError(err, 'the session could not be recorded');
      this.#reportError(error);
      if (rec.policy === 'required') {
        est.link.destroy();
        throw error;
      }
      return undefined;
    }
  }

  /** The consent step of every handshake: within the helper cap, policy and invitation, then the host user. */
  async #consentToConnect(request: ConsentRequest, signal: AbortSignal) {
    if (this.#sessions.size >= (this.#options.maxHelpers ?? DEFAULT_MAX_HELPERS)) return 'decline' as const;
    const recorded = this.#options.recording !== undefined;
    const answer = await this.#options.consent({ ...request, reason: 'connect', recorded }, signal);
    if (answer === 'decline') return 'decline' as const;
    const mode = leastMode(answer, request.maxMode, this.sink ? 'control' : 'view');
    // spec/handshake.md §3.4.1: `recording: true` tells the helper the session is recorded (REC-13).
    return {
      mode,
      width: this.source.width,
      height: this.source.height,
      codecs: { codec: 1, quality: this.quality, ...(recorded ? { recording: true } : {}), ...featureCaps(this.#offeredFeatures()) },
    };
  }

  /** The session features this host offers every helper (spec/session.md §6.8). */
  #offeredFeatures(): Feature[] {
    return [
      ...(this.#options.cursor !== false && CursorFeed.supported(this.source) ? (['cursor'] as const) : []),
      ...(this.#options.transfer !== undefined && transferPolicy(this.policy).enabled ? (['transfer'] as const) : []),
    ];
  }

  /** The helper offers a file: policy, then the host user, then the downloads folder. Every decision is audited. */
  async #fileOffer(entry: SessionEntry, offer: FileOffer, signal: AbortSignal): Promise<IncomingSink | TransferCode> {
    const file = { direction: 'in' as const, name: offer.name, size: offer.size, sha256: offer.sha256 };
    entry.auditFile('file-offered', file);
    const refuse = (code: TransferCode): TransferCode => {
      entry.auditFile('file-refused', file, code);
      return code;
    };
    const policy = transferPolicy(this.policy);
    const folder = this.#downloads;
    if (!policy.enabled || policy.directions === 'to-helper' || folder === undefined) return refuse('disabled');
    if (offer.size > policy.maxBytes) return refuse('too-large');
    const accept = this.#options.transfer?.accept;
    let yes = false;
    if (accept === 'auto') yes = true;
    else if (typeof accept === 'function') {
      let resumeFrom = 0;
      try {
        const st = await stat(folder.partPath(offer));
        if (st.size <= offer.size) resumeFrom = st.size;
      } catch {
        // No earlier attempt.
      }
      const request: FileRequest = { session: entry.handle, name: offer.name, savedName: sanitizeFileName(offer.name), size: offer.size, sha256: toHex(offer.sha256), resumeFrom };
      try {
        yes = (await accept(request, signal)) === true;
      } catch {
        yes = false;
      }
      if (signal.aborted) return refuse('timeout');
    }
    if (!yes) return refuse('declined');
    let sink: IncomingSink | TransferCode;
    try {
      sink = await folder.open(offer);
    } catch (err) {
      this.#reportError(toTesseraError(err, 'a received file could not be written'));
      return refuse('io');
    }
    if (typeof sink === 'string') return refuse(sink);
    entry.auditFile('file-accepted', { ...file, bytes: sink.offset });
    return sink;
  }

  /** The host user sends a file: policy first, then it is read and hashed. */
  async #openFile(entry: SessionEntry, path: string): Promise<OutgoingFile> {
    const policy = transferPolicy(this.policy);
    if (!policy.enabled || policy.directions === 'to-host') {
      throw new TesseraError(ErrorCode.TransferRefused, 'policy does not let this host send files', { field: 'code', received: 'disabled' });
    }
    const file = await openOutgoingFile(path);
    if (file.size > policy.maxBytes) {
      await file.close?.();
      throw new TesseraError(ErrorCode.TransferRefused, `the file is ${file.size} bytes; policy allows at most ${policy.maxBytes}`, { field: 'code', received: 'too-large' });
    }
    entry.auditFile('file-offered', { direction: 'out', name: file.name, size: file.size, sha256: file.sha256 });
    return file;
  }

  /** A transfer ended: saved, refused by the receiver, or failed. */
  #fileResult(entry: SessionEntry, r: TransferResult): void {
    const file = { direction: r.direction, name: r.name, size: r.size, sha256: r.sha256, bytes: r.bytes, ...(r.path === undefined ? {} : { path: r.path }) };
    if (r.ok) entry.auditFile('file-saved', file);
    else if (r.direction === 'out' && !r.accepted) entry.auditFile('file-refused', file, r.code);
    else if (r.accepted) entry.auditFile('file-failed', file, r.code);
    // An incoming offer refused here was audited when it was refused.
  }

  /** The most a helper may hold: policy's permit for its kind, and for a ticket the invitation's mode. */
  #maxModeFor(est: Established): Mode {
    if (est.peer.kind === 'offer') return this.policy.offer.permit;
    const ticket = est.peer.ticketId ? this.tickets.get(est.peer.ticketId) : undefined;
    return leastMode(this.policy.solicited.permit, ticket?.mode ?? 'view');
  }

  /**
   * Injects gated input in order; a capture follows, since input usually changes the screen. Events still queued when
   * their session loses control (revoked, paused, ended) are dropped, except releases, which are always safe.
   */
  #inject(events: readonly InputEvent[], current: () => boolean, cancelled: (n: number) => void): void {
    const sink = this.sink;
    if (!sink) return;
    this.#injectChain = this.#injectChain
      .then(async () => {
        let dropped = 0;
        let sinceYield = 0;
        for (const e of events) {
          if (!current() && !isRelease(e)) {
            dropped++;
            continue;
          }
          if (e.type !== 'text') {
            await sink.inject(e);
            // Let the event loop run now and then, so a revoke that arrives meanwhile is seen before the rest.
            if (++sinceYield >= INJECT_YIELD_EVENTS) {
              sinceYield = 0;
              await new Promise((r) => setImmediate(r));
            }
            continue;
          }
          // Long text goes in short pieces, checked one by one: Esc stops a paste mid-way.
          const chars = [...e.text];
          for (let i = 0; i < chars.length; i += INJECT_TEXT_CHUNK) {
            if (!current()) {
              dropped++;
              break;
            }
            await sink.inject({ type: 'text', text: chars.slice(i, i + INJECT_TEXT_CHUNK).join('') });
            await new Promise((r) => setImmediate(r));
          }
        }
        if (dropped > 0) cancelled(dropped);
      })
      .catch((err: unknown) => {
        this.#reportError(toTesseraError(err, 'the input sink failed'));
      })
      .finally(() => this.#capture.kick());
  }

  #setClipboard(text: string): void {
    if (this.#options.clipboard === false) return;
    const failed = (err: unknown) => this.#reportError(toTesseraError(err, 'the input sink failed to set the clipboard'));
    try {
      void Promise.resolve(this.sink?.setClipboard?.(text)).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** A viewer asks for control: ask the user, within policy and the invitation. */
  #askControl(entry: SessionEntry): void {
    const maxMode = entry.session.maxMode;
    const deny = (code: string): void =>
      entry.command((now) => {
        entry.session.denyControl(now);
        entry.audit('control-denied', 'view', code);
      });
    if (maxMode !== 'control' || !this.sink) {
      deny('POLICY_DENIED');
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.#options.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS);
    timer.unref();
    entry.handle.once('close', () => ctrl.abort());
    const { kind, ticketId, helper, peer } = entry.identity;
    const request: HostConsentRequest = { reason: 'control', recorded: this.#options.recording !== undefined, kind, ticketId, helper, requestedMode: 'control', maxMode, peer };
    Promise.resolve()
      .then(() => this.#options.consent(request, ctrl.signal))
      .catch(() => 'decline' as const)
      .then((answer) => {
        clearTimeout(timer);
        if (entry.closeInfo) return;
        if (ctrl.signal.aborted || answer !== 'control') deny('USER_DECLINED');
        else entry.handle.grantControl();
      });
  }

  /** A session ended. */
  #detach(entry: SessionEntry, info: SessionCloseInfo): void {
    if (!this.#sessions.delete(entry)) return;
    this.#capture.remove(entry);
    this.#showPresence();
    this.#cursorFeed.remove(entry);
    entry.audit('closed', entry.session.mode, info.error?.code ?? info.reason);
  }

  /** Tells the presence indicator who is connected now; its failures are reported, never fatal. */
  #showPresence(): void {
    const presence = this.#options.presence;
    if (!presence) return;
    const open = [...this.#sessions].filter((s) => s.session.state === 'open');
    const state = open.length === 0 ? undefined : { helpers: open.length, controlling: open.some((s) => s.session.mode === 'control' && !s.session.paused) };
    this.#presenceChain = this.#presenceChain
      .then(() => presence.show(state))
      .catch((err: unknown) => this.#reportError(toTesseraError(err)));
  }

  /** Emits 'error' for a failure the host survives; without a listener it is dropped, never thrown. */
  #reportError(err: TesseraError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Records an audit decision; a flood of unauthenticated connections is folded into counted summaries. */
  #recordAudit(event: AuditEvent): void {
    this.#auditGate.record(event);
  }

  /** Writes an audit event: the log file, then the 'audit' event. */
  #writeAudit(event: AuditEvent): void {
    try {
      this.#auditLog?.append(event);
    } catch (err) {
      this.#reportError(toTesseraError(err, 'the audit log could not be written'));
    }
    this.emit('audit', event);
  }

  /**
   * The store as the handshake sees it: a store that cannot be read is reported on 'error' (and the handshake fails);
   * counting a use is bookkeeping, so when the state folder cannot be written
   * (read-only, full) the verified helper is still admitted and the host reports the failure, rather than refusing
   * it as if the user had declined.
   */
  #recordingUses(store: TicketStore): TicketStore {
    return {
      get: (id) => {
        try {
          return store.get(id);
        } catch (err) {
          // An unreadable store turns every helper away: say so, besides the audit line of each refused handshake.
          this.#reportError(toTesseraError(err, 'the ticket store could not be read'));
          throw err;
        }
      },
      add: (record) => store.add(record),
      recordUse: (id, nowMs, holder, maxUses) => {
        try {
          return store.recordUse(id, nowMs, holder, maxUses);
        } catch (err) {
          // The responder already checked the places against the ticket it read; only a race with another
          // handshake could have taken the last one meanwhile, and that cannot be told without the store.
          this.#reportError(toTesseraError(err, 'the ticket use could not be recorded'));
          return 'new';
        }
      },
      revoke: (id) => store.revoke(id),
      list: () => store.list(),
      prune: (beforeMs) => store.prune(beforeMs),
    };
  }
}

/** Characters of a text event injected at once; between pieces the host checks that control still holds. */
const INJECT_TEXT_CHUNK = 16;
/** Other events injected between two turns of the event loop. */
const INJECT_YIELD_EVENTS = 64;

/** Key and button releases: injecting one late can only let go of something, never press it. */
function isRelease(e: InputEvent): boolean {
  return e.type === 'keyUp' || e.type === 'buttonUp';
}

/** The options among `keys` that are set (so exactOptionalPropertyTypes sees no explicit undefined). */
function pick<T extends object, K extends keyof T>(options: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
