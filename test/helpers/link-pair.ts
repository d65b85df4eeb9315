/**
 * Two connected in-memory Links (src/driver/link.ts) with no Node stream under them: what the connection driver
 * needs and nothing more, so driver tests show it is transport-independent. Bytes are delivered on a microtask,
 * in order, all that waits as one chunk; `cap` makes `send` refuse once that many bytes wait undelivered (the peer "stops reading" while paused).
 */
import type { Link, LinkHandler } from '../../src/driver/link.js';

export interface TestLink extends Link {
  /** Bytes this side has sent so far (a wire tap). */
  readonly sent: Uint8Array[];
}

export function createLinkPair(options: { cap?: number } = {}): [TestLink, TestLink] {
  const cap = options.cap ?? Number.MAX_SAFE_INTEGER;
  const a = new MemoryLink('a:1', cap);
  const b = new MemoryLink('b:2', cap);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryLink implements TestLink {
  readonly remote: string;
  readonly address: string;
  readonly sent: Uint8Array[] = [];
  peer: MemoryLink | undefined;
  readonly #cap: number;
  readonly #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  #handler: LinkHandler | undefined;
  #paused = false;
  #closed = false;
  #closeError: unknown;
  #closeDelivered = false;
  #scheduled = false;

  constructor(remote: string, cap: number) {
    this.remote = remote;
    this.address = remote.split(':')[0]!;
    this.#cap = cap;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What the peer has not read yet. */
  get queuedBytes(): number {
    const peer = this.peer;
    return peer ? peer.#inboxBytes : 0;
  }

  setHandler(handler: LinkHandler | undefined): void {
    this.#handler = handler;
    this.#schedule();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  send(bytes: Uint8Array): boolean {
    const peer = this.peer;
    if (this.#closed || !peer || peer.#closed) return true;
    if (peer.#inboxBytes + bytes.byteLength > this.#cap) return false;
    this.sent.push(bytes.slice());
    peer.#inbox.push(bytes.slice());
    peer.#inboxBytes += bytes.byteLength;
    peer.#schedule();
    return true;
  }

  end(last?: Uint8Array): void {
    if (last) this.send(last);
    queueMicrotask(() => this.destroy());
  }

  destroy(error?: unknown): void {
    this.#close(error);
    // The peer sees the close after the bytes already sent.
    const peer = this.peer;
    if (peer) peer.#close(undefined);
  }

  #close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      // Everything waiting arrives as one chunk, as TCP coalesces segments.
      if (this.#handler && !this.#paused && this.#inbox.length > 0) {
        const chunk = new Uint8Array(this.#inboxBytes);
        let at = 0;
        for (const c of this.#inbox.splice(0)) {
          chunk.set(c, at);
          at += c.byteLength;
        }
        this.#inboxBytes = 0;
        this.#handler.data(chunk);
      }
      if (this.#closed && this.#inbox.length === 0 && this.#handler && !this.#closeDelivered) {
        this.#closeDelivered = true;
        this.#handler.closed(this.#closeError);
      }
    });
  }
}
