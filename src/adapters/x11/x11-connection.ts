/**
 * A small promise-based facade over the pure-JS `x11` package (callback-based, untyped), shared by
 * {@link X11Screen} and {@link X11Input}: connect, typed replies for the few requests tessera uses, extension
 * lookup, events, and one place where a lost connection turns every pending request into a `TESSERA_ERR_IO` error.
 */
import { createRequire } from 'node:module';
import { ConfigError, ErrorCode, TesseraError } from '../../core/index.js';

/** The untyped client object of the `x11` package (requests are methods taking a trailing callback). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawClient = any;
/** An extension object returned by `X.require` (requests as methods, constants as fields). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawExtension = any;

/** A raw X event as the `x11` package parses it (fields depend on `name`). */
export interface RawEvent {
  readonly name?: string;
  readonly type: number;
  readonly [field: string]: unknown;
}

interface X11Module {
  createClient(options: Record<string, unknown>, callback: (err: unknown, display: RawDisplay) => void): RawClient;
}

/** The connection setup the server sent, as the `x11` package exposes it (only the fields tessera reads). */
export interface RawDisplay {
  readonly client: RawClient;
  readonly image_byte_order: number;
  readonly min_keycode: number;
  readonly max_keycode: number;
  readonly format: Record<string, { bits_per_pixel: number; scanline_pad: number }>;
  readonly isLocalSocket?: boolean;
  readonly screen: readonly RawScreen[];
}

/** One screen of the connection setup. */
export interface RawScreen {
  readonly root: number;
  readonly root_depth: number;
  readonly root_visual: number;
  readonly pixel_width: number;
  readonly pixel_height: number;
  readonly depths: Record<string, Record<string, { class: number; red_mask: number; green_mask: number; blue_mask: number }>>;
}

const require = createRequire(import.meta.url);
/** The last atom every X server predefines (WM_TRANSIENT_FOR); X protocol, appendix B. */
const LAST_PREDEFINED_ATOM = 68;
let x11Module: X11Module | undefined;

function loadX11(): X11Module {
  if (x11Module === undefined) {
    try {
      x11Module = require('x11') as X11Module;
    } catch (err) {
      throw new TesseraError(ErrorCode.Io, 'the x11 package could not be loaded', { cause: err });
    }
  }
  return x11Module;
}

/** Options of {@link X11Connection.open}. */
export interface X11ConnectionOptions {
  /** X display name such as ':0' or ':99' (default: the DISPLAY environment variable). */
  readonly display?: string | undefined;
  /** Allow the MIT-SHM fast path (default true; it is used only where it works). */
  readonly shm?: boolean | undefined;
  /** Connection deadline (default 5 s). */
  readonly timeoutMs?: number | undefined;
}

/** One X connection with promise-returning requests. */
export class X11Connection {
  readonly X: RawClient;
  readonly setup: RawDisplay;
  readonly displayName: string;
  readonly screen: RawScreen;
  #closed = false;
  #lostError: TesseraError | undefined;
  readonly #pending = new Set<(err: TesseraError) => void>();
  readonly #eventListeners = new Set<(event: RawEvent) => void>();
  readonly #extensions = new Map<string, Promise<RawExtension | undefined>>();
  /** The last asynchronous X error (from a request without a reply), for diagnostics. */
  lastError: unknown;

  private constructor(setup: RawDisplay, displayName: string) {
    this.setup = setup;
    this.X = setup.client;
    this.displayName = displayName;
    const screen = setup.screen[0];
    if (screen === undefined) throw new TesseraError(ErrorCode.Io, `x11: display ${displayName} has no screen`);
    this.screen = screen;
    // The x11 package caches interned atoms in one object shared by all its clients (its stdatoms table), so an atom
    // interned on one display would be taken for another display's: each connection gets its own cache, holding
    // only the predefined atoms (1..68, the same on every server).
    const own: Record<string, number> = {};
    for (const [name, id] of Object.entries(this.X.atoms as Record<string, number>)) if (id >= 1 && id <= LAST_PREDEFINED_ATOM) own[name] = id;
    this.X.atoms = own;
    this.X.atom_names = Object.fromEntries(Object.entries(own).map(([name, id]) => [id, name]));
    this.X.on('event', (event: RawEvent) => {
      for (const listener of [...this.#eventListeners]) listener(event);
    });
    // Errors of requests without a reply arrive here; without a listener the client would throw them.
    this.X.on('error', (err: unknown) => {
      this.lastError = err;
    });
    const lost = () => this.#lost(new TesseraError(ErrorCode.Io, `x11: the connection to display ${displayName} was lost`));
    this.X.on('end', lost);
    this.X.on('close', lost);
  }

  /**
   * Connects to an X display.
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when no display is named and DISPLAY is unset
   * @throws {TesseraError} TESSERA_ERR_IO when the display cannot be reached or refuses the connection
   */
  static open(options: X11ConnectionOptions = {}): Promise<X11Connection> {
    const displayName = options.display ?? process.env['DISPLAY'];
    if (!displayName) throw new ConfigError('x11: no display given and DISPLAY is not set');
    const x11 = loadX11();
    const timeoutMs = options.timeoutMs ?? 5_000;
    return new Promise<X11Connection>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new TesseraError(ErrorCode.Io, `x11: cannot connect to display ${displayName}: ${describe(err)}`, { cause: err }));
      };
      const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      let client: RawClient;
      try {
        client = x11.createClient({ display: displayName, ...(options.shm === false ? { shm: false } : {}) }, (err, setup) => {
          if (settled) return;
          if (err) return fail(err);
          settled = true;
          clearTimeout(timer);
          try {
            resolve(new X11Connection(setup, displayName));
          } catch (e) {
            reject(e);
          }
        });
      } catch (err) {
        fail(err);
        return;
      }
      client?.on?.('error', (err: unknown) => fail(err));
    });
  }

  get closed(): boolean {
    return this.#closed || this.#lostError !== undefined;
  }

  /** Throws the connection-lost error when the connection is gone. */
  checkOpen(): void {
    if (this.#lostError) throw this.#lostError;
    if (this.#closed) throw new TesseraError(ErrorCode.Closed, 'x11: the connection is closed');
  }

  /** Sends a request with a reply: `X[name](...args, cb)`, or `target[name]` for an extension. */
  call<T>(target: RawClient | RawExtension, name: string, ...args: unknown[]): Promise<T> {
    this.checkOpen();
    return new Promise<T>((resolve, reject) => {
      const onLost = (err: TesseraError) => reject(err);
      this.#pending.add(onLost);
      try {
        target[name](...args, (err: unknown, value: T) => {
          this.#pending.delete(onLost);
          if (err) reject(new TesseraError(ErrorCode.Io, `x11: ${name} failed: ${describe(err)}`, { cause: err }));
          else resolve(value);
          // Tells the x11 package the reply was consumed (some request helpers expect a truthy return).
          return true;
        });
      } catch (err) {
        this.#pending.delete(onLost);
        reject(new TesseraError(ErrorCode.Io, `x11: ${name} failed: ${describe(err)}`, { cause: err }));
      }
    });
  }

  /** Sends a request without a reply; errors surface later in `lastError`. */
  send(target: RawClient | RawExtension, name: string, ...args: unknown[]): void {
    this.checkOpen();
    target[name](...args);
  }

  /** A round trip: resolves once the server processed every request sent so far. */
  sync(): Promise<void> {
    return this.call<unknown>(this.X, 'GetInputFocus').then(() => undefined);
  }

  /** The extension object, or undefined when the server lacks it. */
  extension(name: string): Promise<RawExtension | undefined> {
    let found = this.#extensions.get(name);
    if (found === undefined) {
      found = new Promise<RawExtension | undefined>((resolve) => {
        try {
          this.X.require(name, (err: unknown, ext: RawExtension) => resolve(err || !ext || ext.present === false ? undefined : ext));
        } catch {
          resolve(undefined);
        }
      });
      this.#extensions.set(name, found);
    }
    return found;
  }

  /** A fresh resource id. */
  allocId(): number {
    return this.X.AllocID() as number;
  }

  /** Listens to every X event on this connection. */
  onEvent(listener: (event: RawEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => void this.#eventListeners.delete(listener);
  }

  /** Closes the connection (pending requests fail with TESSERA_ERR_CLOSED). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const err = new TesseraError(ErrorCode.Closed, 'x11: the connection is closed');
    for (const reject of [...this.#pending]) reject(err);
    this.#pending.clear();
    if (this.#lostError) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          this.X.terminate();
        } catch {
          // Already gone.
        }
        resolve();
      }, 1_000);
      try {
        this.X.close(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  #lost(err: TesseraError): void {
    if (this.#lostError || this.#closed) return;
    this.#lostError = err;
    for (const reject of [...this.#pending]) reject(err);
    this.#pending.clear();
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? 'error';
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
