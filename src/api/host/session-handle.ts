/**
 * One connected helper on the host: the HostSession run by the connection driver (src/driver/session.ts), the
 * member the capture loop fans updates out to, and the HostSessionHandle an app holds. The handle exposes only
 * what an app may do (revoke, grant, pause, chat, close, counters); input reaches the sink only through the
 * session's gate and the host's hooks, never through a method on a public object.
 */
import { EventEmitter } from 'node:events';
import { DISPLAY_LOW_WATER_BYTES, RECORDING_FIRST_UPDATE_GRACE_MS } from '../../core/defaults.js';
import { ErrorCode, TesseraError } from '../../core/errors.js';
import type { AuditEvent, Mode } from '../../handshake/index.js';
import type { InputEvent } from '../../input/events.js';
import { CloseReason } from '../../session/constants.js';
import type { HostSession, HostSessionEvent } from '../../session/host-session.js';
import type { CloseInfo } from '../../driver/helper.js';
import type { Link } from '../../driver/link.js';
import { SessionDriver } from '../../driver/session.js';
import { TransferDriver, type IncomingSink, type OutgoingFile, type TransferResult } from '../../driver/transfer.js';
import type { TransferCode } from '../../framing/control.js';
import type { FileOffer } from '../../session/transfer.js';
import { toHex } from '../../core/env.js';
import type { CaptureMember } from './capture-loop.js';
import type { RecordingFile } from '../../node/recording-file.js';
import type { FileEventKind } from '../../recording/format.js';
import type { CursorMember } from './cursor-feed.js';
import type { CursorState } from '../../session/cursor.js';

/** Why a session ended. */
export type SessionCloseInfo = CloseInfo;

/** How long sendFile waits for a helper's features message that has not arrived yet. */
const FEATURES_WAIT_MS = 1_000;

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
  /** Admitted input events dropped before they reached the sink, because control was revoked or paused first. */
  readonly inputCancelled: number;
}

/** What a session needs of its host. */
export interface SessionHooks {
  now(): number;
  audit(fields: Partial<Omit<AuditEvent, 'time'>> & { decision: AuditEvent['decision'] }): void;
  /**
   * Gated input to inject, in order. `current()` turns false once control is revoked or paused (or the session ends):
   * from then on the events still queued are dropped (releases excepted) and counted with `cancelled`.
   */
  inject(events: readonly InputEvent[], current: () => boolean, cancelled: (n: number) => void): void;
  setClipboard(text: string): void;
  /** The helper asks for control: ask the host user. */
  askControl(entry: SessionEntry): void;
  /** The helper decoded updates. */
  acknowledged(): void;
  /** The helper took the `cursor` feature: send it the pointer. */
  cursorTaken(entry: SessionEntry): void;
  /** The session ended. */
  detach(entry: SessionEntry, info: SessionCloseInfo): void;
  /** The helper offers a file (spec/transfer.md): policy, the host user, then the downloads folder. */
  fileOffer(entry: SessionEntry, offer: FileOffer, signal: AbortSignal): Promise<IncomingSink | TransferCode>;
  /** Opens a file the host user sends, within policy. */
  openFile(entry: SessionEntry, path: string): Promise<OutgoingFile>;
  /** A transfer ended either way. */
  fileResult(entry: SessionEntry, result: TransferResult): void;
}

/** Who the helper is, from the handshake. */
export interface SessionIdentity {
  readonly id: string;
  readonly peer: string;
  readonly kind: 'ticket' | 'offer';
  readonly ticketId: string | undefined;
  readonly helper: string | undefined;
  /** How the helper reached the host: straight to its listener, or spliced by a relay (spec/relay.md). */
  readonly path: 'direct' | 'relay';
}

/** The host's side of one session: driver, display member, hooks. Internal: apps see its HostSessionHandle. */
/** The audit log's file decisions and the recording's file events (spec/transfer.md §7, spec/recording.md §4.3). */
const FILE_DECISIONS: Partial<Record<AuditEvent['decision'], FileEventKind>> = {
  'file-offered': 'offered',
  'file-accepted': 'accepted',
  'file-refused': 'refused',
  'file-saved': 'saved',
  'file-failed': 'failed',
};

export class SessionEntry implements CaptureMember, CursorMember {
  readonly session: HostSession;
  readonly identity: SessionIdentity;
  readonly handle: HostSessionHandle;
  readonly #driver: SessionDriver<HostSessionEvent>;
  readonly #hooks: SessionHooks;
  /** File transfer (spec/transfer.md), used once the helper took the `transfer` feature. */
  readonly transfer: TransferDriver;
  /** True until the helper's features message arrived (a helper that takes none never sends one). */
  featuresPending = true;
  #updatesSent = 0;
  #closed: SessionCloseInfo | undefined;
  /**
   * A recorded session shows nothing until the helper has spoken (its `features`, an ack, anything) or the grace
   * passed: a helper that will not be recorded closes at once on Welcome, and then no picture was sent or recorded
   * (spec/recording.md REC-18).
   */
  #holding: boolean;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Moves on when control is revoked or paused or the session ends: input queued before that is stale. */
  #inputEpoch = 0;
  #inputCancelled = 0;
  /** The session's recording (spec/recording.md), when the host records. */
  readonly recorder: RecordingFile | undefined;

  constructor(session: HostSession, link: Link, identity: SessionIdentity, hooks: SessionHooks, initialBytes: number, recorder?: RecordingFile) {
    this.recorder = recorder;
    this.#holding = recorder !== undefined;
    this.session = session;
    this.identity = identity;
    this.#hooks = hooks;
    this.#driver = new SessionDriver<HostSessionEvent>(session, link, { clock: () => hooks.now(), onEvent: (ev) => this.#handle(ev), initialBytes });
    this.handle = new HostSessionHandle(this);
    this.transfer = new TransferDriver(session, this.#driver as unknown as SessionDriver<{ readonly type: string }>, {
      clock: () => hooks.now(),
      onOffer: (offer, signal) => hooks.fileOffer(this, offer, signal),
      onProgress: (p) => this.handle.emit('transfer-progress', p),
      onResult: (r) => {
        hooks.fileResult(this, r);
        this.handle.emit('transfer', r);
      },
    });
  }

  /** Records a file decision in the audit log. */
  auditFile(decision: AuditEvent['decision'], file: { direction: 'in' | 'out'; name: string; size: number; sha256: Uint8Array; bytes?: number; path?: string }, code?: string): void {
    const { peer, ticketId, helper } = this.identity;
    const { sha256, ...rest } = file;
    this.#hooks.audit({ decision, peer, ticketId: ticketId ?? null, helper: helper ?? null, mode: this.session.mode, file: { ...rest, sha256: toHex(sha256) }, ...(code !== undefined ? { code } : {}) });
    // The recording keeps the same metadata (spec/recording.md §4.3), never the file's bytes nor the host's path.
    const event = FILE_DECISIONS[decision];
    if (event !== undefined) {
      this.recorder?.writer.file(this.#hooks.now(), {
        event, direction: file.direction, name: file.name, size: file.size, sha256, ...(file.bytes !== undefined ? { bytes: file.bytes } : {}), ...(code !== undefined ? { code } : {}),
      });
    }
  }

  get closeInfo(): SessionCloseInfo | undefined {
    return this.#closed;
  }

  get stats(): SessionStats {
    return {
      updatesSent: this.#updatesSent,
      bytesSent: this.#driver.bytesSent,
      bytesReceived: this.#driver.bytesReceived,
      inFlight: this.session.inFlight,
      queuedBytes: this.#driver.link.queuedBytes,
      rttMs: this.session.rttMs,
      input: this.session.inputStats,
      inputCancelled: this.#inputCancelled,
    };
  }

  /** Starts reading; call once the app has been told of the session. */
  start(): void {
    this.#driver.start();
    if (this.#holding) {
      this.#holdTimer = setTimeout(() => this.#release(), RECORDING_FIRST_UPDATE_GRACE_MS);
      this.#holdTimer.unref?.();
    }
  }

  /** Ends the hold on a recorded session's first update, and asks the capture loop for it. */
  #release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    clearTimeout(this.#holdTimer);
    if (!this.#closed) this.#hooks.acknowledged();
  }

  /** DisplayMember: room for an update (flow control, and the link not backed up; a recorded session's hold over). */
  get canSendUpdate(): boolean {
    return !this.#holding && this.session.canSendUpdate && this.#driver.link.queuedBytes < DISPLAY_LOW_WATER_BYTES;
  }

  /** DisplayMember */
  get decodedSeq(): number {
    return this.session.decodedSeq;
  }

  /** DisplayMember */
  sendUpdate(update: Uint8Array, now: number): number {
    const seq = this.session.sendUpdate(update, now);
    // The bytes exactly as sent, never re-encoded: recording costs about the bytes on the wire.
    this.recorder?.writer.update(now, seq, update);
    this.#updatesSent++;
    this.#driver.flush();
    return seq;
  }

  /** CursorMember: the pointer's state, sent if the helper took `cursor` and it changed (spec/session.md §6.9). */
  sendCursor(state: CursorState): void {
    if (this.#closed) return;
    const now = this.#hooks.now();
    const w = this.recorder?.writer;
    // What crossed, as it crossed: a shape once while the helper holds it, then each position.
    if (this.session.sendCursor(state, now, w ? (p) => w.cursor(now, p) : undefined) > 0) this.#driver.flush();
  }

  /** CaptureMember */
  resize(width: number, height: number): void {
    if (this.#closed) return;
    this.recorder?.writer.screen(this.#hooks.now(), width, height);
    this.session.resize(width, height, this.#hooks.now());
    this.#driver.flush();
  }

  /** Runs a command on the session (unless closed) and sends what it produced. */
  command(run: (now: number) => void): void {
    if (this.#closed) return;
    run(this.#hooks.now());
    this.#driver.pump();
  }

  /** Opens a file for sending within policy (the host's hook audits the offer). */
  openFileFor(path: string): Promise<OutgoingFile> {
    return this.#hooks.openFile(this, path);
  }

  /** Drops the connection at once (the host is closing). */
  destroy(): void {
    this.#driver.link.destroy();
  }

  audit(decision: AuditEvent['decision'], mode: Mode, code?: string): void {
    const { peer, ticketId, helper } = this.identity;
    this.#hooks.audit({ decision, peer, ticketId: ticketId ?? null, helper: helper ?? null, mode, ...(code !== undefined ? { code } : {}) });
  }

  #handle(ev: HostSessionEvent): void {
    const handle = this.handle;
    this.#record(ev);
    if (ev.type === 'closed') {
      this.#holding = false;
      clearTimeout(this.#holdTimer);
    } else if (this.#holding) {
      // Whatever the helper sent first, it did not leave on being told: show it the screen. Deferred, so the
      // event is handled before the capture loop runs.
      queueMicrotask(() => this.#release());
    }
    if (this.transfer.handle(ev)) return;
    switch (ev.type) {
      case 'input': {
        const epoch = this.#inputEpoch;
        this.#hooks.inject(ev.events, () => this.#inputEpoch === epoch, (n) => (this.#inputCancelled += n));
        handle.emit('input', ev.events);
        return;
      }
      case 'ack':
        this.#hooks.acknowledged();
        return;
      case 'control-request':
        handle.emit('control-request');
        this.#hooks.askControl(this);
        return;
      case 'mode':
        // Revoked or paused: what the helper sent before is not injected any more (the Esc of a long paste).
        if (ev.mode !== 'control' || ev.paused) this.#inputEpoch++;
        handle.emit('mode', { mode: ev.mode, paused: ev.paused });
        return;
      case 'chat':
        handle.emit('chat', ev.text);
        return;
      case 'clipboard':
        this.#hooks.setClipboard(ev.text);
        handle.emit('clipboard', ev.text);
        return;
      case 'rtt':
        handle.emit('rtt', ev.ms);
        return;
      case 'features':
        if (ev.features.includes('cursor')) this.#hooks.cursorTaken(this);
        this.featuresPending = false;
        handle.emit('features', ev.features);
        return;
      case 'closed': {
        this.#inputEpoch++;
        let info: SessionCloseInfo = { reason: ev.reason, message: ev.message, error: ev.error, byPeer: ev.byPeer };
        // Through a relay, a lost connection is the relay going away (or the helper behind it): the error says so.
        if (this.identity.path === 'relay' && ev.reason === CloseReason.ConnectionLost) {
          info = { ...info, error: new TesseraError(ErrorCode.RelayLost, `the connection through the relay was lost${ev.message ? `: ${ev.message}` : ''}`, { context: 'relay', ...(ev.error ? { cause: ev.error } : {}) }) };
        }
        this.#closed = info;
        this.recorder?.finish(this.#hooks.now());
        this.#hooks.detach(this, info);
        handle.emit('close', info);
        return;
      }
    }
  }

  /** Writes a session event to the recording (spec/recording.md §4). */
  #record(ev: HostSessionEvent): void {
    const w = this.recorder?.writer;
    if (!w) return;
    const now = this.#hooks.now();
    switch (ev.type) {
      case 'input':
        return w.input(now, ev.events);
      case 'mode':
        return w.mode(now, ev.mode, ev.paused);
      case 'chat':
        return w.chat(now, 'helper', ev.text);
      case 'clipboard':
        return w.clipboard(now, 'helper', ev.text);
      case 'control-request':
        return w.controlRequest(now);
      case 'closed':
        return w.close(now, ev.reason, ev.message ?? '');
      default:
        return;
    }
  }
}

/**
 * One connected helper, as the host app sees it. Events: 'mode' ({mode, paused}), 'control-request',
 * 'chat' (text), 'clipboard' (text), 'input' (events injected), 'rtt' (ms), 'features' (the session features the
 * helper took, spec/session.md §6.8), 'transfer-progress' (TransferProgress), 'transfer' (TransferResult: a file
 * that ended either way), 'close' (SessionCloseInfo).
 */
export class HostSessionHandle extends EventEmitter {
  readonly id: string;
  /** "ip:port" of the helper. */
  readonly peer: string;
  readonly kind: 'ticket' | 'offer';
  readonly ticketId: string | undefined;
  /** Verified helper user name (offers). */
  readonly helper: string | undefined;
  /** 'relay' when a relay spliced the helper's connection to the host's registration, else 'direct'. */
  readonly path: 'direct' | 'relay';
  readonly connectedAt: Date;
  readonly #entry: SessionEntry;

  /** Made by the host for each admitted helper; apps receive it on the host's 'session' event. */
  constructor(entry: SessionEntry) {
    super();
    this.#entry = entry;
    ({ id: this.id, peer: this.peer, kind: this.kind, ticketId: this.ticketId, helper: this.helper, path: this.path } = entry.identity);
    this.connectedAt = new Date();
  }

  get mode(): Mode {
    return this.#entry.session.mode;
  }

  get paused(): boolean {
    return this.#entry.session.paused;
  }

  get closed(): boolean {
    return this.#entry.closeInfo !== undefined;
  }

  get stats(): SessionStats {
    return this.#entry.stats;
  }

  /** Takes control away at once (the Esc key of Windows Remote Assistance). */
  revokeControl(): void {
    this.#entry.command((now) => {
      const had = this.#entry.session.mode === 'control';
      this.#entry.session.revokeControl(now);
      if (had) this.#entry.audit('control-revoked', 'view');
    });
  }

  /** Grants control where policy and the invitation allow it; returns the mode granted. */
  grantControl(): Mode {
    this.#entry.command((now) => {
      const mode = this.#entry.session.grantControl(now);
      this.#entry.audit(mode === 'control' ? 'control-granted' : 'control-denied', mode);
    });
    return this.#entry.session.mode;
  }

  /** Pauses (or resumes) the helper's input; the helper keeps viewing. */
  pause(paused = true): void {
    this.#entry.command((now) => {
      this.#entry.session.pause(paused, now);
      this.#entry.audit(paused ? 'paused' : 'resumed', this.#entry.session.mode);
    });
  }

  chat(text: string): void {
    this.#entry.command((now) => {
      this.#entry.session.chat(text, now);
      this.#entry.recorder?.writer.chat(now, 'host', text);
    });
  }

  clipboard(text: string): void {
    this.#entry.command((now) => {
      this.#entry.session.clipboard(text, now);
      this.#entry.recorder?.writer.clipboard(now, 'host', text);
    });
  }

  /** The file this session is recorded to (spec/recording.md), or undefined when it is not recorded. */
  get recording(): string | undefined {
    return this.#entry.recorder?.path;
  }

  /** Whether files can go both ways on this session (the helper took the `transfer` feature). */
  get canTransfer(): boolean {
    return this.#entry.transfer.available;
  }

  /**
   * Sends a file to the helper (spec/transfer.md), within the host's transfer policy; resolves when it ended:
   * `ok` when the helper saved it and its SHA-256 matched, else the code of the refusal or failure.
   * Progress comes as 'transfer-progress' events.
   * @throws {TesseraError} TESSERA_ERR_TRANSFER_REFUSED when policy refuses it; TESSERA_ERR_IO when it cannot be
   *   read; TESSERA_ERR_BAD_STATE when the helper took no file transfer
   */
  async sendFile(path: string): Promise<TransferResult> {
    // Right after 'session' the helper's features message may still be on its way: give it a moment.
    if (!this.#entry.transfer.available && !this.closed && this.#entry.featuresPending) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FEATURES_WAIT_MS);
        this.once('features', () => (clearTimeout(timer), resolve()));
      });
    }
    const file = this.#entry.transfer.available ? await this.#entry.openFileFor(path) : undefined;
    if (!file) throw new TesseraError(ErrorCode.BadState, 'this helper cannot receive files (it did not take the transfer feature, or the session ended)');
    return this.#entry.transfer.send(file);
  }

  /** Ends the session with a reason the helper is told. */
  close(reason: CloseReason = CloseReason.HostEnded, message?: string): void {
    this.#entry.command(() => this.#entry.session.close(reason, message));
  }

  /** Resolves when the session has ended. */
  closedPromise(): Promise<SessionCloseInfo> {
    const info = this.#entry.closeInfo;
    if (info) return Promise.resolve(info);
    return new Promise((resolve) => this.once('close', resolve));
  }
}
