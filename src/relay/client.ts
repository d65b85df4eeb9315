/**
 * The two client sides of the relay (spec/relay.md): `RelayRegistration`, a host's standing registration
 * (control connection, proof, served ids, a data connection per Incoming, re-registration with exponential
 * backoff), and `dialRelay`, a helper's connection to a host through the relay. Both hand over a spliced
 * WebSocketStream (a Node Duplex), so the one connection driver runs on it unchanged.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { AbortError, ErrorCode, TesseraError } from '../core/index.js';
import {
  MAX_RELAY_MESSAGE_BYTES, RelayError, RelayPath, decodeRelayMessage, encodeRelayMessage, relayEndpoint, relayRefusalName, relayRegisterMac, type RelayMessage,
} from '../handshake/index.js';
import { MAX_WEBSOCKET_MESSAGE_BYTES, WebSocketStream } from '../transport/websocket.js';
import { connectThroughProxy, resolveProxy, type ProxyServer } from './proxy.js';

/** How often a host pings its control connection to the relay (spec/relay.md RLY-15). */
export const RELAY_PING_INTERVAL_MS = 15_000;

/** Default deadline to open a relay connection and hear its first answer. */
export const RELAY_CONNECT_TIMEOUT_MS = 10_000;

export { relayEndpoint };

/** What openAndAsk resolves with: the socket, the relay's first answer, and `adopt`, which wraps the socket as a stream. */
interface Answered {
  readonly ws: WebSocket;
  readonly reply: RelayMessage;
  readonly remote: string;
  /**
   * Wraps the socket in a WebSocketStream that reads first the messages that came after the answer (ws parses a
   * whole TCP chunk at once, so the peer's first bytes can arrive with Paired, before the caller resumes).
   * @throws {TesseraError} TESSERA_ERR_RELAY_LOST when the socket closed meanwhile
   */
  adopt(options: { remoteAddress: string; remotePort: number }): WebSocketStream;
  /** Stops holding messages and returns those held (for a control socket that reads relay messages itself). */
  release(): Buffer[];
}

/** What openAndAsk needs: the deadline (default RELAY_CONNECT_TIMEOUT_MS) covers the proxy's tunnel too. */
interface AskOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  readonly maxPayload: number;
  /** Tunnel through this HTTP proxy (resolveProxy); undefined: connect directly. */
  readonly proxy?: ProxyServer | undefined;
}

/**
 * Opens a WebSocket (through the proxy's CONNECT tunnel when there is one), then waits for one relay message;
 * resolves with it (later messages held until `adopt`).
 */
async function openAndAsk(url: string, first: RelayMessage | undefined, o: AskOptions): Promise<Answered> {
  if (o.signal?.aborted) throw new AbortError(undefined, { cause: o.signal.reason });
  if (!o.proxy) return ask(url, first, o, undefined);
  const timeoutMs = o.timeoutMs ?? RELAY_CONNECT_TIMEOUT_MS;
  const started = Date.now();
  const socket = await connectThroughProxy(o.proxy, url, { ...(o.signal ? { signal: o.signal } : {}), timeoutMs });
  return ask(url, first, { ...o, timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) }, socket);
}

function ask(url: string, first: RelayMessage | undefined, o: AskOptions, tunnel: Socket | undefined): Promise<Answered> {
  const signal = o.signal;
  if (signal?.aborted) {
    tunnel?.destroy();
    return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  }
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        maxPayload: o.maxPayload,
        perMessageDeflate: false,
        handshakeTimeout: o.timeoutMs ?? RELAY_CONNECT_TIMEOUT_MS,
        // The tunnel (TLS over it for wss://) replaces ws's own TCP or TLS connection; the request runs on it as usual.
        ...(tunnel ? { createConnection: (() => tunnel) as unknown as ClientOptions['createConnection'] } : {}),
      });
    } catch (err) {
      tunnel?.destroy();
      reject(new TesseraError(ErrorCode.Io, 'invalid relay url', { context: 'relay', cause: err }));
      return;
    }
    ws.binaryType = 'nodebuffer';
    let done = false;
    const timer = setTimeout(() => fail(new TesseraError(ErrorCode.Timeout, 'the relay did not answer in time', { context: 'relay' })), o.timeoutMs ?? RELAY_CONNECT_TIMEOUT_MS);
    const cleanup = (): void => {
      done = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('error', onError);
      ws.off('close', onClose);
      ws.off('unexpected-response', onResponse);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: Error): void => {
      if (done) return;
      cleanup();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (done) return;
      let m: RelayMessage;
      try {
        if (!isBinary) throw new TesseraError(ErrorCode.UnexpectedMessage, 'the relay sent a text message', { context: 'relay' });
        m = decodeRelayMessage(new Uint8Array(data as Buffer));
      } catch (err) {
        fail(new RelayError(ErrorCode.RelayRefused, 'the relay sent a malformed message', 'MALFORMED', { cause: err }));
        return;
      }
      cleanup();
      ws.on('error', () => {});
      // Later messages are the spliced stream: read no more from the socket, and hold those already parsed
      // (a text message is the peer's fault: the stream refuses it, so it is kept as a marker that ends it).
      ws.pause();
      const held: Buffer[] = [];
      let text = false;
      let closed = false;
      const hold = (data: RawData, isBinary: boolean): void => {
        if (!isBinary) text = true;
        else if (!text) held.push(data as Buffer);
      };
      const onEarlyClose = (): void => {
        closed = true;
      };
      ws.on('message', hold);
      ws.on('close', onEarlyClose);
      const sock = (ws as unknown as { _socket?: Socket })._socket;
      resolve({
        ws,
        reply: m,
        remote: tunnel ? relayHostPort(url) : `${sock?.remoteAddress ?? 'relay'}:${sock?.remotePort ?? 0}`,
        release: () => {
          ws.off('message', hold);
          ws.off('close', onEarlyClose);
          return held;
        },
        adopt: (options) => {
          ws.off('message', hold);
          ws.off('close', onEarlyClose);
          if (closed || text || ws.readyState !== WebSocket.OPEN) {
            ws.terminate();
            throw new TesseraError(ErrorCode.RelayLost, 'the relay connection closed before the session began', { context: 'relay' });
          }
          return new WebSocketStream(ws, { ...options, initial: held });
        },
      });
    };
    const onError = (err: Error): void => fail(new TesseraError(ErrorCode.Io, `could not reach the relay: ${err.message.toLowerCase()}`, { context: 'relay', cause: err }));
    const onClose = (): void => fail(new TesseraError(ErrorCode.RelayLost, 'the relay closed the connection', { context: 'relay' }));
    const onResponse = (_req: unknown, res: { statusCode?: number; resume(): void }): void => {
      res.resume();
      fail(new RelayError(ErrorCode.RelayRefused, `the relay refused the connection with http ${res.statusCode ?? 0}`, res.statusCode === 503 ? 'BUSY' : 'HTTP'));
    };
    const onAbort = (): void => fail(new AbortError(undefined, { cause: signal?.reason }));
    ws.on('open', () => {
      if (first && !done) ws.send(encodeRelayMessage(first));
    });
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    ws.on('unexpected-response', onResponse);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The relay's host and port from its URL (the address shown for a connection through a proxy). */
function relayHostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname.replace(/^\[(.*)\]$/, '$1')}:${u.port === '' ? (u.protocol === 'wss:' ? 443 : 80) : u.port}`;
}

function refusedError(m: RelayMessage, what: string): RelayError {
  if (m.type === 'refused') {
    const name = relayRefusalName(m.code);
    return new RelayError(ErrorCode.RelayRefused, `the relay refused ${what} (${name})`, name);
  }
  return new RelayError(ErrorCode.RelayRefused, `the relay answered ${what} with an unexpected ${m.type} message`, 'MALFORMED');
}

/** Options of dialRelay. */
export interface DialRelayOptions {
  readonly signal?: AbortSignal;
  /** Deadline for the relay's answer (paired or refused); default 10 s plus the relay's pairing time. */
  readonly timeoutMs?: number;
  /**
   * The HTTP proxy to tunnel through (`http://[user:password@]host:port`), false for none; default: the
   * environment's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY (src/relay/proxy.ts).
   */
  readonly proxy?: string | false;
}

/**
 * A helper's connection to a host through a relay: connect with the rendezvous id, wait until the relay paired it
 * with the host's data connection, and return the spliced stream (the tessera handshake runs over it).
 * A relay of a cluster may send the helper to the relay where the host waits (Redirect); that is followed once.
 * @throws {RelayError} TESSERA_ERR_RELAY_REFUSED (UNKNOWN_ID, PAIRING_TIMEOUT, BUSY, HOST_GONE, REDIRECT_LOOP, ...)
 * @throws {TesseraError} TESSERA_ERR_IO when the relay cannot be reached, TESSERA_ERR_TIMEOUT
 * @throws {AbortError} when `signal` aborts
 */
export async function dialRelay(relayUrl: string, id: Uint8Array, options: DialRelayOptions = {}): Promise<DialedRelay> {
  let url = relayUrl;
  for (let hop = 0; ; hop++) {
    const { ws, reply, remote, adopt } = await openAndAsk(relayEndpoint(url, RelayPath.Connect), { type: 'connect', id }, {
      ...(options.signal ? { signal: options.signal } : {}),
      // Per hop: NO_PROXY may exempt the relay a redirect names and not the first.
      proxy: resolveProxy(url, options.proxy),
      timeoutMs: options.timeoutMs ?? 2 * RELAY_CONNECT_TIMEOUT_MS,
      maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES,
    });
    if (reply.type === 'redirect') {
      ws.terminate();
      // One hop: the relay that holds the host never redirects (spec/relay.md §5.2), so a second redirect is a loop.
      if (hop >= MAX_RELAY_REDIRECTS || reply.url === url) throw new RelayError(ErrorCode.RelayRefused, 'the relay redirected the helper more than once', 'REDIRECT_LOOP');
      url = reply.url;
      continue;
    }
    if (reply.type !== 'paired') {
      ws.terminate();
      throw refusedError(reply, 'the helper');
    }
    const at = remote.lastIndexOf(':');
    return Object.assign(adopt({ remoteAddress: remote.slice(0, at), remotePort: Number(remote.slice(at + 1)) }), { relayUrl: url });
  }
}

/** Redirects a helper follows (a relay of a cluster sends it to the relay where the host waits). */
export const MAX_RELAY_REDIRECTS = 1;

/** The spliced stream of dialRelay, with the relay that paired it (after a redirect, not the one dialled). */
export type DialedRelay = WebSocketStream & { readonly relayUrl: string };

/** Options of RelayRegistration. */
export interface RelayRegistrationOptions {
  /** The relay's ws:// or wss:// URL. */
  readonly url: string;
  /** The host's static X25519 key pair. */
  readonly hostKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** The rendezvous ids to serve now (asked after each registration and on refresh()). */
  readonly ids: () => readonly Uint8Array[];
  /** A paired data connection: the spliced stream and the helper's address as the relay saw it. */
  readonly onStream: (stream: WebSocketStream, peer: string) => void;
  /** Ends the registration for good. */
  readonly signal?: AbortSignal;
  /** First retry delay (default 500 ms); doubled per failure up to maxBackoffMs (default 30 s), with jitter. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly timeoutMs?: number;
  /** How often the control connection is pinged; one that missed the last Pong is dropped (default 15 s, spec/relay.md RLY-15). */
  readonly pingIntervalMs?: number;
  /**
   * The HTTP proxy for the control and data connections (`http://[user:password@]host:port`), false for none;
   * default: the environment's HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY (src/relay/proxy.ts).
   */
  readonly proxy?: string | false;
}

/**
 * A host's standing registration at a relay. Events: 'registered' ({relay}), 'lost' (TesseraError, retryInMs: the
 * registration dropped or failed; a retry follows), 'error' (a data connection that failed).
 * It keeps retrying until close() or the signal.
 */
export class RelayRegistration extends EventEmitter {
  readonly url: string;
  readonly #o: RelayRegistrationOptions;
  readonly #proxy: ProxyServer | undefined;
  #ws: WebSocket | undefined;
  #closed = false;
  #registered = false;
  #backoff: number;
  #retry: NodeJS.Timeout | undefined;
  #pinger: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();

  constructor(options: RelayRegistrationOptions) {
    super();
    relayEndpoint(options.url, RelayPath.Host);
    this.#proxy = resolveProxy(options.url, options.proxy);
    this.url = options.url;
    this.#o = options;
    this.#backoff = options.initialBackoffMs ?? 500;
    options.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** True while the relay has accepted the registration. */
  get registered(): boolean {
    return this.#registered;
  }

  /** Starts registering (and keeps at it). */
  start(): this {
    if (!this.#closed && !this.#ws && !this.#retry) void this.#attempt();
    return this;
  }

  /** Sends the current ids again (after an invitation was created or revoked). */
  refresh(): void {
    if (this.#registered && this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encodeRelayMessage({ type: 'serve', ids: this.#o.ids().slice(0, 1024) }));
  }

  /** Ends the registration. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#registered = false;
    this.#abort.abort();
    clearTimeout(this.#retry);
    clearInterval(this.#pinger);
    this.#ws?.terminate();
    this.#ws = undefined;
  }

  async #attempt(): Promise<void> {
    this.#retry = undefined;
    let ws: WebSocket | undefined;
    let inbox: ControlInbox | undefined;
    try {
      const first = await openAndAsk(relayEndpoint(this.url, RelayPath.Host), undefined, { signal: this.#abort.signal, maxPayload: MAX_RELAY_MESSAGE_BYTES, proxy: this.#proxy, ...(this.#o.timeoutMs ? { timeoutMs: this.#o.timeoutMs } : {}) });
      ws = first.ws;
      inbox = new ControlInbox(ws, first.release());
      if (this.#closed) return void ws.terminate();
      if (first.reply.type !== 'challenge') throw refusedError(first.reply, 'the registration');
      const { nonce, relayKey } = first.reply;
      const { publicKey, secretKey } = this.#o.hostKey;
      ws.send(encodeRelayMessage({ type: 'register', hostKey: publicKey, mac: relayRegisterMac(secretKey, publicKey, nonce, relayKey) }));
      const answer = await inbox.next(this.#o.timeoutMs ?? RELAY_CONNECT_TIMEOUT_MS);
      if (answer.type !== 'registered') throw refusedError(answer, 'the registration');
    } catch (err) {
      inbox?.stop();
      ws?.terminate();
      if (this.#closed) return;
      this.#lost(err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, 'the relay registration failed', { context: 'relay', cause: err }));
      return;
    }
    this.#ws = ws;
    this.#registered = true;
    this.#backoff = this.#o.initialBackoffMs ?? 500;
    let alive = true;
    ws.on('pong', () => (alive = true));
    this.#pinger = setInterval(() => {
      if (!alive) return void ws!.terminate();
      alive = false;
      ws!.ping();
    }, this.#o.pingIntervalMs ?? RELAY_PING_INTERVAL_MS);
    this.#pinger.unref();
    ws.once('close', (code: number, reason: Buffer) => {
      clearInterval(this.#pinger);
      this.#ws = undefined;
      this.#registered = false;
      if (this.#closed) return;
      const why = reason.toString();
      this.#lost(
        why && code === 1008
          ? new RelayError(ErrorCode.RelayRefused, `the relay ended the registration (${why})`, why)
          : new TesseraError(ErrorCode.RelayLost, 'the relay went away', { context: 'relay' }),
      );
    });
    this.refresh();
    this.emit('registered', { relay: this.url });
    // From here on every control message (those already queued first) goes to #onControl.
    inbox.forward((m) => this.#onControl(m));
  }

  #onControl(m: RelayMessage | undefined): void {
    if (!m) {
      this.#ws?.terminate();
      return;
    }
    if (m.type === 'incoming') void this.#openData(m.token, m.peer);
    else if (m.type !== 'refused') this.#ws?.terminate();
  }

  async #openData(token: Uint8Array, peer: string): Promise<void> {
    try {
      const { ws, reply, adopt } = await openAndAsk(relayEndpoint(this.url, RelayPath.Data), { type: 'accept', token }, {
        signal: this.#abort.signal,
        maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES,
        proxy: this.#proxy,
        ...(this.#o.timeoutMs ? { timeoutMs: this.#o.timeoutMs } : {}),
      });
      if (reply.type !== 'paired') {
        ws.terminate();
        throw refusedError(reply, 'the data connection');
      }
      const at = peer.lastIndexOf(':');
      const address = peer.slice(0, at).replace(/^\[(.*)\]$/, '$1');
      this.#o.onStream(adopt({ remoteAddress: address, remotePort: Number(peer.slice(at + 1)) }), peer);
    } catch (err) {
      if (this.#closed) return;
      // The helper left before the data connection arrived (it reached the host directly first): not a failure.
      if (err instanceof RelayError && err.refusal === 'UNKNOWN_TOKEN') return;
      if (this.listenerCount('error') > 0) this.emit('error', err);
    }
  }

  #lost(err: TesseraError): void {
    const jitter = 0.5 + Math.random() / 2;
    const retryInMs = Math.round(this.#backoff * jitter);
    this.#backoff = Math.min(this.#backoff * 2, this.#o.maxBackoffMs ?? 30_000);
    this.emit('lost', err, retryInMs);
    if (this.#closed) return;
    this.#retry = setTimeout(() => void this.#attempt(), retryInMs);
  }
}

/** Messages a control connection may queue before they are read: the relay sends one at a time, so more is a flood. */
const MAX_QUEUED_CONTROL_MESSAGES = 64;

/**
 * The relay messages of a host's control connection, read in order without losing any: those that arrived with
 * the challenge, those that arrive while the host waits for Registered, then every later one handed on as it comes.
 * A malformed message is handed on as `undefined` (the owner ends the connection), as is a flood of them.
 */
class ControlInbox {
  readonly #ws: WebSocket;
  readonly #queue: Array<RelayMessage | undefined> = [];
  #waiter: { resolve(m: RelayMessage): void; reject(err: Error): void; timer: NodeJS.Timeout } | undefined;
  #sink: ((m: RelayMessage | undefined) => void) | undefined;
  #closed = false;

  constructor(ws: WebSocket, held: readonly Buffer[]) {
    this.#ws = ws;
    for (const data of held) this.#push(data);
    ws.on('message', this.#onMessage);
    ws.on('close', this.#onClose);
    ws.resume();
  }

  #onMessage = (data: RawData): void => this.#push(data as Buffer);

  #onClose = (): void => {
    this.#closed = true;
    this.#settle(new TesseraError(ErrorCode.RelayLost, 'the relay closed the connection', { context: 'relay' }));
  };

  #push(data: Buffer): void {
    let m: RelayMessage | undefined;
    try {
      m = decodeRelayMessage(new Uint8Array(data));
    } catch {
      m = undefined;
    }
    if (this.#sink) return this.#sink(m);
    if (this.#waiter) {
      if (m) this.#settle(undefined, m);
      else this.#settle(new RelayError(ErrorCode.RelayRefused, 'the relay sent a malformed message', 'MALFORMED'));
      return;
    }
    if (this.#queue.length >= MAX_QUEUED_CONTROL_MESSAGES) m = undefined;
    this.#queue.push(m);
  }

  #settle(err: Error | undefined, m?: RelayMessage): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = undefined;
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(m!);
  }

  /** The next message. @throws {RelayError} MALFORMED @throws {TesseraError} TESSERA_ERR_RELAY_LOST, TESSERA_ERR_TIMEOUT */
  next(timeoutMs: number): Promise<RelayMessage> {
    if (this.#queue.length > 0) {
      const m = this.#queue.shift();
      return m ? Promise.resolve(m) : Promise.reject(new RelayError(ErrorCode.RelayRefused, 'the relay sent a malformed message', 'MALFORMED'));
    }
    if (this.#closed) return Promise.reject(new TesseraError(ErrorCode.RelayLost, 'the relay closed the connection', { context: 'relay' }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(new TesseraError(ErrorCode.Timeout, 'the relay did not answer the registration', { context: 'relay' })), timeoutMs);
      this.#waiter = { resolve, reject, timer };
    });
  }

  /** Hands every queued and later message to `sink`, in order. */
  forward(sink: (m: RelayMessage | undefined) => void): void {
    this.#sink = sink;
    for (const m of this.#queue.splice(0)) {
      if (this.#sink !== sink) break;
      sink(m);
    }
  }

  stop(): void {
    this.#sink = undefined;
    this.#ws.off('message', this.#onMessage);
    this.#ws.off('close', this.#onClose);
    this.#settle(new TesseraError(ErrorCode.RelayLost, 'the relay closed the connection', { context: 'relay' }));
  }
}
