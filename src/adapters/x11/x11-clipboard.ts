/**
 * The X CLIPBOARD selection, both ways (issue #19 item 3): `setText` makes tessera the selection's owner and
 * serves the text to any X client that pastes (SelectionRequest for TARGETS, UTF8_STRING, STRING or TEXT);
 * `onChange` tells of text another X client put on the clipboard (XFIXES SetSelectionOwner notices, then a
 * ConvertSelection to UTF8_STRING read back from a property of tessera's own window).
 *
 * Sizes are bounded both ways: text over `maxBytes` is neither served nor read (one X request carries it, no
 * INCR transfers), and a pasting client gets a refusal rather than a cut text.
 */
import { ConfigError, TesseraError, ErrorCode } from '../../core/index.js';
import { X11Connection, type RawEvent, type RawExtension } from './x11-connection.js';

/** Options of {@link X11Clipboard.open}. */
export interface X11ClipboardOptions {
  /** X display name such as ':0' (default: the DISPLAY environment variable). */
  readonly display?: string | undefined;
  /** Largest text served or read, in UTF-8 bytes (default 256 KiB, at most 1 MiB). */
  readonly maxBytes?: number;
}

/** A listener told of new clipboard text put there by another X client. */
export type ClipboardListener = (text: string) => void;

const DEFAULT_MAX_BYTES = 256 * 1024;
const MAX_MAX_BYTES = 1024 * 1024;
const INPUT_ONLY = 2;
const PROPERTY_CHANGE_MASK = 0x00400000;
const ATOM_TYPE = 4;
const SELECTION_NOTIFY = 31;
const PROP_MODE_REPLACE = 0;
const SET_SELECTION_OWNER_MASK = 1;
/** How long a conversion the owner does not answer is waited for. */
const CONVERT_TIMEOUT_MS = 2_000;

/** The atoms the clipboard uses (STRING is predefined: 31). */
type Atoms = Readonly<Record<'CLIPBOARD' | 'UTF8_STRING' | 'STRING' | 'TEXT' | 'TARGETS' | 'PROPERTY', number>>;

/** Tessera's side of the X clipboard. */
export class X11Clipboard {
  readonly #conn: X11Connection;
  readonly #fixes: RawExtension | undefined;
  readonly #window: number;
  readonly #atoms: Atoms;
  readonly #maxBytes: number;
  readonly #listeners = new Set<ClipboardListener>();
  #text: Uint8Array | undefined;
  #reading: { resolve: (ok: boolean) => void } | undefined;
  /** The owner changed again while a read was under way: read once more after it. */
  #readAgain = false;
  #closed = false;

  private constructor(conn: X11Connection, fixes: RawExtension | undefined, window: number, atoms: Atoms, maxBytes: number) {
    this.#conn = conn;
    this.#fixes = fixes;
    this.#window = window;
    this.#atoms = atoms;
    this.#maxBytes = maxBytes;
    conn.onEvent((ev) => this.#onEvent(ev));
  }

  /**
   * Connects to the display and creates the small input-only window that owns the selection.
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for a maxBytes outside 1..1 MiB or no display
   * @throws {TesseraError} TESSERA_ERR_IO when the display cannot be reached
   */
  static async open(options: X11ClipboardOptions = {}): Promise<X11Clipboard> {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(Number.isInteger(maxBytes) && maxBytes >= 1 && maxBytes <= MAX_MAX_BYTES)) throw new ConfigError(`x11 clipboard: maxBytes must be 1..${MAX_MAX_BYTES}, got ${maxBytes}`);
    const conn = await X11Connection.open({ display: options.display, shm: false });
    try {
      const { X } = conn;
      const intern = (name: string) => conn.call<number>(X, 'InternAtom', false, name);
      const [CLIPBOARD, UTF8_STRING, TEXT, TARGETS, PROPERTY] = await Promise.all(['CLIPBOARD', 'UTF8_STRING', 'TEXT', 'TARGETS', 'TESSERA_CLIPBOARD'].map(intern));
      const window = conn.allocId();
      conn.send(X, 'CreateWindow', window, conn.screen.root, -10, -10, 1, 1, 0, 0, INPUT_ONLY, 0, { eventMask: PROPERTY_CHANGE_MASK });
      const fixes = await conn.extension('fixes');
      const clipboard = new X11Clipboard(conn, fixes, window, { CLIPBOARD: CLIPBOARD!, UTF8_STRING: UTF8_STRING!, STRING: 31, TEXT: TEXT!, TARGETS: TARGETS!, PROPERTY: PROPERTY! }, maxBytes);
      if (fixes) conn.send(fixes, 'SelectSelectionInput', window, CLIPBOARD!, SET_SELECTION_OWNER_MASK);
      await conn.sync();
      return clipboard;
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  /** Whether changes made by other X clients are reported (the server has XFIXES). */
  get watches(): boolean {
    return this.#fixes !== undefined;
  }

  /**
   * Puts text on the X clipboard: tessera owns CLIPBOARD and serves it until another client takes the selection.
   * @throws {TesseraError} TESSERA_ERR_LIMIT_EXCEEDED for text over maxBytes
   */
  async setText(text: string): Promise<void> {
    this.#conn.checkOpen();
    const bytes = new TextEncoder().encode(text);
    if (bytes.byteLength > this.#maxBytes) throw new TesseraError(ErrorCode.LimitExceeded, `clipboard text of ${bytes.byteLength} bytes is over the X clipboard's ${this.#maxBytes}`);
    this.#text = bytes;
    this.#conn.send(this.#conn.X, 'SetSelectionOwner', this.#window, this.#atoms.CLIPBOARD, 0);
    await this.#conn.sync();
  }

  /** Tells `listener` of text another X client put on the clipboard. Returns the unsubscribe function. */
  onChange(listener: ClipboardListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#reading?.resolve(false);
    await this.#conn.close();
  }

  #onEvent(ev: RawEvent): void {
    if (this.#closed) return;
    if (ev.name === 'SelectionRequest' && ev['owner'] === this.#window) this.#serve(ev);
    else if (ev.name === 'SelectionNotify' && ev['subtype'] !== undefined && ev['selection'] === this.#atoms.CLIPBOARD) {
      // XFIXES: another client took the selection (our own SetSelectionOwner is told too: skip it).
      if (ev['owner'] !== this.#window && ev['owner'] !== 0) void this.#read();
    } else if (ev.name === 'SelectionNotify' && ev['requestor'] === this.#window) this.#reading?.resolve(ev['property'] !== 0);
    else if (ev.name === 'SelectionClear' && ev['selection'] === this.#atoms.CLIPBOARD) this.#text = undefined;
  }

  /** Answers a paste: the text in the target asked for, the list of targets, or a refusal (property None). */
  #serve(ev: RawEvent): void {
    const { X } = this.#conn;
    const requestor = ev['requestor'] as number;
    const target = ev['target'] as number;
    const property = (ev['property'] as number) || target;
    const a = this.#atoms;
    let ok = this.#text !== undefined && ev['selection'] === a.CLIPBOARD;
    if (ok && target === a.TARGETS) {
      this.#conn.send(X, 'ChangeProperty', PROP_MODE_REPLACE, requestor, property, ATOM_TYPE, 32, [a.TARGETS, a.UTF8_STRING, a.STRING, a.TEXT]);
    } else if (ok && (target === a.UTF8_STRING || target === a.TEXT)) {
      this.#conn.send(X, 'ChangeProperty', PROP_MODE_REPLACE, requestor, property, a.UTF8_STRING, 8, Buffer.from(this.#text!));
    } else if (ok && target === a.STRING) {
      // STRING is Latin-1: characters beyond it become '?'.
      const latin1 = Buffer.from([...new TextDecoder().decode(this.#text!)].map((c) => (c.codePointAt(0)! <= 0xff ? c.codePointAt(0)! : 0x3f)));
      this.#conn.send(X, 'ChangeProperty', PROP_MODE_REPLACE, requestor, property, a.STRING, 8, latin1);
    } else ok = false;
    const notify = Buffer.alloc(32);
    notify.writeUInt8(SELECTION_NOTIFY, 0);
    notify.writeUInt32LE((ev['time'] as number) >>> 0, 4);
    notify.writeUInt32LE(requestor >>> 0, 8);
    notify.writeUInt32LE((ev['selection'] as number) >>> 0, 12);
    notify.writeUInt32LE(target >>> 0, 16);
    notify.writeUInt32LE(ok ? property >>> 0 : 0, 20);
    this.#conn.send(X, 'SendEvent', requestor, 0, 0, notify);
    void Promise.resolve(X.flush()).catch(() => undefined);
  }

  /** Asks the new owner for UTF8_STRING into our property, then reads it (bounded) and tells the listeners. */
  async #read(): Promise<void> {
    if (this.#listeners.size === 0) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    const { X } = this.#conn;
    const converted = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CONVERT_TIMEOUT_MS);
      this.#reading = { resolve: (ok) => (clearTimeout(timer), resolve(ok)) };
    });
    try {
      this.#conn.send(X, 'ConvertSelection', this.#window, this.#atoms.CLIPBOARD, this.#atoms.UTF8_STRING, this.#atoms.PROPERTY, 0);
      await X.flush();
      if (!(await converted) || this.#closed) return;
      const prop = await this.#conn.call<{ type: number; format: number; bytesAfter: number; data: Buffer }>(X, 'GetProperty', 1, this.#window, this.#atoms.PROPERTY, 0, 0, Math.ceil(this.#maxBytes / 4));
      // Larger than the bound (or an INCR transfer): not read at all.
      if (prop.bytesAfter > 0 || prop.format !== 8 || (prop.type !== this.#atoms.UTF8_STRING && prop.type !== this.#atoms.STRING)) return;
      const text = prop.type === this.#atoms.STRING ? Buffer.from(prop.data).toString('latin1') : new TextDecoder('utf-8', { fatal: false }).decode(prop.data);
      for (const listener of [...this.#listeners]) listener(text);
    } catch {
      // The owner went away or the display did: nothing to tell.
    } finally {
      this.#reading = undefined;
      if (this.#readAgain && !this.#closed) {
        this.#readAgain = false;
        void this.#read();
      }
    }
  }
}
