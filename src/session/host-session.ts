import { ErrorCode, ProtocolError, StateError, type Clock } from '../core/index.js';
import { Channel, type Frame } from '../framing/index.js';
import type { ControlMessage } from '../framing/control.js';
import { decodeInputBatch } from '../input/input-batch.js';
import type { InputEvent } from '../input/events.js';
import { InputGate, type DropReason } from '../input/input-gate.js';
import { DEFAULT_MAX_IN_FLIGHT, DISPLAY_HEADER_BYTES, type Mode } from './constants.js';
import { SessionCore, type CoreEvent, type SessionCoreOptions } from './session-core.js';
import { FEATURE_NAMES, FEATURES, type Feature } from './features.js';
import { CursorSender, type CursorState } from './cursor.js';

/** Options of a HostSession. */
export interface HostSessionOptions extends SessionCoreOptions {
  /** The mode granted by the handshake. */
  readonly mode: Mode;
  /** The most the helper may ever hold: the least of policy and invitation. Control requests above it are refused. */
  readonly maxMode: Mode;
  readonly width: number;
  readonly height: number;
  /** Clock for the input gate's rate limit. */
  readonly clock: Clock;
  /** Updates sent but not yet decoded by the helper before the host waits. Default 2. */
  readonly maxInFlight?: number;
  /** Input rate limit. Default 2,000 events/s. */
  readonly maxEventsPerSecond?: number;
  /** The features this host offered in Welcome (spec/session.md §6.8); the helper may take any of them. Default none. */
  readonly offeredFeatures?: readonly Feature[];
  /** Told of each input event the gate dropped, with the reason (for a session recording). */
  readonly onInputDropped?: (event: InputEvent, reason: DropReason) => void;
}

/** Events of the host side of one session. */
export type HostSessionEvent =
  | CoreEvent
  /** Input that passed the gate: inject it. */
  | { readonly type: 'input'; readonly events: readonly InputEvent[] }
  /** The helper decoded updates up to `seq`. */
  | { readonly type: 'ack'; readonly seq: number }
  /** The helper asks for control; answer with grantControl() or denyControl(). */
  | { readonly type: 'control-request' }
  | { readonly type: 'mode'; readonly mode: Mode; readonly paused: boolean }
  /** The helper took these features (spec/session.md §6.8); from now on both sides may use them. */
  | { readonly type: 'features'; readonly features: readonly Feature[] };

/**
 * The host's side of one session after the handshake (sans-IO; spec/session.md).
 * It sends display updates under flow control (at most maxInFlight not yet decoded), takes input
 * through the gate, and carries control requests, grants, revocations and pauses.
 */
export class HostSession extends SessionCore<HostSessionEvent> {
  readonly #gate: InputGate;
  readonly #maxInFlight: number;
  readonly #maxMode: Mode;
  #mode: Mode;
  #paused = false;
  #sentSeq = 0;
  #decodedSeq = 0;
  #controlRequested = false;
  readonly #offered: ReadonlySet<Feature>;
  #features: ReadonlySet<Feature> | undefined;
  #cursor: CursorSender | undefined;

  constructor(options: HostSessionOptions) {
    super(options);
    this.#mode = options.mode;
    this.#maxMode = options.maxMode;
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.#offered = new Set(options.offeredFeatures ?? []);
    this.#gate = new InputGate({
      width: options.width,
      height: options.height,
      now: options.clock,
      ...(options.maxEventsPerSecond === undefined ? {} : { maxEventsPerSecond: options.maxEventsPerSecond }),
      ...(options.onInputDropped === undefined ? {} : { onDrop: options.onInputDropped }),
    });
    this.#gate.setMode(this.#mode);
  }

  /** Whether the helper took `feature` (spec/session.md §6.8): only then may the host use its channel and messages. */
  hasFeature(feature: Feature): boolean {
    return this.#features?.has(feature) ?? false;
  }

  /** The helper's current mode. */
  get mode(): Mode {
    return this.#mode;
  }

  /** The most this helper may be granted. */
  get maxMode(): Mode {
    return this.#maxMode;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** What the input gate admitted and dropped, by reason. */
  get inputStats(): InputGate['stats'] {
    return this.#gate.stats;
  }

  /** Updates sent and not yet decoded. */
  get inFlight(): number {
    return this.#sentSeq - this.#decodedSeq;
  }

  /** Sequence number of the last update sent (0 before the first). */
  get sentSeq(): number {
    return this.#sentSeq;
  }

  /** Sequence number of the last update the helper decoded. */
  get decodedSeq(): number {
    return this.#decodedSeq;
  }

  /** True while another update may be sent without exceeding the in-flight cap. */
  get canSendUpdate(): boolean {
    return this.state === 'open' && this.inFlight < this.#maxInFlight;
  }

  /** Largest codec update one Display frame carries within the 16 MiB cap (FR-10): 16 MiB − 21 bytes with a 16-byte tag. */
  get maxUpdateBytes(): number {
    return this.maxPayloadBytes - DISPLAY_HEADER_BYTES;
  }

  /**
   * Sends one codec update on the Display channel and returns its sequence number.
   * An update over maxUpdateBytes is refused here (FR-10), before it takes a sequence number; a host splits
   * such a picture into several updates first (FittingEncoder, spec/framing.md §2.3).
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the in-flight cap is reached, the session is closed, or the update is over maxUpdateBytes
   */
  sendUpdate(update: Uint8Array, now: number): number {
    if (!this.canSendUpdate) throw new StateError('update sent while the in-flight cap is reached or the session is closed');
    if (!(update.byteLength <= this.maxUpdateBytes)) {
      throw new StateError(`a ${update.byteLength}-byte display update does not fit one frame (at most ${this.maxUpdateBytes} bytes); nothing was sent`, {
        context: 'host-session',
        field: 'update',
        expected: this.maxUpdateBytes,
        received: update.byteLength,
      });
    }
    const seq = ++this.#sentSeq;
    const payload = new Uint8Array(DISPLAY_HEADER_BYTES + update.byteLength);
    new DataView(payload.buffer).setUint32(0, seq);
    payload.set(update, DISPLAY_HEADER_BYTES);
    this.sendFrame(Channel.Display, payload, now);
    return seq;
  }

  /**
   * Brings the helper's picture of the pointer to `state` on the Cursor channel (spec/session.md §6.9): the shape
   * first when the helper does not hold it, then the position; nothing when nothing changed. Not held behind display
   * updates (SES-12): it goes out whatever the in-flight count. The caller paces it (at most ~60 a second).
   * @param sent - called with each payload as it is sent (the host's recording keeps exactly what crossed)
   * @returns the number of frames sent: 0 when the helper did not take the `cursor` feature, the session is closed or nothing changed
   */
  sendCursor(state: CursorState, now: number, sent?: (payload: Uint8Array) => void): number {
    if (this.state !== 'open' || !this.hasFeature('cursor')) return 0;
    this.#cursor ??= new CursorSender();
    const payloads = this.#cursor.next(state);
    for (const p of payloads) {
      this.sendFrame(Channel.Cursor, p, now);
      sent?.(p);
    }
    return payloads.length;
  }

  /** Grants control (or sets view) within maxMode; tells the helper. */
  setMode(mode: Mode, now: number): Mode {
    const granted: Mode = mode === 'control' && this.#maxMode === 'control' ? 'control' : 'view';
    this.#mode = granted;
    this.#controlRequested = false;
    this.#gate.setMode(granted);
    if (granted === 'view') this.#emitReleases(this.#gate.releaseAll());
    this.sendControl({ t: 'control-grant', mode: granted }, now);
    this.emit({ type: 'mode', mode: granted, paused: this.#paused });
    return granted;
  }

  /** Answers a control request with a grant (within maxMode). */
  grantControl(now: number): Mode {
    return this.setMode('control', now);
  }

  /** Answers a control request with a refusal: the helper stays a viewer. */
  denyControl(now: number): void {
    this.setMode('view', now);
  }

  /** Takes control away at once: input stops at the gate before the helper even hears of it. */
  revokeControl(now: number): void {
    if (this.state !== 'open') return;
    this.#mode = 'view';
    this.#gate.setMode('view');
    this.#emitReleases(this.#gate.releaseAll());
    this.sendControl({ t: 'control-revoke' }, now);
    this.emit({ type: 'mode', mode: 'view', paused: this.#paused });
  }

  /** Pauses or resumes the helper's input (the helper keeps viewing). */
  pause(paused: boolean, now: number): void {
    if (this.state !== 'open') return;
    this.#paused = paused;
    this.#gate.setPaused(paused);
    if (paused) this.#emitReleases(this.#gate.releaseAll());
    this.sendControl({ t: 'pause', paused }, now);
    this.emit({ type: 'mode', mode: this.#mode, paused });
  }

  /** Tells the helper the screen changed size (the next update carries the new size too). */
  resize(width: number, height: number, now: number): void {
    this.#gate.resize(width, height);
    this.sendControl({ t: 'screen', width, height }, now);
  }

  protected override onClose(): void {
    this.#emitReleases(this.#gate.releaseAll());
  }

  /** Clipboard text from the helper reaches the host only under control, like input. */
  protected override acceptClipboard(): boolean {
    return this.#gate.admitClipboard();
  }

  protected handleFrame(frame: Frame, _now: number): void {
    if (frame.channel === Channel.Input) {
      const events = decodeInputBatch(frame.payload);
      const admitted = this.#gate.admit(events);
      if (admitted.length > 0) this.emit({ type: 'input', events: admitted });
      return;
    }
    throw new ProtocolError(ErrorCode.UnexpectedMessage, `the helper may not send on channel ${frame.channel}`, {
      context: 'host-session',
      field: 'channel',
      received: frame.channel,
    });
  }

  protected handleControlMessage(msg: ControlMessage, _now: number): void {
    switch (msg.t) {
      case 'ack': {
        if (!(msg.seq <= this.#sentSeq)) {
          throw new ProtocolError(ErrorCode.InvalidField, `ack for update ${msg.seq} that was never sent (last ${this.#sentSeq})`, {
            context: 'ack',
            field: 'seq',
            received: msg.seq,
          });
        }
        if (msg.seq > this.#decodedSeq) {
          this.#decodedSeq = msg.seq;
          this.emit({ type: 'ack', seq: msg.seq });
        }
        return;
      }
      case 'features':
        this.#takeFeatures(msg);
        return;
      case 'control-request':
        // Ask the host user at most once per pending request; a flood of requests is one question.
        if (this.#mode === 'control' || this.#controlRequested) return;
        this.#controlRequested = true;
        this.emit({ type: 'control-request' });
        return;
      default:
        throw new ProtocolError(ErrorCode.UnexpectedMessage, `the helper may not send '${msg.t}'`, {
          context: 'host-session',
          field: 't',
          received: msg.t,
        });
    }
  }

  #takeFeatures(msg: Extract<ControlMessage, { t: 'features' }>): void {
    if (this.#features !== undefined) {
      throw new ProtocolError(ErrorCode.UnexpectedMessage, 'the helper sent its features twice', { context: 'host-session', field: 't', received: msg.t });
    }
    const taken: Feature[] = [];
    for (const name of FEATURE_NAMES) {
      const version = msg[name];
      if (version === undefined) continue;
      if (!this.#offered.has(name) || version > FEATURES[name]) {
        throw new ProtocolError(ErrorCode.InvalidField, `the helper took feature '${name}' version ${version}, which this host did not offer`, {
          context: 'features',
          field: name,
          received: version,
        });
      }
      taken.push(name);
    }
    this.#features = new Set(taken);
    if (this.#features.has('transfer')) this.enableTransfers();
    this.emit({ type: 'features', features: taken });
  }

  #emitReleases(release: InputEvent[]): void {
    if (release.length > 0) this.emit({ type: 'input', events: release });
  }
}
