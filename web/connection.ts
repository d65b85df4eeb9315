/**
 * The browser helper's connection: the one connection driver (src/driver) over a WebSocket link to the page's own
 * origin (web/websocket-link.ts), with the helper's handshake (spec/handshake.md) and session (spec/session.md)
 * exactly as the Node helper runs them. What is the browser's own stays here: the WebSocket, the cipher a browser
 * runs synchronously (tweetnacl's XSalsa20-Poly1305, cipher 1), createImageBitmap for lossy tiles, and the page's
 * events. Only the pure layers of src/ are imported.
 */
import { StateError, toTesseraError } from '../src/core/index.js';
import { DEFAULT_MAX_SCREEN_PX } from '../src/core/defaults.js';
import { XSalsa20Poly1305 } from '../src/framing/aead.js';
import { HandshakeInitiator, newHolderKey, type HolderKey } from '../src/handshake/initiator.js';
import type { Invitation } from '../src/handshake/invitation.js';
import { HandshakeError, type Refusal } from '../src/handshake/refusal.js';
import type { Mode } from '../src/handshake/constants.js';
import { TileDecoder, type Framebuffer, type Rect } from '../src/codec/index.js';
import { FflateInflateBackend } from '../src/codec/backends.js';
import type { InputEvent } from '../src/input/events.js';
import { CloseReason } from '../src/session/constants.js';
import type { CursorState } from '../src/session/cursor.js';
import { driveInitiator } from '../src/driver/handshake.js';
import { HelperConnection, type CloseInfo } from '../src/driver/helper.js';
import type { Link } from '../src/driver/link.js';
import type { IncomingSink, OutgoingFile, TransferProgress, TransferResult } from '../src/driver/transfer.js';
import type { FileOffer } from '../src/session/transfer.js';
import type { TransferCode } from '../src/framing/control.js';
import { BrowserImageCodec } from './image-codec.js';
import { openRelayLink, openWebSocketLink } from './websocket-link.js';

/** Why the connection ended, in a form the page can show. */
export type EndReason =
  | { readonly kind: 'refused'; readonly refusal: Refusal; readonly authenticated: boolean }
  | { readonly kind: 'closed'; readonly reason: CloseReason; readonly message?: string | undefined; readonly byPeer: boolean }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

/** What the connection tells the page. */
export interface ConnectionEvents {
  /** The WebSocket is open and the handshake started. */
  onHandshaking?(): void;
  /** The host proved its key; its user is now being asked (Auth sent). */
  onAwaitingConsent?(): void;
  /** The handshake finished. */
  onOpen?(info: { readonly mode: Mode; readonly width: number; readonly height: number; readonly sessionId: string }): void;
  /** An update was decoded; paint `rects` of `framebuffer`, then the update is acknowledged. */
  onFrame?(framebuffer: Framebuffer, rects: readonly Rect[], keyFrame: boolean, seq: number): void;
  onMode?(mode: Mode, paused: boolean): void;
  onResize?(width: number, height: number): void;
  onChat?(text: string): void;
  /** A round trip was measured (the page pings every 2 s, HelperConnection's rttProbeMs). */
  onRtt?(ms: number): void;
  /** The host's pointer moved or changed shape (spec/session.md §6.9). */
  onCursor?(state: CursorState): void;
  onClipboard?(text: string): void;
  /** The host offers a file (spec/transfer.md): resolve true to take it (it is kept in memory, then offered as a download). */
  onFileOffer?(offer: { readonly id: number; readonly name: string; readonly size: number }, signal: AbortSignal): boolean | Promise<boolean>;
  onTransferProgress?(progress: TransferProgress): void;
  /** A file ended either way; a file received and checked has `path`: a blob: URL to download it from. */
  onTransferEnd?(result: TransferResult): void;
  onEnd?(reason: EndReason): void;
}

/** Largest file the page takes or sends: it holds the whole file in memory to hash it (Web Crypto has no streaming SHA-256). */
export const MAX_BROWSER_FILE_BYTES = 512 * 1024 * 1024;

/** SHA-256 with Web Crypto. */
async function sha256(data: ArrayBuffer | Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as BufferSource));
}

/** A file the page holds (a dropped File) as a transfer source. */
async function browserFile(file: File): Promise<OutgoingFile> {
  const hash = await sha256(await file.arrayBuffer());
  return {
    name: file.name,
    size: file.size,
    sha256: hash,
    read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()),
  };
}

/** A file from the host kept in memory; once every byte is in and the SHA-256 matches, a blob: URL. */
function memorySink(offer: FileOffer): IncomingSink {
  const parts: Uint8Array[] = [];
  return {
    offset: 0,
    write: async (_offset, data) => void parts.push(data),
    finish: async () => {
      const blob = new Blob(parts as BlobPart[], { type: 'application/octet-stream' });
      parts.length = 0;
      const got = await sha256(await blob.arrayBuffer());
      if (got.length !== offer.sha256.length || got.some((b, i) => b !== offer.sha256[i])) return false;
      return URL.createObjectURL(blob);
    },
    abort: async () => void (parts.length = 0),
  };
}

/** Options of ViewerConnection. */
export interface ViewerConnectionOptions {
  readonly invitation: Invitation;
  /** WebSocket URL of the host's endpoint (same origin as the page). */
  readonly url: string;
  /** Reach the host through its relay instead (spec/relay.md): the page was served by the relay. */
  readonly relay?: { readonly url: string; readonly id: Uint8Array } | undefined;
  /** The mode to ask for (the host grants at most this and the invitation's mode). */
  readonly requestMode: Mode;
  /**
   * The password key, kdf(password, invitation.passwordSalt), when the invitation needs a password; derive it
   * before connecting (passwordKeyAsync in src/handshake/scrypt.ts) so the handshake deadline is not spent on scrypt.
   */
  readonly passwordKey?: Uint8Array | undefined;
  readonly events: ConnectionEvents;
}

type State = 'connecting' | 'handshaking' | 'open' | 'ended';

/** Random bytes from the Web Crypto API (crypto.getRandomValues). */
function browserRandom(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let pos = 0; pos < n; pos += 65536) crypto.getRandomValues(out.subarray(pos, Math.min(n, pos + 65536)));
  return out;
}

/**
 * The page's holder key per invitation (spec/handshake.md §2.5), in memory only: "Connect again" after a dropped
 * connection proves the same key, so the host admits this viewer again; a reload is a new helper.
 */
const HOLDERS = new Map<string, HolderKey>();

function holderFor(ticketId: string): HolderKey {
  let key = HOLDERS.get(ticketId);
  if (!key) {
    key = newHolderKey(browserRandom);
    HOLDERS.set(ticketId, key);
  }
  return key;
}

/**
 * One connection to a host. Lifecycle: 'connecting' (WebSocket opening) -> 'handshaking' -> 'open' -> 'ended'.
 * `onEnd` is called exactly once.
 */
export class ViewerConnection {
  readonly #events: ConnectionEvents;
  readonly #initiator: HandshakeInitiator;
  readonly #images = new BrowserImageCodec();
  readonly #abort = new AbortController();
  #state: State = 'connecting';
  #link: Link | undefined;
  #connection: HelperConnection | undefined;

  /**
   * @throws {StateError} when the invitation needs a password and no 32-byte `passwordKey` was given
   */
  readonly #relay: { readonly url: string; readonly id: Uint8Array } | undefined;

  constructor(o: ViewerConnectionOptions) {
    this.#events = o.events;
    this.#relay = o.relay;
    const inv = o.invitation;
    if (inv.passwordSalt && o.passwordKey?.byteLength !== 32) throw new StateError('this invitation needs a 32-byte password key');
    // The initiator takes the key itself (InitiatorAuth.passwordKey): the slow KDF already ran, outside the handshake.
    this.#initiator = new HandshakeInitiator({
      hostKey: inv.hostKey,
      auth: { kind: 'ticket', ticketId: inv.ticketId, secret: inv.secret, passwordKey: inv.passwordSalt ? o.passwordKey : undefined, holder: holderFor(inv.ticketIdHex) },
      requestMode: o.requestMode,
      random: browserRandom,
      ciphers: [XSalsa20Poly1305],
    });
    void this.#run(o.url);
  }

  get state(): State {
    return this.#state;
  }

  get mode(): Mode {
    return this.#connection?.mode ?? 'view';
  }

  get paused(): boolean {
    return this.#connection?.paused ?? false;
  }

  /** Updates decoded so far. */
  get frames(): number {
    return this.#connection?.stats.frames ?? 0;
  }

  /** The latest round-trip time to the host in ms, once one was measured. */
  get rttMs(): number | undefined {
    return this.#connection?.stats.rttMs;
  }

  /** Lossy (JPEG/WebP) tiles decoded so far. */
  get lossyTiles(): number {
    return this.#images.decoded;
  }

  /** Sends input; held back (false) unless the host granted control and did not pause it. */
  sendInput(events: readonly InputEvent[]): boolean {
    return this.#state === 'open' && this.#connection !== undefined && this.#connection.sendInput(events);
  }

  /** Asks the host user for control; the answer comes as onMode. */
  requestControl(): void {
    if (this.#state === 'open') this.#connection?.requestControl();
  }

  chat(text: string): void {
    if (this.#state === 'open' && text.length > 0) this.#connection?.chat(text);
  }

  /** Sets the host's clipboard (admitted only under control). */
  clipboard(text: string): void {
    if (this.#state === 'open') this.#connection?.clipboard(text);
  }

  /** Whether the host takes files (it offered file transfer). */
  get canTransfer(): boolean {
    return this.#state === 'open' && this.#connection !== undefined && this.#connection.canTransfer;
  }

  /**
   * Sends a file to the host (spec/transfer.md); resolves when it ended (saved by the host, or refused with a code).
   * @throws {StateError} when the host takes no files or the file is over MAX_BROWSER_FILE_BYTES
   */
  async sendFile(file: File): Promise<TransferResult> {
    if (!this.canTransfer) throw new StateError('the host takes no files');
    if (file.size > MAX_BROWSER_FILE_BYTES) throw new StateError(`the page sends files of at most ${MAX_BROWSER_FILE_BYTES / 1024 / 1024} MiB`);
    return this.#connection!.sendFile(await browserFile(file));
  }

  /** Leaves the session (the host is told) or abandons the handshake. */
  close(): void {
    if (this.#state === 'ended') return;
    if (this.#connection && this.#state === 'open') {
      this.#connection.close(CloseReason.HelperLeft, 'the helper left');
      return;
    }
    this.#end({ kind: 'closed', reason: CloseReason.HelperLeft, byPeer: false });
  }

  async #run(url: string): Promise<void> {
    try {
      const relay = this.#relay;
      const link = relay ? await openRelayLink(relay.url, relay.id) : await openWebSocketLink(url);
      this.#link = link;
      if (this.#ended) {
        link.destroy();
        return;
      }
      this.#state = 'handshaking';
      this.#events.onHandshaking?.();
      const est = await driveInitiator(link, this.#initiator, { signal: this.#abort.signal, onAwaitingConsent: () => this.#events.onAwaitingConsent?.() });
      if (this.#ended) {
        link.destroy();
        return;
      }
      const decoder = new TileDecoder({ maxWidth: DEFAULT_MAX_SCREEN_PX, maxHeight: DEFAULT_MAX_SCREEN_PX, inflate: new FflateInflateBackend(), imageCodec: this.#images });
      this.#connection = new HelperConnection(est, decoder, {
        clock: Date.now,
        // The host's pointer on its own channel, when the host offers it (spec/session.md §6.9).
        features: ['cursor', 'transfer'],
        transfer: {
          onOffer: async (offer, signal): Promise<IncomingSink | TransferCode> => {
            if (offer.size > MAX_BROWSER_FILE_BYTES) return 'too-large';
            const ask = this.#events.onFileOffer;
            if (!ask) return 'disabled';
            return (await ask({ id: offer.id, name: offer.name, size: offer.size }, signal)) === true ? memorySink(offer) : signal.aborted ? 'timeout' : 'declined';
          },
          onProgress: (p) => this.#events.onTransferProgress?.(p),
          onResult: (r) => this.#events.onTransferEnd?.(r),
        },
        events: {
          // Acknowledged only after painting: the host's flow control then paces to what the page can draw.
          frame: (result, seq) => this.#events.onFrame?.(result.framebuffer, result.rects, result.keyFrame, seq),
          mode: (mode, paused) => this.#events.onMode?.(mode, paused),
          resize: (width, height) => this.#events.onResize?.(width, height),
          chat: (text) => this.#events.onChat?.(text),
          rtt: (ms) => this.#events.onRtt?.(ms),
          cursor: (state) => this.#events.onCursor?.(state),
          clipboard: (text) => this.#events.onClipboard?.(text),
          closed: (info) => this.#closed(info),
        },
      });
      this.#state = 'open';
      this.#events.onOpen?.({ mode: est.mode, width: est.welcome.width, height: est.welcome.height, sessionId: est.keys.sessionId });
      this.#connection.start();
    } catch (err) {
      if (err instanceof HandshakeError) this.#end({ kind: 'refused', refusal: err.refusal, authenticated: err.authenticated });
      else {
        const e = toTesseraError(err);
        this.#end({ kind: 'error', code: e.code, message: e.message });
      }
    }
  }

  get #ended(): boolean {
    return this.#state === 'ended';
  }

  #closed(info: CloseInfo): void {
    if (info.error && info.reason === CloseReason.ProtocolError) this.#end({ kind: 'error', code: info.error.code, message: info.error.message });
    else this.#end({ kind: 'closed', reason: info.reason, message: info.message, byPeer: info.byPeer });
  }

  #end(reason: EndReason): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#abort.abort();
    // Queued bytes (a close message) leave first; the browser sends the close frame after them.
    this.#link?.end();
    this.#events.onEnd?.(reason);
  }
}
