/**
 * The small transport interface the connection driver runs over (ARCHITECTURE.md, "The connection driver"):
 * a reliable, ordered byte channel with send, close and backpressure signals. TCP, WebSocket (Node and browser)
 * and the in-memory pair are adapters that implement it; a new transport is one more adapter and nothing else.
 */

/** What a link tells its driver. */
export interface LinkHandler {
  /** Bytes from the peer, in order. The chunk may be reused by the link after the call returns. */
  data(chunk: Uint8Array): void;
  /** The link is gone (peer closed, failed, or destroyed here); `error` says why when it failed. Called at most once. */
  closed(error?: unknown): void;
}

/**
 * A byte channel to the peer. Bytes arrive only while a handler is set and the link is not paused; an adapter
 * holds back (and, where the transport can, stops reading) while there is none, so no byte is lost between the
 * handshake and the session.
 */
export interface Link {
  /** The peer as "address:port" when known (for audit lines and display), else a description such as 'unknown'. */
  readonly remote: string;
  /** The peer's address alone (for throttling and per-address caps). */
  readonly address: string;
  /** True once the link has closed or been destroyed. */
  readonly closed: boolean;
  /** Bytes accepted by `send` and not yet taken by the transport. */
  readonly queuedBytes: number;
  /** Sets (or, with undefined, removes) the receiver of bytes and of the close. Removing pauses the link. */
  setHandler(handler: LinkHandler | undefined): void;
  /** Stops delivering bytes (the transport stops reading where it can); `resume` starts again. */
  pause(): void;
  resume(): void;
  /**
   * Queues bytes for the peer, in order. Returns false when the link's queue is over its cap: the bytes were not
   * taken, and the driver ends the connection (a peer that stops reading is dropped, never buffered without bound).
   */
  send(bytes: Uint8Array): boolean;
  /** Sends `last` (if any) after what is queued, then closes; a link still open after `graceMs` is destroyed. */
  end(last?: Uint8Array, graceMs?: number): void;
  /** Closes at once, dropping anything queued. */
  destroy(error?: unknown): void;
}
