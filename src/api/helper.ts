/**
 * The batteries-included helper (ARCHITECTURE.md, "Two doors for embedders"): connects to a host with an invitation (or offers help with an
 * identity key), decodes the shared screen into `framebuffer`, and sends input when the host grants control.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ConfigError, ErrorCode, TesseraError, throwIfAborted, toHex, type Clock } from '../core/index.js';
import { DEFAULT_HELPER_MAX_QUEUED_BYTES, DEFAULT_MAX_SCREEN_PX } from '../core/defaults.js';
import { formatAddress, holderFingerprint, newHolderKey, offerRendezvousId, parseAddress, type HolderKey, type Invitation, type Mode } from '../handshake/index.js';
import { nodeRandom } from '../transport/handshake-crypto.js';
import { TileDecoder, type Framebuffer, type Rect } from '../codec/index.js';
import type { InputEvent } from '../input/events.js';
import { isKeyCode, type KeyCode } from '../input/key-codes.js';
import { Modifier, buttonBit, MouseButton } from '../input/constants.js';
import { CloseReason } from '../session/constants.js';
import type { CursorState } from '../session/cursor.js';
import { driveInitiator } from '../driver/handshake.js';
import { HelperConnection, type CloseInfo } from '../driver/helper.js';
import type { IncomingSink, OutgoingFile, TransferResult } from '../driver/transfer.js';
import type { TransferCode } from '../framing/control.js';
import type { FileOffer } from '../session/transfer.js';
import { DownloadFolder, openOutgoingFile, sanitizeFileName } from '../node/transfer-files.js';
import { DEFAULT_TRANSFER_MAX_BYTES } from '../core/defaults.js';
import { createInitiator, type ConnectHandshakeOptions } from '../transport/handshake-io.js';
import { duplexLink } from '../transport/duplex-link.js';
import { connectTcp } from '../transport/tcp.js';
import { ZlibInflateBackend } from '../node/zlib-backend.js';
import { SharpImageCodec } from '../node/sharp-image-codec.js';
import { loadInvitation } from '../node/index.js';
import { dialRelay } from '../relay/client.js';

/** Why a session ended. */
export type SessionCloseInfo = CloseInfo;

/** Options of Helper.connect. */
export interface HelperConnectOptions {
  /** The invitation's password, when it has one. */
  readonly password?: string;
  /** Ask for control at once (the host user is asked); default: view, then requestControl(). */
  readonly requestControl?: boolean;
  /** Take the host's pointer on its own channel when offered (spec/session.md §6.9): 'cursor' events, `helper.cursor`. Default true. */
  readonly cursor?: boolean;
  /**
   * The helper will not be recorded (spec/recording.md §1): when Welcome says the host records, take no feature, so
   * the first thing the host hears is the close the owner sends at once on seeing `recorded` (the host shows a
   * recorded session nothing before the helper's first message, REC-18). Default false.
   */
  readonly refuseRecorded?: boolean;
  readonly signal?: AbortSignal;
  /** Deadline for the TCP connection and the host's first answer (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for the host user's answer (default 90 s). */
  readonly consentTimeoutMs?: number;
  /** Called once the host has proved its key and asks its user: from here on the wait is the user's decision. */
  readonly onAwaitingConsent?: () => void;
  /** Largest screen accepted (default 8192 x 8192); bounds the decoder's memory. */
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /** Milliseconds clock; default Date.now. */
  readonly clock?: Clock;
  /** Head start of the direct addresses before the relay is tried too (Happy Eyeballs; default 250 ms). */
  readonly relayDelayMs?: number;
  /**
   * The HTTP proxy to reach the relay through (`http://[user:password@]host:port`, CONNECT), false for none;
   * default: the environment's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY (src/relay/proxy.ts).
   * Direct addresses never go through it.
   */
  readonly proxy?: string | false;
  /**
   * The holder key to prove with the invitation (spec/handshake.md §2.5). Default: the one this process used with the
   * same invitation before (kept in memory only, until the invitation expires), so a dropped connection reconnects as
   * the same helper; else a fresh one.
   */
  readonly holder?: HolderKey;
  /** Folder files from the host are saved into (spec/transfer.md); without one, files from the host are refused. */
  readonly downloads?: string;
  /** Whether to take a file from the host: 'auto', or a function that asks the user. Default: refuse. */
  readonly acceptFiles?: 'auto' | ((request: HelperFileRequest, signal: AbortSignal) => boolean | Promise<boolean>);
  /** Largest file accepted from the host, in bytes (default 1 GiB). */
  readonly maxFileBytes?: number;
}

/** A file the host offers this helper. */
export interface HelperFileRequest {
  /** The name as the host sent it: untrusted text (print it with printable()). */
  readonly name: string;
  /** The name it will be saved under. */
  readonly savedName: string;
  readonly size: number;
  /** SHA-256, hex. */
  readonly sha256: string;
}

/** A file the host offers: the options' folder and answer decide. */
async function helperFileOffer(offer: FileOffer, signal: AbortSignal, options: HelperConnectOptions): Promise<IncomingSink | TransferCode> {
  if (options.downloads === undefined || options.acceptFiles === undefined) return 'disabled';
  if (offer.size > (options.maxFileBytes ?? DEFAULT_TRANSFER_MAX_BYTES)) return 'too-large';
  if (options.acceptFiles !== 'auto') {
    const request: HelperFileRequest = { name: offer.name, savedName: sanitizeFileName(offer.name), size: offer.size, sha256: toHex(offer.sha256) };
    if ((await options.acceptFiles(request, signal)) !== true) return signal.aborted ? 'timeout' : 'declined';
  }
  return new DownloadFolder(options.downloads).open(offer);
}

/** Holder keys by ticket id, for reconnections within this process (memory only, never written anywhere). */
const HOLDERS = new Map<string, { key: HolderKey; expiresMs: number }>();
/** Most invitations whose holder keys a process remembers. */
const MAX_HOLDERS = 256;

/** This process's holder key for an invitation: the one used before, or a new one remembered until it expires. */
function holderFor(invitation: Invitation, nowMs: number): HolderKey {
  for (const [id, h] of HOLDERS) if (h.expiresMs <= nowMs) HOLDERS.delete(id);
  const known = HOLDERS.get(invitation.ticketIdHex);
  if (known) return known.key;
  const key = newHolderKey(nodeRandom);
  if (HOLDERS.size >= MAX_HOLDERS) HOLDERS.delete(HOLDERS.keys().next().value!);
  HOLDERS.set(invitation.ticketIdHex, { key, expiresMs: invitation.expiresMs });
  return key;
}

/** How a helper reached its host: a direct TCP connection, or spliced through the invitation's relay. */
export type ConnectionPath = 'direct' | 'relay';

/** Default head start of direct addresses over the relay. */
export const DEFAULT_RELAY_DELAY_MS = 250;

/** Options of Helper.offer. */
export interface HelperOfferOptions extends Omit<HelperConnectOptions, 'password' | 'holder'> {
  /** The helper's Ed25519 identity key pair (from `tessera keygen`). */
  readonly identity: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** The host's static public key (pinned: the connection is refused unless the host proves it holds it). */
  readonly hostKey: Uint8Array;
  /**
   * A relay where the host keeps a standing registration (spec/relay.md §5.1): tried side by side with the address,
   * after its head start (Happy Eyeballs), or alone when there is no address. A relay of a cluster may send the
   * helper on to the relay that holds the host.
   */
  readonly relay?: string;
}

/** What a decoded update changed. */
export interface FrameEvent {
  readonly seq: number;
  readonly rects: readonly Rect[];
  readonly keyFrame: boolean;
}

const MODIFIER_KEYS: Readonly<Partial<Record<KeyCode, number>>> = {
  ShiftLeft: Modifier.Shift,
  ShiftRight: Modifier.Shift,
  ControlLeft: Modifier.Ctrl,
  ControlRight: Modifier.Ctrl,
  AltLeft: Modifier.Alt,
  AltRight: Modifier.Alt,
  MetaLeft: Modifier.Meta,
  MetaRight: Modifier.Meta,
};

/**
 * A connected helper. Events: 'frame' (FrameEvent; `framebuffer` holds the picture), 'control' ({mode, paused}),
 * 'resize' ({width, height}), 'chat' (text), 'clipboard' (text), 'rtt' (ms), 'cursor' (CursorState: the host's
 * pointer moved or changed shape, spec/session.md §6.9), 'transfer-progress' (TransferProgress),
 * 'transfer' (TransferResult: a file that ended either way), 'close' (SessionCloseInfo),
 * 'error' (a TesseraError that ended the session, emitted before 'close' when someone listens).
 */
export class Helper extends EventEmitter {
  /** Remote address "ip:port". */
  readonly remote: string;
  /** A short id both sides share (from the handshake transcript). */
  readonly sessionId: string;
  /** 'relay' when the session runs through the invitation's relay, else 'direct'. */
  readonly path: ConnectionPath;
  /**
   * With an invitation: the fingerprint of this helper's holder key, as the host user's prompt shows it
   * ("3f2a 91c0 7d44 e810"), so the two can compare it; undefined for an offer.
   */
  readonly holderFingerprint: string | undefined;
  /**
   * True when the host said in Welcome that it records this session (`recording: true`, spec/handshake.md §3.4.1,
   * spec/recording.md). A helper that will not be recorded closes the session (`tessera connect --refuse-recorded`).
   */
  readonly recorded: boolean;
  readonly #connection: HelperConnection;
  #framebuffer: Framebuffer;
  #modifiers = 0;
  #buttons = 0;
  #pointerX = 0;
  #pointerY = 0;

  private constructor(connection: (helper: Helper) => HelperConnection, info: { remote: string; sessionId: string; width: number; height: number; path: ConnectionPath; holderFingerprint: string | undefined; recorded: boolean }) {
    super();
    this.remote = info.remote;
    this.sessionId = info.sessionId;
    this.path = info.path;
    this.holderFingerprint = info.holderFingerprint;
    this.recorded = info.recorded;
    // The connection checks the announced size against the decoder's limit before anything is allocated for it.
    this.#connection = connection(this);
    this.#framebuffer = { width: info.width, height: info.height, data: new Uint8Array(info.width * info.height * 4) };
  }

  /**
   * Connects with an invitation: an Invitation, its `tessera://` URL, its text, or a path to a `.tessera` file.
   * Tries the invitation's addresses in turn and, after a short head start (relayDelayMs), its relay side by side
   * (Happy Eyeballs); the first path that reaches the host (a TCP connection, or the relay's pairing) carries the
   * handshake, the other is dropped before it sends a byte, so the host user is asked once. `path` says which won.
   * @throws {HandshakeError} a refusal (TICKET_EXPIRED, BAD_PROOF, USER_DECLINED, ... in `refusal`) or HOST_KEY_MISMATCH
   * @throws {InvitationError} an invitation that is malformed or expired
   * @throws {RelayError} TESSERA_ERR_RELAY_REFUSED when the relay was the only way and it refused (UNKNOWN_ID, ...)
   * @throws {TesseraError} TESSERA_ERR_IO when no path could be reached
   */
  static async connect(target: Invitation | string, options: HelperConnectOptions = {}): Promise<Helper> {
    const clock = options.clock ?? Date.now;
    const invitation = typeof target === 'string' ? loadInvitation(target, { now: clock }) : target;
    throwIfAborted(options.signal);
    const direct = invitation.addresses.map((a) => formatAddress(a));
    const { stream: socket, path } = await connectAnyPath(direct, invitation.relay, options);
    return Helper.attach(socket, {
      ...options,
      path,
      handshake: {
        invitation,
        ...(options.password !== undefined ? { password: options.password } : {}),
        requestMode: options.requestControl ? 'control' : 'view',
        holder: options.holder ?? holderFor(invitation, clock()),
      },
    });
  }

  /**
   * Offers help to a host that did not invite: the host's policy must allow offers and list this identity,
   * and the host user must accept.
   * @param address "host" or "host:port" (default port 3389); undefined to go through `options.relay` only
   * @throws {RelayError} TESSERA_ERR_RELAY_REFUSED when the relay was the only way and it refused (UNKNOWN_ID: the
   *   host keeps no standing registration there)
   */
  static async offer(address: string | undefined, options: HelperOfferOptions): Promise<Helper> {
    throwIfAborted(options.signal);
    if (address === undefined && options.relay === undefined) throw new ConfigError('offer needs an address or a relay', { field: 'address' });
    const relay = options.relay !== undefined ? { url: options.relay, id: offerRendezvousId(options.hostKey) } : undefined;
    const { stream: socket, path } = await connectAnyPath(address !== undefined ? [address] : [], relay, options);
    return Helper.attach(socket, {
      ...options,
      path,
      handshake: { hostKey: options.hostKey, identity: options.identity, requestMode: options.requestControl ? 'control' : 'view' },
    });
  }

  /** Runs the helper over any connected stream (an in-memory pair, a WebSocket stream). */
  static async attach(duplex: Duplex, options: HelperConnectOptions & { handshake: ConnectHandshakeOptions; path?: ConnectionPath }): Promise<Helper> {
    const clock = options.clock ?? Date.now;
    const path = options.path ?? 'direct';
    let initiator;
    try {
      initiator = createInitiator(options.handshake);
    } catch (err) {
      duplex.destroy();
      throw err;
    }
    const link = duplexLink(duplex, { maxQueuedBytes: DEFAULT_HELPER_MAX_QUEUED_BYTES });
    const est = await driveInitiator(link, initiator, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.consentTimeoutMs !== undefined ? { consentTimeoutMs: options.consentTimeoutMs } : {}),
      ...(options.onAwaitingConsent ? { onAwaitingConsent: options.onAwaitingConsent } : {}),
    });
    const decoder = new TileDecoder({
      maxWidth: options.maxWidth ?? DEFAULT_MAX_SCREEN_PX,
      maxHeight: options.maxHeight ?? DEFAULT_MAX_SCREEN_PX,
      inflate: new ZlibInflateBackend(),
      imageCodec: new SharpImageCodec(),
    });
    const helper = new Helper(
      (self) =>
        new HelperConnection(est, decoder, {
          clock,
          features: options.refuseRecorded === true && est.welcome.codecs['recording'] === true ? [] : [...(options.cursor === false ? [] : (['cursor'] as const)), 'transfer'],
          transfer: {
            onOffer: (offer, signal) => helperFileOffer(offer, signal, options),
            onProgress: (p) => self.emit('transfer-progress', p),
            onResult: (r) => self.emit('transfer', r),
          },
          events: {
            frame: (result, seq) => {
              self.#framebuffer = result.framebuffer;
              self.emit('frame', { seq, rects: result.rects, keyFrame: result.keyFrame } satisfies FrameEvent);
            },
            mode: (mode, paused) => self.emit('control', { mode, paused }),
            resize: (width, height) => self.emit('resize', { width, height }),
            chat: (text) => self.emit('chat', text),
            clipboard: (text) => self.emit('clipboard', text),
            rtt: (ms) => self.emit('rtt', ms),
            cursor: (state) => self.emit('cursor', state),
            closed: (closed) => {
              const info = self.#closeInfoOf(closed)!;
              if (info.error && self.listenerCount('error') > 0) self.emit('error', info.error);
              self.emit('close', info);
            },
          },
        }),
      {
        remote: link.remote,
        sessionId: est.keys.sessionId,
        width: est.welcome.width,
        height: est.welcome.height,
        path,
        holderFingerprint: initiator.holder ? holderFingerprint(initiator.holder.publicKey) : undefined,
        recorded: est.welcome.codecs['recording'] === true,
      },
    );
    helper.#connection.start();
    return helper;
  }

  #relayCloseInfo: CloseInfo | undefined;

  /** Through a relay, a lost connection is the relay going away (or the host behind it): the error says so. */
  #closeInfoOf(closed: CloseInfo | undefined): CloseInfo | undefined {
    if (!closed || this.path !== 'relay' || closed.reason !== CloseReason.ConnectionLost) return closed;
    this.#relayCloseInfo ??= {
      ...closed,
      error: new TesseraError(ErrorCode.RelayLost, `the connection through the relay was lost${closed.message ? `: ${closed.message}` : ''}`, { context: 'relay', ...(closed.error ? { cause: closed.error } : {}) }),
    };
    return this.#relayCloseInfo;
  }

  /** The latest decoded picture (RGBA); replaced by a new object when the screen size changes. */
  get framebuffer(): Framebuffer {
    return this.#framebuffer;
  }

  get width(): number {
    return this.#framebuffer.width;
  }

  get height(): number {
    return this.#framebuffer.height;
  }

  /** 'view' or 'control', as the host granted. */
  get mode(): Mode {
    return this.#connection.mode;
  }

  /** True while the host user has paused this helper's input. */
  get paused(): boolean {
    return this.#connection.paused;
  }

  get closed(): boolean {
    return this.#connection.closeInfo !== undefined;
  }

  /** Updates decoded so far, bytes in and out, and the last round-trip time. */
  get stats(): { frames: number; bytesReceived: number; bytesSent: number; rttMs: number | undefined } {
    return this.#connection.stats;
  }

  /** Presses or releases a physical key (W3C KeyboardEvent.code, e.g. 'KeyA', 'Enter', 'ShiftLeft'). */
  key(code: string, down: boolean): boolean {
    if (!isKeyCode(code)) throw new TesseraError(ErrorCode.BadState, `unknown key code ${JSON.stringify(code)}`);
    const bit = MODIFIER_KEYS[code] ?? 0;
    if (bit) this.#modifiers = down ? this.#modifiers | bit : this.#modifiers & ~bit;
    return this.#connection.sendInput([{ type: down ? 'keyDown' : 'keyUp', code, modifiers: this.#modifiers }]);
  }

  /** Types text as Unicode (layout-independent). */
  type(text: string): boolean {
    if (text.length === 0) return false;
    return this.#connection.sendInput([{ type: 'text', text }]);
  }

  /**
   * Moves the pointer to (x, y); `buttons` (W3C MouseEvent.buttons mask: 1 left, 2 right, 4 middle) presses and
   * releases buttons as it changes.
   */
  pointer(x: number, y: number, buttons = this.#buttons): boolean {
    const events: InputEvent[] = [{ type: 'pointerMove', x, y, buttons }];
    for (const button of [MouseButton.Left, MouseButton.Middle, MouseButton.Right, MouseButton.Back, MouseButton.Forward]) {
      const bit = buttonBit(button);
      const was = (this.#buttons & bit) !== 0;
      const now = (buttons & bit) !== 0;
      if (was !== now) events.push({ type: now ? 'buttonDown' : 'buttonUp', button, x, y });
    }
    this.#buttons = buttons;
    this.#pointerX = x;
    this.#pointerY = y;
    return this.#connection.sendInput(events);
  }

  /** Turns the wheel (1/120 of a notch per unit; positive dy scrolls down). */
  wheel(dx: number, dy: number): boolean {
    return this.#connection.sendInput([{ type: 'wheel', dx, dy }]);
  }

  /** Sends raw input events (already in tessera's event form). */
  sendInput(events: readonly InputEvent[]): boolean {
    return this.#connection.sendInput(events);
  }

  /**
   * Sends input even without control. The host's gate drops and counts it; this exists for conformance suites
   * and tests of that gate. Apps use key/type/pointer/wheel, which hold input back without control.
   */
  sendInputUnchecked(events: readonly InputEvent[]): void {
    this.#connection.sendInputUnchecked(events);
  }

  /** Sets the host's clipboard (admitted only under control). */
  /** Whether files can go both ways with this host (it offered file transfer). */
  get canTransfer(): boolean {
    return this.#connection.canTransfer;
  }

  /**
   * Sends a file (a path, or an OutgoingFile of the app's own) to the host (spec/transfer.md): the host user accepts or refuses it. Resolves when it ended:
   * `ok` when the host saved it and its SHA-256 matched, else the code of the refusal or failure (declined,
   * too-large, disabled, ...). Progress comes as 'transfer-progress' events.
   * @throws {TesseraError} TESSERA_ERR_IO when the file cannot be read; TESSERA_ERR_BAD_STATE when the host offers no file transfer
   */
  async sendFile(file: string | OutgoingFile): Promise<TransferResult> {
    if (!this.#connection.canTransfer) throw new TesseraError(ErrorCode.BadState, 'this host does not take files (it offered no file transfer, or the session ended)');
    return this.#connection.sendFile(typeof file === 'string' ? await openOutgoingFile(file) : file);
  }

  clipboard(text: string): void {
    this.#connection.clipboard(text);
  }

  chat(text: string): void {
    this.#connection.chat(text);
  }

  /** Asks the host user for control; the answer arrives as a 'control' event. */
  requestControl(): void {
    this.#connection.requestControl();
  }

  /** Measures the round trip now; the answer arrives as an 'rtt' event. */
  ping(): void {
    this.#connection.ping();
  }

  /** Leaves the session. */
  close(reason: CloseReason = CloseReason.HelperLeft, message?: string): Promise<SessionCloseInfo> {
    this.#connection.close(reason, message);
    return this.closedPromise();
  }

  /** Resolves when the session has ended. */
  closedPromise(): Promise<SessionCloseInfo> {
    const info = this.#closeInfoOf(this.#connection.closeInfo);
    if (info) return Promise.resolve(info);
    return new Promise((resolve) => this.once('close', resolve));
  }

  /**
   * Resolves with the first frame event for which `predicate` holds (checked against the current picture first).
   * Rejects when the session closes or `signal` aborts.
   */
  waitForFrame(predicate: (fb: Framebuffer) => boolean, options: { signal?: AbortSignal } = {}): Promise<Framebuffer> {
    if (this.#connection.stats.frames > 0 && predicate(this.#framebuffer)) return Promise.resolve(this.#framebuffer);
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.off('frame', onFrame);
        this.off('close', onClose);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onFrame = () => {
        if (predicate(this.#framebuffer)) {
          cleanup();
          resolve(this.#framebuffer);
        }
      };
      const onClose = (info: SessionCloseInfo) => {
        cleanup();
        reject(info.error ?? new TesseraError(ErrorCode.Closed, `the session closed (${info.reason}) before the frame arrived`));
      };
      const onAbort = () => {
        cleanup();
        reject(options.signal?.reason);
      };
      this.on('frame', onFrame);
      this.on('close', onClose);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The host's pointer as last received (position of its hotspot, shown or not, shape as RGBA with the hotspot), or
   * undefined before the first or when the host does not send it (an older host, a source without a pointer).
   */
  get cursor(): CursorState | undefined {
    return this.#connection.cursor;
  }

  /** Current pointer position (as last sent). */
  get pointerPosition(): { x: number; y: number } {
    return { x: this.#pointerX, y: this.#pointerY };
  }
}

/**
 * Happy Eyeballs over the invitation's paths: direct addresses at once, the relay after `relayDelayMs` (or as soon
 * as every direct address failed). The first stream that reaches the host wins; the other attempt is aborted, and
 * closed if it completed anyway.
 */
async function connectAnyPath(
  direct: readonly string[],
  relay: { readonly url: string; readonly id: Uint8Array } | undefined,
  options: HelperConnectOptions,
): Promise<{ stream: Duplex; path: ConnectionPath }> {
  if (!relay) return { stream: await connectFirst(direct, options), path: 'direct' };
  const ctrl = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => ctrl.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const inner = { ...options, signal: ctrl.signal };
  let directSettled!: () => void;
  const directDone = new Promise<void>((resolve) => (directSettled = resolve));
  const attempts: Promise<{ stream: Duplex; path: ConnectionPath }>[] = [];
  if (direct.length > 0) {
    attempts.push(
      connectFirst(direct, inner).then(
        (stream) => ({ stream, path: 'direct' as const }),
        (err: unknown) => {
          directSettled();
          throw err;
        },
      ),
    );
  }
  attempts.push(
    (async () => {
      if (direct.length > 0) await Promise.race([abortableSleep(options.relayDelayMs ?? DEFAULT_RELAY_DELAY_MS, ctrl.signal), directDone]);
      throwIfAborted(ctrl.signal);
      const stream = await dialRelay(relay.url, relay.id, {
        signal: ctrl.signal,
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.proxy !== undefined ? { proxy: options.proxy } : {}),
      });
      return { stream, path: 'relay' as const };
    })(),
  );
  try {
    const winner = await Promise.any(attempts);
    ctrl.abort();
    for (const a of attempts) a.then((r) => r !== winner && r.stream.destroy(), () => {});
    return winner;
  } catch (err) {
    throwIfAborted(outer);
    const errors = err instanceof AggregateError ? (err.errors as unknown[]) : [err];
    // The relay was the only way: its own answer (UNKNOWN_ID, PAIRING_TIMEOUT, ...) is the clearest error.
    if (direct.length === 0) throw errors[0];
    const relayErr = errors[errors.length - 1] as Error | undefined;
    throw new TesseraError(ErrorCode.Io, `could not connect to ${direct.join(', ')}, nor through the relay (${relayErr?.message ?? 'failed'})`, { context: 'connect-and-relay', received: direct.join(', '), cause: err });
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Connects to the first address that answers. */
async function connectFirst(addresses: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number }) {
  let last: unknown;
  for (const text of addresses) {
    const a = parseAddress(text);
    try {
      return await connectTcp({
        host: a.host,
        port: a.port,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      last = err;
    }
  }
  throw new TesseraError(ErrorCode.Io, `could not connect to ${addresses.join(', ')}`, { context: 'connect', received: addresses.join(', '), cause: last });
}
