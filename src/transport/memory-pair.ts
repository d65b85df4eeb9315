/**
 * An in-memory pair of connected `stream.Duplex` objects, like two ends of a socket, with real
 * backpressure: bytes written on one end are pushed to the other end's readable side, and a write
 * completes only once the reader has room, so a reader that stops reading makes the writer's
 * `write()` return false and its 'drain' wait. Used by tests and by in-process demos.
 */
import { Duplex } from 'node:stream';
import { StateError } from '../core/index.js';

/** Options of createDuplexPair. */
export interface DuplexPairOptions {
  /** highWaterMark, in bytes, of each end's readable and writable buffers. Default 16 KiB (as sockets). */
  readonly highWaterMark?: number;
}

class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  /** The write waiting for this end's reader to make room, if any. */
  #pendingCallback: ((err?: Error | null) => void) | undefined;

  constructor(highWaterMark: number) {
    super({ highWaterMark, allowHalfOpen: true, decodeStrings: true });
  }

  /** Delivers a chunk written by the peer; calls `done` once this end's reader wants more. */
  deliver(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.destroyed || this.readableEnded) {
      done(Object.assign(new Error('the other end of the pair is closed'), { code: 'EPIPE' }));
      return;
    }
    if (this.push(chunk)) done();
    else this.#pendingCallback = done;
  }

  override _read(): void {
    const done = this.#pendingCallback;
    if (done !== undefined) {
      this.#pendingCallback = undefined;
      done();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined) {
      callback(new Error('pair end has no peer'));
      return;
    }
    peer.deliver(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    // Half-close: the peer's readable side ends, as with a TCP FIN.
    if (this.peer !== undefined && !this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const done = this.#pendingCallback;
    this.#pendingCallback = undefined;
    const peer = this.peer;
    // A write of the peer blocked on us must not hang forever. When the peer itself is being destroyed
    // (it started this), its write was cancelled locally, as Node reports for a destroyed stream.
    if (done !== undefined) {
      const code = peer?.destroyed ? 'ERR_STREAM_DESTROYED' : 'EPIPE';
      done(Object.assign(new Error(code === 'EPIPE' ? 'the other end of the pair is closed' : 'the stream was destroyed'), { code }));
    }
    if (peer !== undefined && !peer.destroyed) {
      // Like a reset socket: the peer's reads end and it closes too.
      if (!peer.readableEnded) peer.push(null);
      peer.destroy();
    }
    callback(err);
  }
}

/**
 * Creates two connected in-memory duplex streams.
 * Writing to one end makes the bytes readable at the other; ending one ends the other's readable
 * side; destroying one destroys the other.
 * @returns the two ends, [a, b]
 */
export function createDuplexPair(options: DuplexPairOptions = {}): [Duplex, Duplex] {
  const hwm = options.highWaterMark ?? 16 * 1024;
  if (!(Number.isInteger(hwm) && hwm >= 1)) throw new StateError(`highWaterMark must be a positive integer, got ${hwm}`);
  const a = new PairEnd(hwm);
  const b = new PairEnd(hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
