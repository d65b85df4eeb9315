/**
 * The presence border on an X display (a {@link PresenceIndicator}): while helpers are connected, four thin
 * override-redirect windows frame the screen, amber while they view and red while one controls, with a label
 * window at the top ("tessera: a helper is viewing this screen"), as Quick Assist draws a border.
 *
 * Override-redirect windows are placed by tessera, not by the window manager: no decorations, no focus, never in a
 * task bar. The windows are raised again every second, so a window the user opens does not hide the border for
 * long. They are on the shared screen, so the helper sees the border too.
 */
import { ConfigError } from '../../core/index.js';
import { presenceLabel, type PresenceIndicator, type PresenceState } from '../types.js';
import { X11Connection, type RawEvent } from './x11-connection.js';

/** Options of {@link X11Border.open}. */
export interface X11BorderOptions {
  /** X display name such as ':0' (default: the DISPLAY environment variable). */
  readonly display?: string | undefined;
  /** Thickness of the border in pixels (default 6, 1..64). */
  readonly thickness?: number;
}

/** The colours, as RGB. */
const VIEWING: Rgb = [240, 160, 0];
const CONTROLLING: Rgb = [220, 40, 40];
const TEXT: Rgb = [0, 0, 0];
type Rgb = readonly [number, number, number];

/** The core font's cell, for sizing the label ("fixed" is 6x13 on every X server). */
const FONT_W = 6;
const FONT_H = 13;
const LABEL_PAD = 6;
/** How often the border is raised above other windows, in ms. */
const RAISE_EVERY_MS = 1_000;

const EXPOSURE_MASK = 0x00008000;
const INPUT_OUTPUT = 1;
const COPY_FROM_PARENT = 0;

/** A border around an X screen while helpers are connected. */
export class X11Border implements PresenceIndicator {
  readonly #conn: X11Connection;
  readonly #thickness: number;
  readonly #edges: number[] = [];
  #label = 0;
  #gc = 0;
  #state: PresenceState | undefined;
  #mapped = false;
  #raiseTimer: ReturnType<typeof setInterval> | undefined;
  readonly #offEvent: () => void;
  #closed = false;

  private constructor(conn: X11Connection, thickness: number) {
    this.#conn = conn;
    this.#thickness = thickness;
    this.#offEvent = conn.onEvent((ev) => this.#onEvent(ev));
  }

  /**
   * Connects to the display; nothing is drawn until `show` is called with a state.
   * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for a thickness outside 1..64 or no display
   * @throws {TesseraError} TESSERA_ERR_IO when the display cannot be reached
   */
  static async open(options: X11BorderOptions = {}): Promise<X11Border> {
    const thickness = options.thickness ?? 6;
    if (!(Number.isInteger(thickness) && thickness >= 1 && thickness <= 64)) throw new ConfigError(`x11 border: thickness must be 1..64 pixels, got ${thickness}`);
    const conn = await X11Connection.open({ display: options.display, shm: false });
    return new X11Border(conn, thickness);
  }

  /** What the border shows now (undefined while hidden). */
  get state(): PresenceState | undefined {
    return this.#state;
  }

  async show(state: PresenceState | undefined): Promise<void> {
    if (this.#closed || this.#conn.closed) return;
    this.#state = state === undefined ? undefined : { helpers: state.helpers, controlling: state.controlling };
    if (state === undefined) {
      this.#hide();
      await this.#conn.sync();
      return;
    }
    if (this.#edges.length === 0) this.#create();
    await this.#layout(state);
    this.#raiseTimer ??= setInterval(() => this.#raise(), RAISE_EVERY_MS);
    this.#raiseTimer.unref?.();
    await this.#conn.sync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#raiseTimer) clearInterval(this.#raiseTimer);
    this.#offEvent();
    try {
      if (!this.#conn.closed) {
        for (const w of [...this.#edges, this.#label]) if (w) this.#conn.send(this.#conn.X, 'DestroyWindow', w);
        await this.#conn.sync();
      }
    } catch {
      // The display is gone; so are the windows.
    }
    await this.#conn.close();
  }

  /** Creates the four edges, the label and its graphics context, unmapped. */
  #create(): void {
    const { X } = this.#conn;
    const root = this.#conn.screen.root;
    for (let i = 0; i < 4; i++) {
      const id = this.#conn.allocId();
      this.#conn.send(X, 'CreateWindow', id, root, 0, 0, 1, 1, 0, COPY_FROM_PARENT, INPUT_OUTPUT, COPY_FROM_PARENT, { overrideRedirect: 1, backgroundPixel: this.#pixel(VIEWING) });
      this.#edges.push(id);
    }
    this.#label = this.#conn.allocId();
    this.#conn.send(X, 'CreateWindow', this.#label, root, 0, 0, 1, 1, 0, COPY_FROM_PARENT, INPUT_OUTPUT, COPY_FROM_PARENT, {
      overrideRedirect: 1,
      backgroundPixel: this.#pixel(VIEWING),
      eventMask: EXPOSURE_MASK,
    });
    const font = this.#conn.allocId();
    this.#conn.send(X, 'OpenFont', font, 'fixed');
    this.#gc = this.#conn.allocId();
    this.#conn.send(X, 'CreateGC', this.#gc, this.#label, { foreground: this.#pixel(TEXT), font });
  }

  /** Places and colours the windows for `state` on the root window's current size, and maps them. */
  async #layout(state: PresenceState): Promise<void> {
    const { X } = this.#conn;
    const geometry = await this.#conn.call<{ width: number; height: number }>(X, 'GetGeometry', this.#conn.screen.root);
    const w = geometry.width;
    const h = geometry.height;
    const t = Math.min(this.#thickness, Math.floor(w / 2), Math.floor(h / 2));
    const color = this.#pixel(state.controlling ? CONTROLLING : VIEWING);
    const rects = [
      [0, 0, w, t],
      [0, h - t, w, t],
      [0, 0, t, h],
      [w - t, 0, t, h],
    ] as const;
    const text = presenceLabel(state);
    const labelW = Math.min(w, text.length * FONT_W + 2 * LABEL_PAD);
    const labelH = FONT_H + 2 * 3;
    const label = [Math.max(0, (w - labelW) >> 1), t, labelW, labelH] as const;
    this.#edges.forEach((id, i) => this.#place(id, rects[i]!, color));
    this.#place(this.#label, label, color);
    for (const id of [...this.#edges, this.#label]) this.#conn.send(X, 'MapWindow', id);
    this.#mapped = true;
    this.#raise();
    this.#drawLabel();
  }

  #place(id: number, [x, y, width, height]: readonly [number, number, number, number], pixel: number): void {
    const { X } = this.#conn;
    this.#conn.send(X, 'ChangeWindowAttributes', id, { backgroundPixel: pixel });
    this.#conn.send(X, 'ConfigureWindow', id, { x, y, width: Math.max(1, width), height: Math.max(1, height) });
    // A new background shows only where the window is cleared.
    this.#conn.send(X, 'ClearArea', id, 0, 0, 0, 0, 0);
  }

  #drawLabel(): void {
    const state = this.#state;
    if (!state || !this.#mapped || this.#conn.closed) return;
    this.#conn.send(this.#conn.X, 'PolyText8', this.#label, this.#gc, LABEL_PAD, 3 + FONT_H - 3, [presenceLabel(state)]);
  }

  #raise(): void {
    if (!this.#mapped || this.#conn.closed) return;
    for (const id of [...this.#edges, this.#label]) this.#conn.send(this.#conn.X, 'RaiseWindow', id);
  }

  #hide(): void {
    if (!this.#mapped) return;
    if (this.#raiseTimer) clearInterval(this.#raiseTimer);
    this.#raiseTimer = undefined;
    for (const id of [...this.#edges, this.#label]) this.#conn.send(this.#conn.X, 'UnmapWindow', id);
    this.#mapped = false;
  }

  #onEvent(ev: RawEvent): void {
    if (ev.name === 'Expose' && ev['wid'] === this.#label) this.#drawLabel();
  }

  /** An RGB colour as a pixel of the root visual (TrueColor: each component scaled into its mask). */
  #pixel([r, g, b]: Rgb): number {
    const screen = this.#conn.screen;
    const visual = screen.depths[String(screen.root_depth)]?.[String(screen.root_visual)];
    if (!visual) return 0;
    return (scaleTo(r, visual.red_mask) | scaleTo(g, visual.green_mask) | scaleTo(b, visual.blue_mask)) >>> 0;
  }
}

/** An 8-bit component placed in a contiguous colour mask. */
function scaleTo(component: number, mask: number): number {
  if (mask === 0) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const bits = Math.round(Math.log2((mask >>> shift) + 1));
  const value = bits >= 8 ? component << (bits - 8) : component >> (8 - bits);
  return (value << shift) & mask;
}
