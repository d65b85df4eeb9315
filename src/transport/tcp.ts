/**
 * TCP on node:net: a listener that hands out accepted sockets, and a connect with timeout and
 * cancellation. Every socket gets TCP_NODELAY, since frames are small and latency matters more
 * than packet count. Sessions are driven over the sockets by the layers above (any stream.Duplex works).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { AbortError, ErrorCode, StateError, TesseraError } from '../core/index.js';

/** The port tessera listens on by default, as Remote Assistance over RDP does. */
export const DEFAULT_TCP_PORT = 3389;
/** Default connect timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default number of accepted connections held while nobody calls accept(). */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 16;

/** Options of listenTcp. */
export interface ListenTcpOptions {
  /** Port; 0 picks a free one. Default 3389. */
  readonly port?: number;
  /** Address to bind. Default '127.0.0.1' (loopback only; pass '0.0.0.0' or '::' to accept remote helpers). */
  readonly host?: string;
  /** Closes the listener when aborted; also cancels a pending listen. */
  readonly signal?: AbortSignal;
  /** Accepted connections held while nobody calls accept(); more are refused (destroyed). Default 16. */
  readonly maxPendingConnections?: number;
}

/** Options of TcpListener.accept. */
export interface AcceptOptions {
  readonly signal?: AbortSignal;
}

/** A listening TCP server that yields accepted sockets. */
export class TcpListener implements AsyncIterable<Socket> {
  readonly server: Server;
  readonly #queue: Socket[] = [];
  readonly #acceptors: Array<{ resolve: (s: Socket) => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort: () => void }> = [];
  readonly #maxPending: number;
  #closed = false;
  #refused = 0;

  /** @internal use listenTcp */
  constructor(server: Server, maxPending: number) {
    this.server = server;
    this.#maxPending = maxPending;
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
  }

  /** The bound address. */
  get host(): string {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.address : '';
  }

  /** The bound port (the real one when 0 was asked for). */
  get port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  /** Connections refused because the pending queue was full. */
  get refusedConnections(): number {
    return this.#refused;
  }

  /** True once close() was called or the signal aborted. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Waits for the next accepted connection (TCP_NODELAY already set).
   * @throws AbortError (ABORT_ERR) when `signal` aborts; TesseraError TESSERA_ERR_CLOSED once the listener is closed
   */
  accept(options: AcceptOptions = {}): Promise<Socket> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    const ready = this.#queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.reject(listenerClosed());
    return new Promise<Socket>((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.#acceptors.indexOf(entry);
          if (i >= 0) this.#acceptors.splice(i, 1);
          reject(new AbortError(undefined, { cause: signal?.reason }));
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.#acceptors.push(entry);
    });
  }

  /** Iterates over accepted connections until the listener closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<Socket> {
    for (;;) {
      let socket: Socket;
      try {
        socket = await this.accept();
      } catch (err) {
        if (err instanceof TesseraError && err.code === ErrorCode.Closed) return;
        throw err;
      }
      yield socket;
    }
  }

  /** Stops listening, destroys connections nobody accepted, and fails waiting accept() calls. Open accepted sockets are left alone. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const s of this.#queue.splice(0)) s.destroy();
      for (const a of this.#acceptors.splice(0)) {
        a.signal?.removeEventListener('abort', a.onAbort);
        a.reject(listenerClosed());
      }
    }
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  #onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor !== undefined) {
      acceptor.signal?.removeEventListener('abort', acceptor.onAbort);
      acceptor.resolve(socket);
      return;
    }
    if (this.#queue.length >= this.#maxPending) {
      this.#refused++;
      socket.destroy();
      return;
    }
    // A queued socket that fails before anyone accepts it is dropped from the queue.
    const drop = (): void => {
      const i = this.#queue.indexOf(socket);
      if (i >= 0) this.#queue.splice(i, 1);
    };
    socket.once('close', drop);
    socket.on('error', drop);
    this.#queue.push(socket);
  }
}

function listenerClosed(): TesseraError {
  return new TesseraError(ErrorCode.Closed, 'the listener is closed');
}

function checkPort(port: number): number {
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new StateError(`port must be an integer 0..65535, got ${port}`);
  return port;
}

/**
 * Starts listening for TCP connections.
 * @returns the listener, once bound
 * @throws AbortError (ABORT_ERR) when `signal` aborts before binding; TesseraError TESSERA_ERR_IO when binding fails (cause: the system error)
 */
export async function listenTcp(options: ListenTcpOptions = {}): Promise<TcpListener> {
  const port = checkPort(options.port ?? DEFAULT_TCP_PORT);
  const host = options.host ?? '127.0.0.1';
  const maxPending = options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS;
  if (!(Number.isInteger(maxPending) && maxPending >= 0)) throw new StateError(`maxPendingConnections must be a non-negative integer, got ${maxPending}`);
  const signal = options.signal;
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  const server = createServer({ noDelay: true });
  const listener = new TcpListener(server, maxPending);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TesseraError(ErrorCode.Io, `cannot listen on ${host}:${port}`, { cause: err }));
    };
    const onAbort = (): void => {
      server.off('error', onError);
      server.close();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    server.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    server.listen(port, host, () => {
      server.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  if (signal !== undefined) {
    signal.addEventListener('abort', () => void listener.close(), { once: true });
  }
  // After binding, a server error (rare: e.g. EMFILE on accept) must not crash the process; connections just fail.
  server.on('error', () => {});
  return listener;
}

/** Options of connectTcp. */
export interface ConnectTcpOptions {
  readonly host: string;
  readonly port: number;
  readonly signal?: AbortSignal;
  /** Gives up after this long. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

/**
 * Opens a TCP connection with TCP_NODELAY.
 * @returns the connected socket
 * @throws AbortError (ABORT_ERR) when `signal` aborts; TesseraError TESSERA_ERR_TIMEOUT after `timeoutMs`;
 *   TesseraError TESSERA_ERR_IO when the connection fails (cause: the system error, e.g. ECONNREFUSED)
 */
export function connectTcp(options: ConnectTcpOptions): Promise<Socket> {
  const { host } = options;
  const port = checkPort(options.port);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new StateError(`timeoutMs must be a positive number, got ${timeoutMs}`);
  const signal = options.signal;
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<Socket>((resolve, reject) => {
    const socket = createConnection({ host, port, noDelay: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onConnect);
    };
    const onConnect = (): void => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socket);
    };
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      reject(new TesseraError(ErrorCode.Io, `cannot connect to ${host}:${port}`, { context: 'connect', received: `${host}:${port}`, cause: err }));
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new TesseraError(ErrorCode.Timeout, `connecting to ${host}:${port} timed out after ${timeoutMs} ms`, { expected: timeoutMs }));
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
