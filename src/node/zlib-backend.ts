/**
 * Node's zlib as the codec's session deflate stream (spec/codec.md §5), about 10x faster than fflate here.
 *
 * The stream must stay open across updates and each update must be compressed synchronously and end with
 * a sync flush. `zlib.deflateRawSync` starts a new stream per call, and a DeflateRaw stream's own synchronous
 * path (`_processChunk` without a callback) closes the stream afterwards. So this backend drives the stream's
 * native handle directly, the same call Node's synchronous helpers make (`handle.writeSync(flush, in, inOff,
 * inLen, out, outOff, outLen)`, with the counts left in `_writeState`), and never closes it between updates.
 * Those two members are internal to Node but have kept their shape since Node 10; the constructor checks they
 * exist and throws a ConfigError otherwise.
 */
import zlib from 'node:zlib';
import { ConfigError } from '../core/index.js';
import type { DeflateBackend, InflateBackend } from '../codec/backends.js';
import { ErrorCode, ProtocolError } from '../core/index.js';

interface NativeZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  close?(): void;
}

interface ZlibInternals {
  _handle: NativeZlibHandle | null;
  _writeState: Uint32Array;
}

function openHandle(stream: zlib.DeflateRaw | zlib.InflateRaw): ZlibInternals {
  const internals = stream as unknown as ZlibInternals;
  if (internals._handle === null || typeof internals._handle?.writeSync !== 'function' || !(internals._writeState instanceof Uint32Array)) {
    throw new ConfigError('this node:zlib has no synchronous stream handle');
  }
  return internals;
}

/** A persistent raw-deflate stream on node:zlib with a sync flush per update. */
export class ZlibDeflateBackend implements DeflateBackend {
  readonly #level: number;
  #stream!: zlib.DeflateRaw;
  #internals!: ZlibInternals;
  #out = new Uint8Array(1 << 16);

  /**
   * @param level deflate level 0..9, default 6
   * @param memLevel zlib memLevel 1..9, default 9 (more memory, faster and a little smaller)
   */
  constructor(level = 6, readonly memLevel = 9) {
    this.#level = level;
    this.reset();
  }

  reset(): void {
    this.#stream?.close();
    this.#stream = zlib.createDeflateRaw({ level: this.#level, memLevel: this.memLevel });
    this.#internals = openHandle(this.#stream);
  }

  deflateSync(input: Uint8Array): Uint8Array {
    const handle = this.#internals._handle!;
    const state = this.#internals._writeState;
    let inOff = 0;
    let inLen = input.length;
    let outOff = 0;
    for (;;) {
      const room = this.#out.length - outOff;
      handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, inOff, inLen, this.#out, outOff, room);
      const outLeft = state[0]!;
      const inLeft = state[1]!;
      outOff += room - outLeft;
      inOff += inLen - inLeft;
      inLen = inLeft;
      // zlib filled the output: it may have more to give, so grow and call again.
      if (outLeft === 0) {
        const next = new Uint8Array(this.#out.length * 2);
        next.set(this.#out.subarray(0, outOff));
        this.#out = next;
        continue;
      }
      return this.#out.subarray(0, outOff);
    }
  }

  /** Frees the native stream. */
  close(): void {
    this.#stream.close();
  }
}

/** A persistent raw-inflate stream on node:zlib, bounded by the caller's output buffer. */
export class ZlibInflateBackend implements InflateBackend {
  #stream!: zlib.InflateRaw;
  #internals!: ZlibInternals;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.#stream?.close();
    this.#stream = zlib.createInflateRaw();
    this.#internals = openHandle(this.#stream);
    // Errors surface through the stream's 'error' event during writeSync; keep them from going unhandled.
    this.#stream.on('error', () => undefined);
  }

  inflateInto(input: Uint8Array, out: Uint8Array): number {
    const handle = this.#internals._handle;
    if (handle === null) throw this.#corrupt(undefined);
    const state = this.#internals._writeState;
    let errored: unknown;
    const onError = (err: unknown): void => {
      errored = err;
    };
    this.#stream.once('error', onError);
    try {
      // One spare byte tells "filled exactly" from "would overflow".
      const spare = new Uint8Array(1);
      handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, 0, input.length, out, 0, out.length);
      if (errored !== undefined) throw this.#corrupt(errored);
      const produced = out.length - state[0]!;
      const inLeft = state[1]!;
      if (state[0] === 0) {
        handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, input.length - inLeft, inLeft, spare, 0, 1);
        if (errored !== undefined) throw this.#corrupt(errored);
        if (state[0] === 0) {
          throw new ProtocolError(ErrorCode.LimitExceeded, `tile body inflates past its declared ${out.length} bytes`, { context: 'codec-update', field: 'body', expected: out.length });
        }
      } else if (inLeft !== 0) {
        throw this.#corrupt(undefined);
      }
      return produced;
    } finally {
      this.#stream.off('error', onError);
    }
  }

  #corrupt(cause: unknown): ProtocolError {
    return new ProtocolError(ErrorCode.DecompressFailed, 'tile body is not valid deflate data', { context: 'codec-update', field: 'body', cause });
  }

  close(): void {
    this.#stream.close();
  }
}

/** Whole-frame byte equality through Buffer.equals (memcmp), for TileEncoderOptions.bytesEqual. */
export function nodeBytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
