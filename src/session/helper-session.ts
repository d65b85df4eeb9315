import { ErrorCode, ProtocolError, StateError } from '../core/index.js';
import { Channel, type Frame } from '../framing/index.js';
import type { ControlMessage } from '../framing/control.js';
import { encodeInputBatch } from '../input/input-batch.js';
import type { InputEvent } from '../input/events.js';
import { DISPLAY_HEADER_BYTES, MAX_UNDECODED_UPDATES, type Mode } from './constants.js';
import { SessionCore, type CoreEvent, type SessionCoreOptions } from './session-core.js';
import { FEATURES, type Feature } from './features.js';
import { CursorReceiver, type CursorState } from './cursor.js';

/** Options of a HelperSession. */
export interface HelperSessionOptions extends SessionCoreOptions {
  /** The mode the handshake granted. */
  readonly mode: Mode;
  /** The features the host offered in Welcome (`offeredFeatures(welcome.codecs)`). Default none. */
  readonly offeredFeatures?: readonly Feature[];
  /** The features this helper takes when offered (spec/session.md §6.8). Default none. */
  readonly features?: readonly Feature[];
}

/** Events of the helper side of one session. */
export type HelperSessionEvent =
  | CoreEvent
  /** A codec update to decode; call acknowledge(seq) once it is decoded. `update` is owned by the receiver. */
  | { readonly type: 'update'; readonly seq: number; readonly update: Uint8Array }
  | { readonly type: 'mode'; readonly mode: Mode; readonly paused: boolean }
  | { readonly type: 'resize'; readonly width: number; readonly height: number }
  /** The host's pointer moved, changed shape or was shown or hidden (spec/session.md §6.9). */
  | { readonly type: 'cursor'; readonly cursor: CursorState };

/**
 * The helper's side of one session after the handshake (sans-IO; spec/session.md).
 * It hands display updates to the decoder and acknowledges them, sends input while control is held,
 * and asks for control.
 */
export class HelperSession extends SessionCore<HelperSessionEvent> {
  #mode: Mode;
  #paused = false;
  #lastSeq = 0;
  #decodedSeq = 0;
  readonly #features: ReadonlySet<Feature>;
  readonly #cursor = new CursorReceiver();

  constructor(options: HelperSessionOptions) {
    super(options);
    this.#mode = options.mode;
    const offered = new Set(options.offeredFeatures ?? []);
    const taken = [...new Set(options.features ?? [])].filter((f) => offered.has(f));
    this.#features = new Set(taken);
    if (this.#features.has('transfer')) this.enableTransfers();
    // The first message of the session, so the host knows before anything else arrives.
    if (taken.length > 0) {
      const msg: Record<string, unknown> = { t: 'features' };
      for (const f of taken) msg[f] = FEATURES[f];
      this.sendControl(msg as Extract<ControlMessage, { t: 'features' }>, options.now);
    }
  }

  /** Whether this session uses `feature`: the host offered it and this helper took it (spec/session.md §6.8). */
  hasFeature(feature: Feature): boolean {
    return this.#features.has(feature);
  }

  get mode(): Mode {
    return this.#mode;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Sequence number of the last update received. */
  get receivedSeq(): number {
    return this.#lastSeq;
  }

  /** Tells the host that updates up to `seq` are decoded (flow control). */
  acknowledge(seq: number, now: number): void {
    if (this.state !== 'open' || seq <= this.#decodedSeq) return;
    if (!(seq <= this.#lastSeq)) throw new StateError(`cannot acknowledge update ${seq} before receiving it`);
    this.#decodedSeq = seq;
    this.sendControl({ t: 'ack', seq, decoded: seq }, now);
  }

  /**
   * Sends input events. The host's gate is the authority; the helper also holds input back while it
   * knows it has no control, so nothing is sent that would only be dropped.
   * @returns true if the events were sent
   */
  sendInput(events: readonly InputEvent[], now: number): boolean {
    if (this.state !== 'open' || this.#mode !== 'control' || this.#paused || events.length === 0) return false;
    this.sendFrame(Channel.Input, encodeInputBatch(events), now);
    return true;
  }

  /**
   * Sends input even without control (for tests of the host's gate and for conformance suites).
   * A well-behaved helper uses sendInput.
   */
  sendInputUnchecked(events: readonly InputEvent[], now: number): void {
    this.sendFrame(Channel.Input, encodeInputBatch(events), now);
  }

  /** Asks the host user for control. The answer arrives as a 'mode' event. */
  requestControl(now: number): void {
    this.sendControl({ t: 'control-request' }, now);
  }

  protected handleFrame(frame: Frame, _now: number): void {
    if (frame.channel === Channel.Display) {
      if (!(frame.payload.byteLength >= DISPLAY_HEADER_BYTES)) {
        throw new ProtocolError(ErrorCode.Truncated, `truncated display payload: seq needs 4 bytes, ${frame.payload.byteLength} left`, {
          context: 'display',
          field: 'seq',
          expected: DISPLAY_HEADER_BYTES,
          received: frame.payload.byteLength,
        });
      }
      const seq = new DataView(frame.payload.buffer, frame.payload.byteOffset, 4).getUint32(0);
      if (seq !== this.#lastSeq + 1) {
        throw new ProtocolError(ErrorCode.InvalidField, `display update ${seq} out of order (expected ${this.#lastSeq + 1})`, {
          context: 'display',
          field: 'seq',
          expected: this.#lastSeq + 1,
          received: seq,
        });
      }
      if (!(seq - this.#decodedSeq <= MAX_UNDECODED_UPDATES)) {
        throw new ProtocolError(ErrorCode.LimitExceeded, `the host sent update ${seq} with ${seq - 1 - this.#decodedSeq} not yet acknowledged (at most ${MAX_UNDECODED_UPDATES} may be undecoded)`, {
          context: 'display',
          field: 'seq',
          expected: this.#decodedSeq + MAX_UNDECODED_UPDATES,
          received: seq,
        });
      }
      this.#lastSeq = seq;
      this.emit({ type: 'update', seq, update: frame.payload.subarray(DISPLAY_HEADER_BYTES) });
      return;
    }
    if (frame.channel === Channel.Cursor && this.#features.has('cursor')) {
      const cursor = this.#cursor.receive(frame.payload);
      if (cursor !== undefined) this.emit({ type: 'cursor', cursor });
      return;
    }
    throw new ProtocolError(ErrorCode.UnexpectedMessage, `the host may not send on channel ${frame.channel}`, {
      context: 'helper-session',
      field: 'channel',
      received: frame.channel,
    });
  }

  protected handleControlMessage(msg: ControlMessage, _now: number): void {
    switch (msg.t) {
      case 'control-grant':
        this.#mode = msg.mode;
        this.emit({ type: 'mode', mode: this.#mode, paused: this.#paused });
        return;
      case 'control-revoke':
        this.#mode = 'view';
        this.emit({ type: 'mode', mode: 'view', paused: this.#paused });
        return;
      case 'pause':
        this.#paused = msg.paused;
        this.emit({ type: 'mode', mode: this.#mode, paused: this.#paused });
        return;
      case 'screen':
        this.emit({ type: 'resize', width: msg.width, height: msg.height });
        return;
      default:
        throw new ProtocolError(ErrorCode.UnexpectedMessage, `the host may not send '${msg.t}'`, {
          context: 'helper-session',
          field: 't',
          received: msg.t,
        });
    }
  }
}
