/**
 * The Link adapter for any Node stream.Duplex (a TCP socket, a WebSocketStream, one end of the in-memory pair, a
 * TLS socket): the connection driver (src/driver) runs over it. Sends go through a bounded SendQueue that honours
 * 'drain'; reading pauses while the driver has no handler (between the handshake and the session, and while the
 * host user is asked).
 */
import type { Duplex } from 'node:stream';
import { CLOSE_GRACE_MS } from '../core/defaults.js';
import type { Link, LinkHandler } from '../driver/link.js';
import { SendQueue } from './send-queue.js';

/** Options of duplexLink. */
export interface DuplexLinkOptions {
  /** Cap on bytes queued for the peer; `send` returns false beyond it. Default 64 MiB. */
  readonly maxQueuedBytes?: number;
  /** The peer as "address:port" when the stream does not know it (e.g. a WebSocket behind the web server). */
  readonly peer?: string;
}

type AddressedDuplex = Duplex & { remoteAddress?: string; remotePort?: number };

function ignore(): void {
  // Errors after the link was given up (a reset while closing) have nobody left to tell.
}

/** Wraps `duplex` as a Link. The stream stays paused until a handler is set. */
export function duplexLink(duplex: Duplex, options: DuplexLinkOptions = {}): Link {
  return new DuplexLink(duplex, options);
}

class DuplexLink implements Link {
  readonly remote: string;
  readonly address: string;
  readonly #duplex: AddressedDuplex;
  readonly #queue: SendQueue;
  #handler: LinkHandler | undefined;
  #paused = false;
  #closed = false;
  #closeError: unknown;

  constructor(duplex: Duplex, options: DuplexLinkOptions) {
    const d = duplex as AddressedDuplex;
    this.#duplex = d;
    if (options.peer !== undefined) {
      this.remote = options.peer;
      this.address = options.peer.startsWith('[') ? options.peer.slice(1, options.peer.indexOf(']')) : options.peer.replace(/:\d+$/, '');
    } else {
      this.address = d.remoteAddress ?? 'unknown';
      this.remote = d.remoteAddress !== undefined ? `${d.remoteAddress}:${d.remotePort ?? ''}` : 'unknown';
    }
    this.#queue = new SendQueue(duplex, { maxQueuedBytes: options.maxQueuedBytes ?? 64 * 1024 * 1024 });
    d.on('error', this.#onError);
    d.on('end', this.#onEnd);
    d.on('close', this.#onEnd);
    if (d.destroyed) this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed || this.#duplex.destroyed;
  }

  get queuedBytes(): number {
    return this.#queue.queuedBytes;
  }

  setHandler(handler: LinkHandler | undefined): void {
    this.#handler = handler;
    if (handler) {
      this.#duplex.on('data', this.#onData);
      if (this.#closed) {
        // Closed before anybody listened: tell the new handler at once (on a later tick, as a stream would).
        const err = this.#closeError;
        queueMicrotask(() => this.#handler === handler && handler.closed(err));
      }
      if (!this.#paused) this.#duplex.resume();
    } else {
      this.#duplex.off('data', this.#onData);
      this.#duplex.pause();
    }
  }

  pause(): void {
    this.#paused = true;
    this.#duplex.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#handler) this.#duplex.resume();
  }

  send(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    return this.#queue.tryWrite(bytes);
  }

  end(last?: Uint8Array, graceMs = CLOSE_GRACE_MS): void {
    const d = this.#duplex;
    d.on('error', ignore);
    if (d.destroyed) return;
    if (last && !this.#queue.tryWrite(last)) {
      d.destroy();
      return;
    }
    void this.#queue
      .end()
      .catch(() => {})
      .finally(() => d.destroy());
    setTimeout(() => d.destroy(), graceMs).unref();
  }

  destroy(error?: unknown): void {
    this.#duplex.on('error', ignore);
    // The reason goes to the handler directly: destroying the stream without an error skips Node's error event.
    if (error !== undefined) this.#close(error);
    this.#duplex.destroy();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#handler?.data(chunk);
  };

  readonly #onEnd = (): void => this.#close(undefined);

  readonly #onError = (err: Error): void => this.#close(err);

  #close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#handler?.closed(error);
  }
}
