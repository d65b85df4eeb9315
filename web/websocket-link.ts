/**
 * The Link adapter for the browser's WebSocket (src/driver/link.ts): binary messages carry the tessera byte
 * stream (spec/framing.md), at most MAX_MESSAGE_BYTES each. A browser WebSocket cannot stop reading, so `pause`
 * holds arriving chunks here until `resume` (or until a handler is set).
 */
import { ErrorCode, ProtocolError, TesseraError } from '../src/core/index.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_HELPER_MAX_QUEUED_BYTES } from '../src/core/defaults.js';
import type { Link, LinkHandler } from '../src/driver/link.js';
import { RelayError, RelayPath, decodeRelayMessage, encodeRelayMessage, relayEndpoint, relayRefusalName } from '../src/handshake/relay.js';

/** Largest chunk handed to WebSocket.send at once (the host accepts messages up to 1 MiB). */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Opens a WebSocket to `url` and resolves with it as a Link once it is open.
 * @throws {TesseraError} TESSERA_ERR_IO when the host cannot be reached; TESSERA_ERR_HANDSHAKE_TIMEOUT when it does not answer in time
 */
export function openWebSocketLink(url: string, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<Link> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      ws.close();
      reject(new TesseraError(ErrorCode.HandshakeTimeout, 'the host did not answer in time', { context: 'websocket' }));
    }, timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(new WebSocketLink(ws, url));
    };
    ws.onclose = () => {
      clearTimeout(timer);
      reject(new TesseraError(ErrorCode.Io, 'could not reach the host', { context: 'websocket' }));
    };
  });
}

/**
 * Opens a connection to a host through its relay (spec/relay.md): Connect with the invitation's rendezvous id, then,
 * once the relay answers Paired, the spliced stream as a Link.
 * @throws {RelayError} TESSERA_ERR_RELAY_REFUSED (UNKNOWN_ID, PAIRING_TIMEOUT, ...); TesseraError TESSERA_ERR_IO
 */
export function openRelayLink(relayUrl: string, id: Uint8Array, timeoutMs = 2 * DEFAULT_CONNECT_TIMEOUT_MS): Promise<Link> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(relayEndpoint(relayUrl, RelayPath.Connect));
    ws.binaryType = 'arraybuffer';
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.close();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TesseraError(ErrorCode.HandshakeTimeout, 'the relay did not answer in time', { context: 'relay' })), timeoutMs);
    ws.onopen = () => ws.send(encodeRelayMessage({ type: 'connect', id }));
    ws.onmessage = (ev: MessageEvent) => {
      if (done) return;
      let m;
      try {
        if (!(ev.data instanceof ArrayBuffer)) throw new Error('text');
        m = decodeRelayMessage(new Uint8Array(ev.data));
      } catch (err) {
        fail(new RelayError(ErrorCode.RelayRefused, 'the relay sent a malformed message', 'MALFORMED', { cause: err }));
        return;
      }
      if (m.type !== 'paired') {
        const name = m.type === 'refused' ? relayRefusalName(m.code) : 'MALFORMED';
        fail(new RelayError(ErrorCode.RelayRefused, `the relay refused the helper (${name})`, name));
        return;
      }
      done = true;
      clearTimeout(timer);
      // Later messages are the spliced stream: the link takes the handlers over in this same task.
      resolve(new WebSocketLink(ws, relayUrl));
    };
    ws.onclose = () => fail(new TesseraError(ErrorCode.Io, 'could not reach the relay', { context: 'relay' }));
  });
}

class WebSocketLink implements Link {
  readonly remote: string;
  readonly address: string;
  readonly #ws: WebSocket;
  readonly #held: Uint8Array[] = [];
  #handler: LinkHandler | undefined;
  #paused = false;
  #closed = false;
  #closeError: unknown;

  constructor(ws: WebSocket, url: string) {
    this.#ws = ws;
    const host = new URL(url).host;
    this.remote = host;
    this.address = new URL(url).hostname;
    ws.onmessage = (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer)) {
        this.#close(new ProtocolError(ErrorCode.UnexpectedMessage, 'websocket text message; tessera sends binary messages only', { context: 'websocket' }));
        ws.close();
        return;
      }
      const chunk = new Uint8Array(ev.data);
      if (this.#handler && !this.#paused && this.#held.length === 0) this.#handler.data(chunk);
      else this.#held.push(chunk);
    };
    ws.onclose = () => this.#close(undefined);
    ws.onerror = () => {
      // The close event follows.
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  get queuedBytes(): number {
    return this.#ws.bufferedAmount;
  }

  setHandler(handler: LinkHandler | undefined): void {
    this.#handler = handler;
    if (handler) this.#release();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#release();
  }

  send(bytes: Uint8Array): boolean {
    if (this.#ws.readyState !== WebSocket.OPEN) return true;
    if (this.#ws.bufferedAmount > DEFAULT_HELPER_MAX_QUEUED_BYTES) return false;
    for (let pos = 0; pos < bytes.byteLength; pos += MAX_MESSAGE_BYTES) {
      this.#ws.send(bytes.subarray(pos, Math.min(bytes.byteLength, pos + MAX_MESSAGE_BYTES)));
    }
    return true;
  }

  end(last?: Uint8Array): void {
    if (last) this.send(last);
    // The browser sends the close frame after the queued messages.
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
  }

  destroy(): void {
    this.#ws.close();
    this.#close(undefined);
  }

  /** Hands held chunks to the handler, in order, while it is set and not paused. */
  #release(): void {
    while (this.#handler && !this.#paused && this.#held.length > 0) this.#handler.data(this.#held.shift()!);
    if (this.#closed && this.#handler && this.#held.length === 0) {
      const handler = this.#handler;
      const err = this.#closeError;
      queueMicrotask(() => this.#handler === handler && handler.closed(err));
    }
  }

  #close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    if (this.#held.length === 0) this.#handler?.closed(error);
  }
}
