/**
 * WebSocket transport: the same tessera byte stream as TCP (spec/framing.md), carried in binary WebSocket
 * messages. Each message is the next chunk of the stream; message boundaries mean nothing, exactly like TCP
 * segment boundaries. Text messages are a protocol error (the stream is bytes, and a browser that sends
 * text is not a tessera viewer). Built on the `ws` package; `WebSocketStream` adapts one socket to a
 * `stream.Duplex` with backpressure both ways, so `Host.attach` and `Helper.attach` run over it unchanged.
 */
import { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AbortError, ErrorCode, ProtocolError, StateError, TesseraError } from '../core/index.js';

/** Path of the WebSocket endpoint on a tessera web server. */
export const WEBSOCKET_PATH = '/tessera';
/**
 * Largest WebSocket message either side sends or accepts (1 MiB). Writes larger than this are split into
 * several messages, so the cap bounds a peer's memory without bounding frame sizes.
 */
export const MAX_WEBSOCKET_MESSAGE_BYTES = 1024 * 1024;
/** Default deadline for the WebSocket opening handshake of connectWebSocket. */
export const DEFAULT_WEBSOCKET_CONNECT_TIMEOUT_MS = 10_000;

/** WebSocket close codes used here (RFC 6455 §7.4.1). */
const CLOSE_NORMAL = 1000;
const CLOSE_UNSUPPORTED_DATA = 1003;

/** Options of WebSocketStream. */
export interface WebSocketStreamOptions {
  /** The peer's IP address, shown in audit records and used for per-address throttling. */
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** Largest message sent at once; larger writes are split (default MAX_WEBSOCKET_MESSAGE_BYTES). */
  readonly maxMessageBytes?: number;
  /** Readable/writable buffer sizes in bytes (default 64 KiB). */
  readonly highWaterMark?: number;
  /** Binary messages that arrived before the stream took the socket over (read first, in order). */
  readonly initial?: readonly Buffer[];
}

/**
 * One open WebSocket as a `stream.Duplex` of bytes. Reading pauses the socket when the reader falls behind;
 * a write completes once `ws` has handed the bytes to the TCP socket, so `write()` returns false and 'drain'
 * waits while the peer is slow. `end()` closes the WebSocket normally (1000) after the queued bytes;
 * `destroy(err)` drops it at once. `remoteAddress` and `remotePort` mirror a net.Socket's, so the handshake
 * driver throttles and audits WebSocket peers the same way as TCP peers.
 */
export class WebSocketStream extends Duplex {
  readonly ws: WebSocket;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly #maxMessageBytes: number;

  /** @throws {StateError} when the socket is not open */
  constructor(ws: WebSocket, options: WebSocketStreamOptions = {}) {
    super({ allowHalfOpen: false, highWaterMark: options.highWaterMark ?? 64 * 1024, decodeStrings: true });
    if (ws.readyState !== WebSocket.OPEN) throw new StateError('the websocket is not open');
    this.ws = ws;
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_WEBSOCKET_MESSAGE_BYTES;
    ws.binaryType = 'nodebuffer';
    for (const chunk of options.initial ?? []) if (chunk.byteLength > 0) this.push(chunk);
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
    ws.on('error', this.#onError);
  }

  #onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.destroyed) return;
    if (!isBinary) {
      this.ws.close(CLOSE_UNSUPPORTED_DATA, 'binary messages only');
      this.destroy(new ProtocolError(ErrorCode.UnexpectedMessage, 'websocket text message; tessera sends binary messages only', { context: 'websocket' }));
      return;
    }
    // With binaryType 'nodebuffer', ws hands over one Buffer per message (fragments already joined).
    const chunk = data as Buffer;
    if (chunk.byteLength === 0) return;
    if (!this.push(chunk)) this.ws.pause();
  };

  #onClose = (): void => {
    // The peer's bytes have all been pushed; the readable side ends, which (no half-open) ends the stream.
    if (!this.destroyed) this.push(null);
  };

  #onError = (err: Error): void => {
    this.destroy(new TesseraError(ErrorCode.Io, 'the websocket failed', { context: 'websocket', cause: err }));
  };

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback(new TesseraError(ErrorCode.Closed, 'the websocket is closed', { context: 'websocket' }));
      return;
    }
    const max = this.#maxMessageBytes;
    if (chunk.byteLength <= max) {
      this.ws.send(chunk, { binary: true }, (err) => callback(err ?? null));
      return;
    }
    for (let pos = 0; pos < chunk.byteLength; pos += max) {
      const end = Math.min(chunk.byteLength, pos + max);
      // Only the last part reports back: ws sends in order, and an earlier failure fails the last one too.
      if (end < chunk.byteLength) this.ws.send(chunk.subarray(pos, end), { binary: true });
      else this.ws.send(chunk.subarray(pos, end), { binary: true }, (err) => callback(err ?? null));
    }
  }

  override _final(callback: (err?: Error | null) => void): void {
    // ws sends the close frame after every message queued before it.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(CLOSE_NORMAL);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.ws.off('message', this.#onMessage);
    this.ws.off('close', this.#onClose);
    this.ws.off('error', this.#onError);
    // Errors after destroy have nobody to tell; keep ws from throwing them unhandled.
    this.ws.on('error', () => {});
    const state = this.ws.readyState;
    if (state === WebSocket.CONNECTING || state === WebSocket.OPEN) {
      if (err) this.ws.terminate();
      else {
        // A paused socket would never read the peer's close frame, and the close would hang for ws's 30 s timeout.
        if (this.ws.isPaused) this.ws.resume();
        this.ws.close(CLOSE_NORMAL);
      }
    }
    callback(err);
  }
}

/** Options of connectWebSocket. */
export interface ConnectWebSocketOptions {
  readonly signal?: AbortSignal;
  /** Deadline for the opening handshake (default 10 s). */
  readonly timeoutMs?: number;
  /** The Origin header to send (a browser always sends one; a web server may check it). */
  readonly origin?: string;
  /** Largest message accepted (default MAX_WEBSOCKET_MESSAGE_BYTES). */
  readonly maxMessageBytes?: number;
}

/**
 * Opens a WebSocket to `url` (ws:// or wss://) and returns it as a byte stream, for Node helpers and tests.
 * @throws {TesseraError} TESSERA_ERR_IO when the connection or upgrade fails, TESSERA_ERR_TIMEOUT on the deadline
 * @throws {AbortError} when `signal` aborts
 */
export function connectWebSocket(url: string, options: ConnectWebSocketOptions = {}): Promise<WebSocketStream> {
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  const maxMessageBytes = options.maxMessageBytes ?? MAX_WEBSOCKET_MESSAGE_BYTES;
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        maxPayload: maxMessageBytes,
        perMessageDeflate: false,
        handshakeTimeout: options.timeoutMs ?? DEFAULT_WEBSOCKET_CONNECT_TIMEOUT_MS,
        ...(options.origin !== undefined ? { origin: options.origin } : {}),
      });
    } catch (err) {
      reject(new TesseraError(ErrorCode.Io, 'invalid websocket url', { context: 'websocket', cause: err }));
      return;
    }
    const cleanup = (): void => {
      ws.off('open', onOpen);
      ws.off('error', onError);
      ws.off('unexpected-response', onResponse);
      signal?.removeEventListener('abort', onAbort);
    };
    const onOpen = (): void => {
      cleanup();
      const sock = (ws as unknown as { _socket?: Socket })._socket;
      resolve(new WebSocketStream(ws, { remoteAddress: sock?.remoteAddress, remotePort: sock?.remotePort, maxMessageBytes }));
    };
    const onError = (err: Error): void => {
      cleanup();
      ws.on('error', () => {});
      const timedOut = /timed out/i.test(err.message);
      reject(new TesseraError(timedOut ? ErrorCode.Timeout : ErrorCode.Io, timedOut ? 'websocket opening handshake timed out' : `could not open the websocket: ${err.message.toLowerCase()}`, { context: 'websocket', cause: err }));
    };
    const onResponse = (_req: unknown, res: IncomingMessage): void => {
      cleanup();
      ws.on('error', () => {});
      ws.terminate();
      res.resume();
      reject(new TesseraError(ErrorCode.Io, `the server refused the websocket upgrade with http ${res.statusCode}`, { context: 'websocket', received: res.statusCode ?? 0 }));
    };
    const onAbort = (): void => {
      cleanup();
      ws.on('error', () => {});
      ws.terminate();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    ws.on('open', onOpen);
    ws.on('error', onError);
    ws.on('unexpected-response', onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of WebSocketAcceptor. */
export interface WebSocketAcceptorOptions {
  /** Largest message accepted from a peer (default MAX_WEBSOCKET_MESSAGE_BYTES). */
  readonly maxMessageBytes?: number;
}

/**
 * Server side: upgrades HTTP requests (from an `http.Server`'s 'upgrade' event) to WebSocket streams.
 * It owns a `ws` WebSocketServer in noServer mode, so the HTTP server decides which requests may upgrade.
 */
export class WebSocketAcceptor {
  readonly #wss: WebSocketServer;
  readonly #maxMessageBytes: number;
  readonly #open = new Set<WebSocket>();

  constructor(options: WebSocketAcceptorOptions = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? MAX_WEBSOCKET_MESSAGE_BYTES;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#maxMessageBytes, perMessageDeflate: false, clientTracking: false });
  }

  /** WebSockets currently open. */
  get connections(): number {
    return this.#open.size;
  }

  /** Completes the upgrade and hands over the stream. */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, onStream: (stream: WebSocketStream) => void): void {
    socket.on('error', () => {});
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#open.add(ws);
      ws.once('close', () => this.#open.delete(ws));
      socket.setNoDelay(true);
      onStream(new WebSocketStream(ws, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, maxMessageBytes: this.#maxMessageBytes }));
    });
  }

  /** Closes every open WebSocket (1001 going away) and the server; stragglers are dropped after `graceMs`. */
  async close(graceMs = 1_000): Promise<void> {
    const closing = [...this.#open].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.on('error', () => {});
          ws.close(1001, 'server closing');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, graceMs).unref();
        }),
    );
    await Promise.all(closing);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
