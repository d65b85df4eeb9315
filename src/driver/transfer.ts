/**
 * Drives file transfer on one session (spec/transfer.md) for its owner: reads an outgoing file's bytes and sends
 * them under flow control, hands an incoming file's bytes to a sink in order and acknowledges them once stored,
 * and reports progress with bytes and rate. Browser-safe: the owner supplies files and sinks (Node files in
 * src/node/transfer-files.ts, Blobs in the viewer), so no file system and no hashing happen here.
 *
 * Chunks go only while the link has less than TRANSFER_LOW_WATER_BYTES queued, and each read waits for the one
 * before, so display updates, input and control are never held behind a file.
 */
import { TRANSFER_CHUNK_BYTES, TRANSFER_LOW_WATER_BYTES, DEFAULT_TRANSFER_ANSWER_MS } from '../core/defaults.js';

/** Bytes an outgoing file is read in at a time (then cut into chunks), and most bytes an incoming file's write joins. */
const FILE_IO_BYTES = 1024 * 1024;
import { ErrorCode, TesseraError, toTesseraError, type Clock } from '../core/index.js';
import type { TransferCode } from '../framing/control.js';
import type { SessionCore } from '../session/session-core.js';
import type { FileOffer, TransferEvent } from '../session/transfer.js';
import type { SessionDriver } from './session.js';

/** A file to send: its name, size and SHA-256 (computed before the offer), and a reader of its bytes. */
export interface OutgoingFile {
  readonly name: string;
  readonly size: number;
  readonly sha256: Uint8Array;
  /** Reads `length` bytes at `offset` (exactly that many; the file must not change while it is sent). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the file (called once, whatever the outcome). */
  close?(): void | Promise<void>;
}

/** Where an accepted incoming file goes. */
export interface IncomingSink {
  /** Bytes already stored from an earlier attempt with the same SHA-256 and size; the transfer resumes there. */
  readonly offset: number;
  /** Stores bytes at `offset`, in order. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Every byte is stored: checks the SHA-256 and, when it matches, puts the file in place. Returns where, or false on a mismatch. */
  finish(): Promise<string | false>;
  /** The transfer failed or was refused; `code` says why (a sink may keep a partial file to resume later). */
  abort(code: TransferCode): Promise<void>;
}

/** Progress of one transfer. */
export interface TransferProgress {
  readonly id: number;
  readonly direction: 'in' | 'out';
  readonly name: string;
  readonly size: number;
  /** Bytes of the file done (stored by the receiver for 'in'; sent for 'out'), counting a resumed start. */
  readonly bytes: number;
  /** Bytes moved in this session per second, since the transfer started. */
  readonly bytesPerSecond: number;
}

/** How a transfer ended. */
export interface TransferResult extends TransferProgress {
  readonly ok: boolean;
  /** Whether the receiver accepted it (a refusal of the offer is false). */
  readonly accepted: boolean;
  /** The wire code when it failed (declined, too-large, integrity, ...). */
  readonly code?: TransferCode;
  /** Whether the peer stopped it. */
  readonly byPeer?: boolean;
  /** For a received file: where it was saved. */
  readonly path?: string;
  readonly sha256: Uint8Array;
  /** Where the transfer started (an earlier attempt's bytes), 0 for a fresh one. */
  readonly resumedFrom: number;
  readonly elapsedMs: number;
}

/** Options of TransferDriver. */
export interface TransferDriverOptions {
  readonly clock: Clock;
  /**
   * The peer offers a file: answer with a sink to accept it, or a code to refuse it. Without an answer within
   * `answerTimeoutMs` the offer is refused with `timeout`.
   */
  readonly onOffer: (offer: FileOffer, signal: AbortSignal) => Promise<IncomingSink | TransferCode> | IncomingSink | TransferCode;
  readonly onProgress?: (progress: TransferProgress) => void;
  readonly onResult?: (result: TransferResult) => void;
  readonly answerTimeoutMs?: number;
}

interface Job {
  readonly id: number;
  readonly direction: 'in' | 'out';
  readonly name: string;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly startedAt: number;
  start: number;
  bytes: number;
  file?: OutgoingFile;
  sink?: IncomingSink;
  chain: Promise<void>;
  /** Outgoing: bytes read ahead, starting at `readAt`. */
  readBuf?: Uint8Array;
  readAt: number;
  /** Incoming: chunks received and not yet handed to the sink, contiguous from `pendingAt`. */
  pending: Uint8Array[];
  pendingAt: number;
  pendingBytes: number;
  writing: boolean;
  pumping: boolean;
  ended: boolean;
  accepted: boolean;
  answer?: AbortController;
  resolve(result: TransferResult): void;
}

/** File transfer for one session; route the session's transfer events to `handle`. */
export class TransferDriver {
  readonly #session: SessionCore<{ readonly type: string }>;
  readonly #driver: SessionDriver<{ readonly type: string }>;
  readonly #options: TransferDriverOptions;
  readonly #out = new Map<number, Job>();
  readonly #in = new Map<number, Job>();

  constructor(session: SessionCore<{ readonly type: string }>, driver: SessionDriver<{ readonly type: string }>, options: TransferDriverOptions) {
    this.#session = session;
    this.#driver = driver;
    this.#options = options;
  }

  /** Whether the session can carry files (the `transfer` feature is on and the session open). */
  get available(): boolean {
    return this.#session.transfers !== undefined && this.#session.state === 'open';
  }

  /**
   * Offers `file` to the peer and resolves once it ended: saved by the peer (ok), or refused or failed with a code.
   * @throws {TesseraError} TESSERA_ERR_BAD_STATE when the session has no file transfer or is closed
   */
  send(file: OutgoingFile): Promise<TransferResult> {
    const transfers = this.#session.transfers;
    if (!transfers || this.#session.state !== 'open') {
      void file.close?.();
      return Promise.reject(new TesseraError(ErrorCode.BadState, 'this session cannot carry files: the peer did not take the transfer feature, or the session ended'));
    }
    let id: number;
    try {
      id = transfers.offerFile(file, this.#options.clock());
    } catch (err) {
      void file.close?.();
      return Promise.reject(toTesseraError(err));
    }
    return new Promise<TransferResult>((resolve) => {
      this.#out.set(id, this.#job(id, 'out', file.name, file.size, file.sha256, resolve, { file }));
      this.#driver.pump();
    });
  }

  /** Stops an outgoing transfer (`cancelled`). */
  cancel(id: number): void {
    if (!this.#out.has(id)) return;
    this.#session.transfers?.cancelFile(id, 'cancelled', this.#options.clock());
    this.#driver.pump();
  }

  /** Handles one transfer event of the session; returns false for any other event. */
  handle(ev: { readonly type: string }): boolean {
    const e = ev as TransferEvent;
    switch (e.type) {
      case 'file-offer':
        this.#onOffer(e.offer);
        return true;
      case 'file-data':
        this.#onData(e.id, e.offset, e.data);
        return true;
      case 'file-complete':
        this.#onComplete(e.id);
        return true;
      case 'file-accepted': {
        const job = this.#out.get(e.id);
        if (job) {
          job.accepted = true;
          job.start = job.bytes = e.offset;
          this.#pumpOut(job);
        }
        return true;
      }
      case 'file-acked': {
        const job = this.#out.get(e.id);
        if (job) this.#pumpOut(job);
        return true;
      }
      case 'file-saved': {
        const job = this.#out.get(e.id);
        if (job) this.#end(job, { ok: true });
        return true;
      }
      case 'file-ended': {
        const job = (e.direction === 'in' ? this.#in : this.#out).get(e.id);
        if (job) this.#end(job, { ok: false, code: e.code, byPeer: e.byPeer });
        return true;
      }
      default:
        return false;
    }
  }

  #job(
    id: number,
    direction: 'in' | 'out',
    name: string,
    size: number,
    sha256: Uint8Array,
    resolve: (r: TransferResult) => void,
    extra: { file?: OutgoingFile },
  ): Job {
    return { id, direction, name, size, sha256, startedAt: this.#options.clock(), start: 0, bytes: 0, chain: Promise.resolve(), readAt: 0, pending: [], pendingAt: 0, pendingBytes: 0, writing: false, pumping: false, ended: false, accepted: false, resolve, ...extra };
  }

  #progress(job: Job): TransferProgress {
    const elapsed = Math.max(1, this.#options.clock() - job.startedAt);
    return { id: job.id, direction: job.direction, name: job.name, size: job.size, bytes: job.bytes, bytesPerSecond: ((job.bytes - job.start) * 1000) / elapsed };
  }

  #end(job: Job, how: { ok: boolean; code?: TransferCode; byPeer?: boolean; path?: string }): void {
    if (job.ended) return;
    job.ended = true;
    (job.direction === 'in' ? this.#in : this.#out).delete(job.id);
    job.answer?.abort(new TesseraError(ErrorCode.Closed, 'the offer ended'));
    if (job.file) void Promise.resolve(job.file.close?.()).catch(() => undefined);
    if (!how.ok && job.sink) {
      const sink = job.sink;
      job.chain = job.chain.then(() => sink.abort(how.code ?? 'cancelled')).catch(() => undefined);
    }
    const result: TransferResult = {
      ...this.#progress(job),
      ok: how.ok,
      accepted: job.accepted,
      sha256: job.sha256,
      resumedFrom: job.start,
      elapsedMs: this.#options.clock() - job.startedAt,
      ...(how.code === undefined ? {} : { code: how.code }),
      ...(how.byPeer === undefined ? {} : { byPeer: how.byPeer }),
      ...(how.path === undefined ? {} : { path: how.path }),
    };
    void job.chain.then(() => {
      this.#options.onResult?.(result);
      job.resolve(result);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  #pumpOut(job: Job): void {
    if (job.pumping || job.ended) return;
    job.pumping = true;
    void this.#sendLoop(job).finally(() => {
      job.pumping = false;
    });
  }

  async #sendLoop(job: Job): Promise<void> {
    const file = job.file!;
    for (;;) {
      const transfers = this.#session.transfers;
      if (job.ended || !transfers || this.#session.state !== 'open') return;
      const can = transfers.sendable(job.id);
      // Not accepted, finished, or the window is full: file-acked calls again.
      if (!can || can.length === 0) return;
      if (this.#driver.link.queuedBytes + this.#session.pendingTransmitBytes >= TRANSFER_LOW_WATER_BYTES) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      let data: Uint8Array;
      try {
        // Read a large block once and cut chunks from it: one read per MiB, not per chunk.
        const buf = job.readBuf;
        if (!buf || can.offset < job.readAt || can.offset >= job.readAt + buf.byteLength) {
          job.readBuf = undefined;
          const block = await file.read(can.offset, Math.min(FILE_IO_BYTES, job.size - can.offset));
          if (block.byteLength === 0) throw new TesseraError(ErrorCode.Io, 'the file is shorter than when it was offered');
          job.readBuf = block;
          job.readAt = can.offset;
        }
        const from = can.offset - job.readAt;
        data = job.readBuf!.subarray(from, from + Math.min(can.length, TRANSFER_CHUNK_BYTES));
      } catch {
        if (!job.ended && this.#session.state === 'open') {
          this.#session.transfers?.cancelFile(job.id, 'io', this.#options.clock());
          this.#driver.pump();
        }
        return;
      }
      if (job.ended || this.#session.state !== 'open') return;
      const now = this.#options.clock();
      transfers.sendFileChunk(job.id, can.offset, data, now);
      job.bytes = can.offset + data.byteLength;
      this.#driver.flush();
      this.#options.onProgress?.(this.#progress(job));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #onOffer(offer: FileOffer): void {
    const job = this.#job(offer.id, 'in', offer.name, offer.size, offer.sha256, () => undefined, {});
    this.#in.set(offer.id, job);
    const answer = (job.answer = new AbortController());
    const timeoutMs = this.#options.answerTimeoutMs ?? DEFAULT_TRANSFER_ANSWER_MS;
    const timer = setTimeout(() => answer.abort(new TesseraError(ErrorCode.Timeout, 'no answer to the file offer')), timeoutMs);
    (timer as { unref?: () => void }).unref?.();
    const decided = new Promise<IncomingSink | TransferCode>((resolve) => {
      answer.signal.addEventListener('abort', () => resolve('timeout'), { once: true });
      Promise.resolve()
        .then(() => this.#options.onOffer(offer, answer.signal))
        .then(resolve, () => resolve('io'));
    });
    void decided.then(async (reply) => {
      clearTimeout(timer);
      const transfers = this.#session.transfers;
      if (job.ended || !transfers || this.#session.state !== 'open') {
        if (typeof reply !== 'string') await reply.abort('cancelled').catch(() => undefined);
        return;
      }
      job.answer = undefined;
      const now = this.#options.clock();
      if (typeof reply === 'string') {
        transfers.rejectFile(offer.id, reply, now);
      } else {
        job.sink = reply;
        job.accepted = true;
        job.start = job.bytes = reply.offset;
        transfers.acceptFile(offer.id, reply.offset, now);
      }
      this.#driver.pump();
    });
  }

  #onData(id: number, offset: number, data: Uint8Array): void {
    const job = this.#in.get(id);
    if (!job?.sink) return;
    if (job.pendingBytes === 0) job.pendingAt = offset;
    job.pending.push(data);
    job.pendingBytes += data.byteLength;
    if (!job.writing) this.#writeLoop(job);
  }

  /** Hands what arrived to the sink, joining consecutive chunks into writes of up to FILE_IO_BYTES, one write at a time. */
  #writeLoop(job: Job): void {
    const sink = job.sink!;
    job.writing = true;
    job.chain = job.chain.then(async () => {
      while (job.pendingBytes > 0 && !job.ended) {
        let take = 0;
        let n = 0;
        while (n < job.pending.length && (n === 0 || take + job.pending[n]!.byteLength <= FILE_IO_BYTES)) take += job.pending[n++]!.byteLength;
        const parts = job.pending.splice(0, n);
        const at = job.pendingAt;
        job.pendingAt += take;
        job.pendingBytes -= take;
        let data = parts[0]!;
        if (parts.length > 1) {
          data = new Uint8Array(take);
          let o = 0;
          for (const p of parts) {
            data.set(p, o);
            o += p.byteLength;
          }
        }
        try {
          await sink.write(at, data);
        } catch {
          job.writing = false;
          this.#failIn(job, 'io');
          return;
        }
        if (job.ended) break;
        job.bytes = at + take;
        this.#session.transfers?.fileWritten(job.id, job.bytes, this.#options.clock());
        this.#driver.pump();
        this.#options.onProgress?.(this.#progress(job));
      }
      job.writing = false;
    });
  }

  #onComplete(id: number): void {
    const job = this.#in.get(id);
    if (!job?.sink) return;
    const sink = job.sink;
    job.chain = job.chain.then(async () => {
      if (job.ended) return;
      let saved: string | false;
      try {
        saved = await sink.finish();
      } catch {
        this.#failIn(job, 'io');
        return;
      }
      if (job.ended) return;
      if (saved === false) {
        this.#failIn(job, 'integrity');
        return;
      }
      if (this.#session.state === 'open') {
        this.#session.transfers?.fileSaved(id, this.#options.clock());
        this.#driver.pump();
      }
      this.#end(job, { ok: true, path: saved });
    });
  }

  #failIn(job: Job, code: TransferCode): void {
    if (this.#session.state === 'open' && this.#session.transfers) {
      this.#session.transfers.rejectFile(job.id, code, this.#options.clock());
      this.#driver.pump();
    } else {
      this.#end(job, { ok: false, code });
    }
  }
}
