/**
 * A bounded send queue in front of any writable stream (a socket, a WebSocket stream, an in-memory pair).
 * It honours `write()`'s return value: once the stream says it is full, chunks wait here until
 * 'drain'; and once the bytes held here plus the stream's own buffer reach `maxQueuedBytes`,
 * `write()` returns a promise that waits for room, so a peer that stops reading makes the sender
 * wait instead of growing a queue without bound.
 */
import type { Writable } from 'node:stream';
import { AbortError, ErrorCode, StateError, TesseraError } from '../core/index.js';

/** Options of a SendQueue. */
export interface SendQueueOptions {
  /** Cap on bytes queued here plus bytes buffered in the stream. Default 1 MiB. */
  readonly maxQueuedBytes?: number;
}

/** Options of one write. */
export interface WriteOptions {
  /** Cancels the wait for room; the bytes are then not sent. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Queues bytes for a stream, keeping at most `maxQueuedBytes` queued.
 * Writes keep their order: a write waiting for room holds back later ones.
 */
export class SendQueue {
  readonly #stream: Writable;
  readonly #maxQueuedBytes: number;
  /** Admitted chunks not yet handed to the stream (the stream said it was full). */
  readonly #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Writes waiting for room, in order. */
  readonly #waiters: Waiter[] = [];
  /** True after the stream's write() returned false, until 'drain'. */
  #blocked = false;
  #error: Error | undefined;
  #ending = false;
  readonly #drainedWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  #endPromise: Promise<void> | undefined;

  /**
   * @param stream where bytes go; the queue listens to its 'drain', 'error' and 'close'
   * @throws {StateError} TESSERA_ERR_BAD_STATE for a cap that is not a positive integer
   */
  constructor(stream: Writable, options: SendQueueOptions = {}) {
    const max = options.maxQueuedBytes ?? 1024 * 1024;
    if (!(Number.isSafeInteger(max) && max >= 1)) throw new StateError(`maxQueuedBytes must be a positive integer, got ${max}`);
    this.#stream = stream;
    this.#maxQueuedBytes = max;
    stream.on('drain', this.#onDrain);
    stream.on('error', this.#onError);
    stream.on('close', this.#onClose);
    if (stream.destroyed || stream.writableEnded) this.#error = closedError();
  }

  /** Bytes queued here plus bytes the stream has buffered but not yet written out. */
  get queuedBytes(): number {
    return this.#pendingBytes + this.#stream.writableLength;
  }

  /** The cap on `queuedBytes`. */
  get maxQueuedBytes(): number {
    return this.#maxQueuedBytes;
  }

  /** Writes waiting for room. */
  get waitingWrites(): number {
    return this.#waiters.length;
  }

  /** The error that closed this queue, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * Queues `bytes` for sending. Resolves at once when there is room, else once enough queued
   * bytes have been written out. A chunk larger than the whole cap is admitted when the queue is empty.
   * The caller must not modify `bytes` afterwards.
   * @throws AbortError (code ABORT_ERR) when `signal` aborts first; TesseraError TESSERA_ERR_CLOSED or
   *   TESSERA_ERR_IO when the stream closed or failed; StateError after `end()`
   */
  write(bytes: Uint8Array, options: WriteOptions = {}): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ending) return Promise.reject(new StateError('cannot write after end()'));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    if (this.#waiters.length === 0 && this.#hasRoom(bytes.byteLength)) {
      this.#admit(bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new AbortError(undefined, { cause: signal?.reason }));
          // The aborted write may have held back smaller ones that fit.
          this.#admitWaiters();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Queues `bytes` only if there is room now and no write is waiting.
   * @returns true when queued, false when the caller should wait (e.g. coalesce updates instead)
   */
  tryWrite(bytes: Uint8Array): boolean {
    if (this.#error || this.#ending) return false;
    if (this.#waiters.length === 0 && this.#hasRoom(bytes.byteLength)) {
      this.#admit(bytes);
      return true;
    }
    return false;
  }

  /** Resolves when every queued byte has been written out (queuedBytes is 0 and no write waits). */
  drained(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainedWaiters.push({ resolve, reject }));
  }

  /** Sends what is queued, then ends the stream; resolves on 'finish'. Later writes are refused. */
  end(): Promise<void> {
    if (this.#endPromise) return this.#endPromise;
    this.#ending = true;
    this.#endPromise = (async () => {
      await this.drained();
      await new Promise<void>((resolve, reject) => {
        if (this.#error) {
          reject(this.#error);
          return;
        }
        this.#stream.end(() => resolve());
      });
    })();
    return this.#endPromise;
  }

  /** Stops listening to the stream and fails waiting writes; does not destroy the stream. */
  dispose(): void {
    this.#fail(closedError());
    this.#detach();
  }

  #hasRoom(n: number): boolean {
    const queued = this.queuedBytes;
    return queued + n <= this.#maxQueuedBytes || queued === 0;
  }

  #admit(bytes: Uint8Array): void {
    if (this.#blocked) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.byteLength;
    } else {
      this.#writeOut(bytes);
    }
  }

  #writeOut(bytes: Uint8Array): void {
    // The callback fires once the stream has written the chunk out (its writableLength has dropped),
    // which is when waiting writes may fit even if the stream never needed a 'drain'.
    const ok = this.#stream.write(bytes, this.#onWritten);
    if (!ok) this.#blocked = true;
  }

  #pump(): void {
    while (!this.#blocked && this.#pending.length > 0) {
      const chunk = this.#pending.shift()!;
      this.#pendingBytes -= chunk.byteLength;
      this.#writeOut(chunk);
    }
  }

  #admitWaiters(): void {
    while (this.#waiters.length > 0 && !this.#error) {
      const head = this.#waiters[0]!;
      if (!this.#hasRoom(head.bytes.byteLength)) break;
      this.#waiters.shift();
      head.signal?.removeEventListener('abort', head.onAbort);
      this.#admit(head.bytes);
      head.resolve();
    }
    if (this.#isDrained()) {
      for (const w of this.#drainedWaiters.splice(0)) w.resolve();
    }
  }

  #isDrained(): boolean {
    return this.#waiters.length === 0 && this.queuedBytes === 0;
  }

  readonly #onWritten = (err?: Error | null): void => {
    if (err) {
      this.#onError(err);
      return;
    }
    this.#admitWaiters();
  };

  readonly #onDrain = (): void => {
    this.#blocked = false;
    this.#pump();
    this.#admitWaiters();
  };

  readonly #onError = (err: Error): void => {
    // Our own side destroying the stream fails pending writes with ERR_STREAM_DESTROYED: that is a close, not an I/O fault.
    if ((err as { code?: unknown }).code === 'ERR_STREAM_DESTROYED') this.#fail(closedError());
    else this.#fail(new TesseraError(ErrorCode.Io, 'the stream failed while sending', { cause: err }));
  };

  readonly #onClose = (): void => {
    this.#fail(closedError());
    this.#detach();
  };

  #fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    for (const w of this.#waiters.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
    for (const w of this.#drainedWaiters.splice(0)) w.reject(err);
  }

  #detach(): void {
    this.#stream.off('drain', this.#onDrain);
    this.#stream.off('error', this.#onError);
    this.#stream.off('close', this.#onClose);
  }
}

function closedError(): TesseraError {
  return new TesseraError(ErrorCode.Closed, 'the stream is closed');
}
