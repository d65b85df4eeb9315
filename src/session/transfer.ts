/**
 * File transfer on a session, both ways; implements spec/transfer.md (the `transfer` feature, spec/session.md §6.8).
 *
 * Sans-IO and pure: no file system, no hashing. The owner (src/driver/transfer.ts) reads and writes the bytes and
 * checks the SHA-256; this machine checks the order of messages, every offset, size and window, and keeps at most
 * MAX_OPEN_TRANSFERS transfers open each way, so a peer cannot make it hold more than that whatever it sends.
 *
 * Each side numbers the files it sends; the id spaces of the two directions are separate, and which one a message
 * belongs to follows from its type: the sender of a file sends file-offer, chunks, file-done and file-cancel; its
 * receiver sends file-accept, file-ack, file-reject and file-saved.
 */
import { ByteReader, ErrorCode, ProtocolError, StateError } from '../core/index.js';
import { MAX_FILE_NAME_BYTES, SHA256_BYTES, type ControlMessage, type TransferCode } from '../framing/control.js';

/** Bytes before the data in a Transfer-channel chunk: 4 (id) + 8 (offset). spec/transfer.md §5 */
export const CHUNK_HEADER_BYTES = 4 /* id */ + 8; /* offset */
/** Most file data one chunk may carry; more is LIMIT_EXCEEDED. spec/transfer.md §5 */
export const MAX_CHUNK_DATA_BYTES = 256 * 1024;
/** Most bytes a sender may have sent beyond the receiver's last file-accept or file-ack offset. spec/transfer.md §5 */
export const TRANSFER_WINDOW_BYTES = 4 * 1024 * 1024;
/** A receiver acknowledges at least every this many bytes written (and at the end). spec/transfer.md §5 */
export const TRANSFER_ACK_STEP_BYTES = 1024 * 1024;
/** Most transfers open at once in each direction of one session; an offer beyond is refused with `busy`. spec/transfer.md §3 */
export const MAX_OPEN_TRANSFERS = 4;
/** Ids of ended transfers remembered, so chunks still in flight after a refusal are dropped rather than fatal. */
const MAX_ENDED_IDS = 64;
/** Largest file size: 2^53 − 1 bytes (the largest msgpack uint a receiver must read exactly). */
const MAX_FILE_BYTES = Number.MAX_SAFE_INTEGER;

/** What a file-offer announces. */
export interface FileOffer {
  readonly id: number;
  /** The name as the sender wrote it: untrusted text, never a path (the receiver sanitises it). */
  readonly name: string;
  readonly size: number;
  readonly sha256: Uint8Array;
}

/** One chunk on the Transfer channel. */
export interface FileChunk {
  readonly id: number;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** Events of the transfer machine, delivered through the session's events. */
export type TransferEvent =
  /** The peer offers a file: answer with acceptFile or rejectFile. */
  | { readonly type: 'file-offer'; readonly offer: FileOffer }
  /** Data of an accepted incoming file, in order; `data` is owned by the receiver. Call fileWritten once stored. */
  | { readonly type: 'file-data'; readonly id: number; readonly offset: number; readonly data: Uint8Array }
  /** Every byte of an incoming file arrived: check the SHA-256, then call fileSaved or rejectFile('integrity'). */
  | { readonly type: 'file-complete'; readonly id: number }
  /** The peer accepted an outgoing file from `offset`: send its bytes with sendFileChunk. */
  | { readonly type: 'file-accepted'; readonly id: number; readonly offset: number }
  /** The peer acknowledged `offset` bytes of an outgoing file as stored. */
  | { readonly type: 'file-acked'; readonly id: number; readonly offset: number }
  /** The peer stored an outgoing file and its SHA-256 matched. */
  | { readonly type: 'file-saved'; readonly id: number }
  /** A transfer ended without success; `byPeer` says who stopped it, `direction` which way the file went. */
  | { readonly type: 'file-ended'; readonly id: number; readonly direction: 'in' | 'out'; readonly code: TransferCode; readonly byPeer: boolean };

type OutState = 'offered' | 'sending' | 'sent';
interface Outgoing {
  readonly offer: FileOffer;
  state: OutState;
  /** Next byte to send. */
  next: number;
  /** What the receiver acknowledged. */
  acked: number;
}
type InState = 'offered' | 'receiving' | 'complete';
interface Incoming {
  readonly offer: FileOffer;
  state: InState;
  /** Next byte expected. */
  next: number;
  /** The offset of the last file-accept or file-ack sent. */
  acked: number;
  /** Bytes the owner has written. */
  written: number;
}

/** What the machine needs of its session. */
export interface TransferHost {
  sendControl(msg: ControlMessage, now: number): void;
  sendChunk(payload: Uint8Array, now: number): void;
  emit(event: TransferEvent): void;
}

/**
 * Encodes one Transfer-channel chunk (spec/transfer.md §5): id u32, offset u64, then the data, big-endian.
 * @throws {StateError} TESSERA_ERR_BAD_STATE for an id, offset or data length out of range
 */
export function encodeChunk(chunk: FileChunk): Uint8Array {
  const { id, offset, data } = chunk;
  if (!(Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) throw new StateError(`chunk id ${id} is not a u32`);
  if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new StateError(`chunk offset ${offset} is not a safe non-negative integer`);
  if (!(data.byteLength >= 1 && data.byteLength <= MAX_CHUNK_DATA_BYTES)) throw new StateError(`chunk data of ${data.byteLength} bytes is not 1..${MAX_CHUNK_DATA_BYTES}`);
  const out = new Uint8Array(CHUNK_HEADER_BYTES + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, id);
  view.setUint32(4, Math.floor(offset / 0x1_0000_0000));
  view.setUint32(8, offset >>> 0);
  out.set(data, CHUNK_HEADER_BYTES);
  return out;
}

/**
 * Decodes one Transfer-channel chunk. Total and bounded: the data is a view of `payload` (copy it to keep it).
 * @throws {ProtocolError} TESSERA_ERR_TRUNCATED under 13 bytes; TESSERA_ERR_INVALID_FIELD for an offset of 2^53 or
 *   more; TESSERA_ERR_LIMIT_EXCEEDED for data over MAX_CHUNK_DATA_BYTES
 */
export function decodeChunk(payload: Uint8Array): FileChunk {
  const r = new ByteReader(payload, 'file-chunk');
  r.need(CHUNK_HEADER_BYTES + 1, 'header and data');
  const id = r.u32('id');
  const hi = r.u32('offset');
  const lo = r.u32('offset');
  if (!(hi < 0x20_0000)) {
    throw new ProtocolError(ErrorCode.InvalidField, 'chunk offset is 2^53 or more', { context: 'file-chunk', field: 'offset', received: hi });
  }
  const length = r.remaining;
  if (!(length <= MAX_CHUNK_DATA_BYTES)) {
    throw new ProtocolError(ErrorCode.LimitExceeded, `chunk of ${length} data bytes is over ${MAX_CHUNK_DATA_BYTES}`, {
      context: 'file-chunk',
      field: 'data',
      expected: MAX_CHUNK_DATA_BYTES,
      received: length,
    });
  }
  return { id, offset: hi * 0x1_0000_0000 + lo, data: r.bytesView(length, 'data') };
}

/**
 * The transfer machine of one session (both directions). Created by the session once the `transfer` feature is on.
 */
export class Transfers {
  readonly #host: TransferHost;
  readonly #out = new Map<number, Outgoing>();
  readonly #in = new Map<number, Incoming>();
  /** Ended ids of each direction, oldest first (bounded). */
  readonly #endedOut: number[] = [];
  readonly #endedIn: number[] = [];
  #nextId = 1;

  constructor(host: TransferHost) {
    this.#host = host;
  }

  /** Transfers open in each direction. */
  get open(): { readonly in: number; readonly out: number } {
    return { in: this.#in.size, out: this.#out.size };
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /**
   * Offers a file to the peer and returns its id; its bytes go once the peer accepts ('file-accepted').
   * @throws {StateError} TESSERA_ERR_BAD_STATE for a bad name, size or hash, or with MAX_OPEN_TRANSFERS already open
   */
  offerFile(file: { readonly name: string; readonly size: number; readonly sha256: Uint8Array }, now: number): number {
    if (!(this.#out.size < MAX_OPEN_TRANSFERS)) throw new StateError(`${MAX_OPEN_TRANSFERS} files are already being sent; wait for one to finish`);
    if (!(Number.isSafeInteger(file.size) && file.size >= 0 && file.size <= MAX_FILE_BYTES)) throw new StateError(`file size ${file.size} is out of range`);
    if (file.sha256.byteLength !== SHA256_BYTES) throw new StateError('the file hash must be a 32-byte SHA-256');
    const name = file.name.length === 0 ? 'file' : file.name;
    if (!(new TextEncoder().encode(name).byteLength <= MAX_FILE_NAME_BYTES)) throw new StateError(`file name is over ${MAX_FILE_NAME_BYTES} bytes`);
    let id = this.#nextId;
    while (this.#out.has(id) || this.#endedOut.includes(id)) id = (id + 1) >>> 0 || 1;
    this.#nextId = (id + 1) >>> 0 || 1;
    const offer: FileOffer = { id, name, size: file.size, sha256: file.sha256.slice() };
    this.#out.set(id, { offer, state: 'offered', next: 0, acked: 0 });
    this.#host.sendControl({ t: 'file-offer', id, name, size: file.size, sha256: offer.sha256 }, now);
    return id;
  }

  /**
   * How many bytes of outgoing file `id` may be sent now, from which offset: within the window, at most one chunk.
   * undefined when the file is not being sent (not accepted yet, finished, or ended).
   */
  sendable(id: number): { readonly offset: number; readonly length: number } | undefined {
    const o = this.#out.get(id);
    if (!o || o.state !== 'sending') return undefined;
    const length = Math.min(MAX_CHUNK_DATA_BYTES, o.offer.size - o.next, o.acked + TRANSFER_WINDOW_BYTES - o.next);
    return { offset: o.next, length: Math.max(0, length) };
  }

  /**
   * Sends the next bytes of outgoing file `id` (at the offset `sendable` gave, within its length); after the last
   * byte the machine sends file-done.
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the file is not being sent or the bytes do not fit
   */
  sendFileChunk(id: number, offset: number, data: Uint8Array, now: number): void {
    const can = this.sendable(id);
    if (!can || offset !== can.offset || !(data.byteLength >= 1 && data.byteLength <= can.length)) {
      throw new StateError(`chunk of file ${id} at ${offset} (${data.byteLength} bytes) does not fit what may be sent now`);
    }
    const o = this.#out.get(id)!;
    this.#host.sendChunk(encodeChunk({ id, offset, data }), now);
    o.next += data.byteLength;
    if (o.next === o.offer.size) this.#finishSending(o, now);
  }

  /** Stops sending file `id` (the user cancelled, or the file could not be read); the peer gets file-cancel. */
  cancelFile(id: number, code: TransferCode, now: number): void {
    const o = this.#out.get(id);
    if (!o) return;
    this.#endOut(id);
    this.#host.sendControl({ t: 'file-cancel', id, code }, now);
    this.#host.emit({ type: 'file-ended', id, direction: 'out', code, byPeer: false });
  }

  #finishSending(o: Outgoing, now: number): void {
    o.state = 'sent';
    this.#host.sendControl({ t: 'file-done', id: o.offer.id }, now);
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  /**
   * Accepts incoming file `id` from `offset` (the bytes already stored from an earlier attempt, 0 for none).
   * @throws {StateError} TESSERA_ERR_BAD_STATE when the file is not offered or the offset is beyond its size
   */
  acceptFile(id: number, offset: number, now: number): void {
    const i = this.#in.get(id);
    if (!i || i.state !== 'offered') throw new StateError(`file ${id} is not waiting for an answer`);
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset <= i.offer.size)) throw new StateError(`offset ${offset} is beyond the file's ${i.offer.size} bytes`);
    i.state = 'receiving';
    i.next = i.acked = i.written = offset;
    this.#host.sendControl({ t: 'file-accept', id, offset }, now);
  }

  /** Refuses (or, once accepted, stops) incoming file `id` with `code`; the peer gets file-reject. */
  rejectFile(id: number, code: TransferCode, now: number): void {
    const i = this.#in.get(id);
    if (!i) return;
    this.#endIn(id);
    this.#host.sendControl({ t: 'file-reject', id, code }, now);
    this.#host.emit({ type: 'file-ended', id, direction: 'in', code, byPeer: false });
  }

  /** The owner stored incoming file `id` up to `offset`: acknowledges it when a step is due (the window moves on). */
  fileWritten(id: number, offset: number, now: number): void {
    const i = this.#in.get(id);
    if (!i || i.state === 'offered' || !(offset > i.written && offset <= i.next)) return;
    i.written = offset;
    if (offset - i.acked >= TRANSFER_ACK_STEP_BYTES || offset === i.offer.size) {
      i.acked = offset;
      this.#host.sendControl({ t: 'file-ack', id, offset }, now);
    }
  }

  /** Incoming file `id` is stored and its SHA-256 matched: tells the sender, and the transfer ends. */
  fileSaved(id: number, now: number): void {
    const i = this.#in.get(id);
    if (!i || i.state !== 'complete') throw new StateError(`file ${id} is not complete`);
    this.#endIn(id);
    this.#host.sendControl({ t: 'file-saved', id }, now);
  }

  /** Every transfer still open ends (the session closed); each gets a 'file-ended' with `code`. */
  endAll(code: TransferCode): void {
    for (const id of [...this.#out.keys()]) {
      this.#endOut(id);
      this.#host.emit({ type: 'file-ended', id, direction: 'out', code, byPeer: false });
    }
    for (const id of [...this.#in.keys()]) {
      this.#endIn(id);
      this.#host.emit({ type: 'file-ended', id, direction: 'in', code, byPeer: false });
    }
  }

  // -------------------------------------------------------------------------------------------
  // From the peer

  /** A chunk on the Transfer channel. */
  handleChunk(payload: Uint8Array): void {
    const { id, offset, data } = decodeChunk(payload);
    const i = this.#in.get(id);
    if (!i) {
      if (this.#endedIn.includes(id)) return; // Sent before our refusal reached the peer.
      throw bad(`chunk for file ${id}, which is not being received`, 'id', id);
    }
    if (i.state !== 'receiving') throw bad(`chunk for file ${id} before it was accepted or after its end`, 'id', id);
    if (offset !== i.next) throw bad(`chunk of file ${id} at offset ${offset}, expected ${i.next}`, 'offset', offset, i.next);
    const end = offset + data.byteLength;
    if (!(end <= i.offer.size)) throw bad(`chunk of file ${id} ends at ${end}, beyond its ${i.offer.size} bytes`, 'offset', end, i.offer.size);
    if (!(end <= i.acked + TRANSFER_WINDOW_BYTES)) {
      throw new ProtocolError(ErrorCode.LimitExceeded, `chunk of file ${id} ends at ${end}, beyond the window (${i.acked} acknowledged)`, {
        context: 'file-chunk',
        field: 'offset',
        expected: i.acked + TRANSFER_WINDOW_BYTES,
        received: end,
      });
    }
    i.next = end;
    this.#host.emit({ type: 'file-data', id, offset, data: data.slice() });
  }

  /** A file-* control message. */
  handleControl(msg: ControlMessage, now: number): void {
    switch (msg.t) {
      case 'file-offer':
        return this.#onOffer(msg, now);
      case 'file-done': {
        const i = this.#in.get(msg.id);
        if (!i) return this.#unknownIn(msg.id, msg.t);
        if (i.state !== 'receiving' || i.next !== i.offer.size) {
          throw bad(`file-done for file ${msg.id} after ${i.next} of ${i.offer.size} bytes`, 'id', msg.id);
        }
        i.state = 'complete';
        this.#host.emit({ type: 'file-complete', id: msg.id });
        return;
      }
      case 'file-cancel': {
        if (!this.#in.has(msg.id)) return this.#unknownIn(msg.id, msg.t);
        this.#endIn(msg.id);
        this.#host.emit({ type: 'file-ended', id: msg.id, direction: 'in', code: msg.code, byPeer: true });
        return;
      }
      case 'file-accept': {
        const o = this.#out.get(msg.id);
        if (!o) return this.#unknownOut(msg.id, msg.t);
        if (o.state !== 'offered') throw bad(`file-accept for file ${msg.id}, which was already answered`, 'id', msg.id);
        if (!(msg.offset <= o.offer.size)) throw bad(`file-accept offset ${msg.offset} beyond the file's ${o.offer.size} bytes`, 'offset', msg.offset, o.offer.size);
        o.state = 'sending';
        o.next = o.acked = msg.offset;
        this.#host.emit({ type: 'file-accepted', id: msg.id, offset: msg.offset });
        if (o.next === o.offer.size) this.#finishSending(o, now);
        return;
      }
      case 'file-ack': {
        const o = this.#out.get(msg.id);
        if (!o) return this.#unknownOut(msg.id, msg.t);
        if (o.state === 'offered' || !(msg.offset >= o.acked && msg.offset <= o.next)) {
          throw bad(`file-ack of ${msg.offset} bytes for file ${msg.id}, of which ${o.next} were sent`, 'offset', msg.offset, o.next);
        }
        o.acked = msg.offset;
        this.#host.emit({ type: 'file-acked', id: msg.id, offset: msg.offset });
        return;
      }
      case 'file-saved': {
        const o = this.#out.get(msg.id);
        if (!o) return this.#unknownOut(msg.id, msg.t);
        if (o.state !== 'sent' || o.acked !== o.offer.size) throw bad(`file-saved for file ${msg.id} before all its bytes were acknowledged`, 'id', msg.id);
        this.#endOut(msg.id);
        this.#host.emit({ type: 'file-saved', id: msg.id });
        return;
      }
      case 'file-reject': {
        if (!this.#out.has(msg.id)) return this.#unknownOut(msg.id, msg.t);
        this.#endOut(msg.id);
        this.#host.emit({ type: 'file-ended', id: msg.id, direction: 'out', code: msg.code, byPeer: true });
        return;
      }
      default:
        throw new StateError(`'${msg.t}' is not a transfer message`);
    }
  }

  #onOffer(msg: Extract<ControlMessage, { t: 'file-offer' }>, now: number): void {
    if (this.#in.has(msg.id)) throw bad(`file-offer reuses id ${msg.id} of an open transfer`, 'id', msg.id);
    if (msg.sha256.byteLength !== SHA256_BYTES) {
      throw bad(`file-offer sha256 of ${msg.sha256.byteLength} bytes, expected ${SHA256_BYTES}`, 'sha256', msg.sha256.byteLength, SHA256_BYTES);
    }
    if (!(this.#in.size < MAX_OPEN_TRANSFERS)) {
      // Not a protocol error: the sender learns to wait.
      this.#forget(this.#endedIn, msg.id);
      this.#remember(this.#endedIn, msg.id);
      this.#host.sendControl({ t: 'file-reject', id: msg.id, code: 'busy' }, now);
      return;
    }
    const offer: FileOffer = { id: msg.id, name: msg.name, size: msg.size, sha256: msg.sha256 };
    this.#forget(this.#endedIn, msg.id);
    this.#in.set(msg.id, { offer, state: 'offered', next: 0, acked: 0, written: 0 });
    this.#host.emit({ type: 'file-offer', offer });
  }

  #unknownIn(id: number, t: string): void {
    if (this.#endedIn.includes(id)) return;
    throw bad(`${t} for file ${id}, which is not being received`, 'id', id);
  }

  #unknownOut(id: number, t: string): void {
    if (this.#endedOut.includes(id)) return;
    throw bad(`${t} for file ${id}, which was never offered`, 'id', id);
  }

  #endOut(id: number): void {
    this.#out.delete(id);
    this.#remember(this.#endedOut, id);
  }

  #endIn(id: number): void {
    this.#in.delete(id);
    this.#remember(this.#endedIn, id);
  }

  #remember(list: number[], id: number): void {
    list.push(id);
    if (list.length > MAX_ENDED_IDS) list.shift();
  }

  #forget(list: number[], id: number): void {
    const at = list.indexOf(id);
    if (at >= 0) list.splice(at, 1);
  }
}

function bad(message: string, fieldName: string, received: number, expected?: number): ProtocolError {
  return new ProtocolError(ErrorCode.InvalidField, message, {
    context: 'transfer',
    field: fieldName,
    received,
    ...(expected === undefined ? {} : { expected }),
  });
}
