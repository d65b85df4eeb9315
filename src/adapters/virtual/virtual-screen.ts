/**
 * The virtual desktop: a screen drawn in memory that reacts to injected input, for the demo and the tests.
 *
 * It shows a gradient background, a top panel with a clock (HH:MM:SS from the injected clock) and a window whose
 * title bar the pointer can drag and whose text field shows what is typed (US layout key events, text events,
 * Backspace, Enter, Ctrl+V pastes the clipboard set by the helper). It is both a {@link ScreenSource} and an
 * {@link InputSink}. Input only changes the model and records damage; pixels are repainted at `capture()`, only
 * inside the damaged rectangles, so many events between two captures cost one repaint.
 * The pointer is not painted into the frames: it is reported through `readCursor`/`onCursor` (spec/session.md §6.9),
 * moved by injected pointer events (or `movePointer`, the host user's own mouse), an arrow that turns into an I-beam
 * over the text field.
 */
import { ConfigError, type Clock } from '../../core/index.js';
import type { Framebuffer, Rect } from '../../codec/framebuffer.js';
import { MAX_SCREEN_DIMENSION } from '../../codec/framebuffer.js';
import { Modifier, MouseButton, type InputEvent, type KeyInput } from '../../input/index.js';
import {
  presenceLabel,
  type Capture,
  type CursorListener,
  type CursorShape,
  type CursorState,
  type DamageListener,
  type InputSink,
  type PresenceIndicator,
  type PresenceState,
  type ResizeListener,
  type ScreenSource,
  type Unsubscribe,
} from '../types.js';
import { Canvas, rgb } from './canvas.js';
import { CELL_HEIGHT, CELL_WIDTH } from './font.js';
import { usLayoutCharacter } from './keymap.js';

/** Options of {@link VirtualScreen}. */
export interface VirtualScreenOptions {
  /** Screen width in pixels (default 1920, at least 320). */
  readonly width?: number;
  /** Screen height in pixels (default 1080, at least 240). */
  readonly height?: number;
  /** Milliseconds since the epoch, for the clock (default `Date.now`). */
  readonly now?: Clock;
  /** Show the clock in local time (default) or UTC. */
  readonly timeZone?: 'local' | 'utc';
  /** The window's title (default 'Notes'). */
  readonly title?: string;
  /** Most characters (UTF-16 units) the text field keeps; more typing is ignored (default 10000). */
  readonly maxTextLength?: number;
}

/** Smallest screen the layout fits in. */
export const MIN_VIRTUAL_WIDTH = 320;
export const MIN_VIRTUAL_HEIGHT = 240;

// Layout, in screen pixels.
const SCALE = 2; // Screen pixels per font pixel: 12x22 character cells.
const CHAR_W = CELL_WIDTH * SCALE;
const CHAR_H = CELL_HEIGHT * SCALE;
const PANEL_HEIGHT = 32;
const TITLE_HEIGHT = 28;
const FIELD_PADDING = 6;
const CLOCK_CHARS = 8; // HH:MM:SS
// Past this many separate rectangles, damage is sent as their bounding box.
const MAX_DAMAGE_RECTS = 16;

// Colours.
const PANEL = rgb(24, 24, 32);
const PANEL_TEXT = rgb(210, 214, 220);
const WINDOW_BORDER = rgb(40, 40, 48);
const TITLE_BAR = rgb(52, 101, 164);
const TITLE_TEXT = rgb(255, 255, 255);
const WINDOW_BODY = rgb(236, 236, 236);
const LABEL_TEXT = rgb(32, 32, 32);
const FIELD_BACKGROUND = rgb(255, 255, 255);
const FIELD_BORDER = rgb(128, 128, 128);
const FIELD_TEXT = rgb(0, 0, 0);
// The presence border (PresenceIndicator): amber while helpers view, red while one controls.
const PRESENCE_VIEWING = rgb(240, 160, 0);
const PRESENCE_CONTROLLING = rgb(220, 40, 40);
const PRESENCE_TEXT = rgb(0, 0, 0);
/** Thickness of the presence border, in pixels. */
export const PRESENCE_BORDER_PX = 6;

/**
 * An in-memory desktop that is both a screen source and an input sink, and draws the presence border
 * (a {@link PresenceIndicator}) on itself while helpers are connected.
 */
export class VirtualScreen implements ScreenSource, InputSink, PresenceIndicator {
  #width: number;
  #height: number;
  #frame: Framebuffer;
  #canvas: Canvas;
  #rowColors: Uint32Array;
  readonly #now: Clock;
  readonly #utc: boolean;
  readonly #title: string;
  readonly #maxTextLength: number;
  #windowWidth: number;
  #windowHeight: number;
  #windowX = 0;
  #windowY = 0;
  #text = '';
  #clipboard = '';
  #clockShown = '';
  #drag: { offsetX: number; offsetY: number } | undefined;
  #damage: Rect[] = [];
  #notified = false;
  readonly #damageListeners = new Set<DamageListener>();
  readonly #resizeListeners = new Set<ResizeListener>();
  readonly #cursorListeners = new Set<CursorListener>();
  #pointerX: number;
  #pointerY: number;
  #closed = false;
  #presence: PresenceState | undefined;

  /** @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for a size outside 320x240..16384x16384 */
  constructor(options: VirtualScreenOptions = {}) {
    const width = options.width ?? 1920;
    const height = options.height ?? 1080;
    checkSize(width, height);
    this.#width = width;
    this.#height = height;
    this.#now = options.now ?? Date.now;
    this.#utc = options.timeZone === 'utc';
    this.#title = options.title ?? 'Notes';
    this.#maxTextLength = options.maxTextLength ?? 10_000;
    this.#windowWidth = windowWidthFor(width);
    this.#windowHeight = windowHeightFor(height);
    this.#windowX = Math.floor((width - this.#windowWidth) / 2);
    this.#windowY = PANEL_HEIGHT + Math.floor((height - PANEL_HEIGHT - this.#windowHeight) / 3);
    this.#frame = allocate(width, height);
    this.#canvas = new Canvas(this.#frame);
    this.#rowColors = gradient(height);
    this.#damage.push(this.#screenRect());
    this.#pointerX = Math.floor(width / 2);
    this.#pointerY = Math.floor(height / 2);
  }

  get width(): number {
    return this.#width;
  }

  get height(): number {
    return this.#height;
  }

  /** What the text field holds. */
  get text(): string {
    return this.#text;
  }

  /** The window's top-left corner. */
  get windowPosition(): { readonly x: number; readonly y: number } {
    return { x: this.#windowX, y: this.#windowY };
  }

  /** The window's area on screen. */
  get windowRect(): Rect {
    return { x: this.#windowX, y: this.#windowY, width: this.#windowWidth, height: this.#windowHeight };
  }

  /** The title bar, where a left-button drag moves the window. */
  get titleBarRect(): Rect {
    return { x: this.#windowX, y: this.#windowY, width: this.#windowWidth, height: TITLE_HEIGHT };
  }

  /** The text field's area on screen. */
  get fieldRect(): Rect {
    return {
      x: this.#windowX + 12,
      y: this.#windowY + TITLE_HEIGHT + 40,
      width: this.#windowWidth - 24,
      height: this.#windowHeight - TITLE_HEIGHT - 52,
    };
  }

  /** The clock's area on screen. */
  get clockRect(): Rect {
    return { x: this.#width - CLOCK_CHARS * CHAR_W - 12, y: (PANEL_HEIGHT - CHAR_H) >> 1, width: CLOCK_CHARS * CHAR_W, height: CHAR_H };
  }

  /** The clock as shown at the next capture (HH:MM:SS). */
  get clockText(): string {
    const date = new Date(this.#now());
    const h = this.#utc ? date.getUTCHours() : date.getHours();
    const m = this.#utc ? date.getUTCMinutes() : date.getMinutes();
    const s = this.#utc ? date.getUTCSeconds() : date.getSeconds();
    return `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  }

  /** The last clipboard text the helper sent. */
  get clipboard(): string {
    return this.#clipboard;
  }

  /**
   * Repaints what changed and returns the frame and the damaged rectangles since the previous capture
   * (the whole screen the first time and after a resize, `[]` when nothing changed).
   * The returned framebuffer is the screen's own and is repainted in place by the next capture.
   */
  capture(): Capture {
    this.#checkClock();
    this.#notified = false;
    if (this.#damage.length === 0) return { frame: this.#frame, damage: [] };
    const damage = mergeRects(this.#damage, this.#width, this.#height);
    this.#damage = [];
    for (const rect of damage) this.#paint(rect);
    return { frame: this.#frame, damage };
  }

  /**
   * A copy of the screen as it is now, without consuming the damage: the next capture still reports every change.
   * For tests and tools that look at the screen beside a host that captures it.
   */
  snapshot(): Framebuffer {
    this.#checkClock();
    const pending = mergeRects(this.#damage, this.#width, this.#height);
    for (const rect of pending) this.#paint(rect);
    return { width: this.#width, height: this.#height, data: this.#frame.data.slice() };
  }

  /**
   * Checks the clock and, when the shown second changed, records damage and tells the damage listeners
   * (capture checks the clock itself; call this from a timer to learn when to capture).
   */
  tick(): void {
    if (this.#checkClock()) this.#notify();
  }

  /** Moves the clock to the current second; true when that changed what it shows. */
  #checkClock(): boolean {
    const clock = this.clockText;
    if (clock === this.#clockShown) return false;
    // The whole clock rectangle is damaged whenever the text changes, so a partial repaint never mixes two times.
    this.#clockShown = clock;
    this.#damage.push(this.clockRect);
    return true;
  }

  onDamage(listener: DamageListener): Unsubscribe {
    this.#damageListeners.add(listener);
    return () => void this.#damageListeners.delete(listener);
  }

  /** The pointer: where it is and its shape (an arrow, an I-beam over the text field). spec/session.md §6.9 */
  readCursor(): CursorState {
    const shape = inside(this.#pointerX, this.#pointerY, this.fieldRect) ? IBEAM : ARROW;
    return { x: this.#pointerX, y: this.#pointerY, visible: true, shape };
  }

  onCursor(listener: CursorListener): Unsubscribe {
    this.#cursorListeners.add(listener);
    return () => void this.#cursorListeners.delete(listener);
  }

  /** Moves the pointer as the host user's own mouse would (no click, no drag): the helpers see it move. */
  movePointer(x: number, y: number): void {
    this.#setPointer(x, y);
  }

  #setPointer(x: number, y: number): void {
    const nx = Math.max(0, Math.min(this.#width - 1, Math.round(x)));
    const ny = Math.max(0, Math.min(this.#height - 1, Math.round(y)));
    if (nx === this.#pointerX && ny === this.#pointerY) return;
    this.#pointerX = nx;
    this.#pointerY = ny;
    for (const listener of [...this.#cursorListeners]) listener();
  }

  onResize(listener: ResizeListener): Unsubscribe {
    this.#resizeListeners.add(listener);
    return () => void this.#resizeListeners.delete(listener);
  }

  /** Changes the screen size (as a display-settings change would); the next capture is a full one. */
  resize(width: number, height: number): void {
    checkSize(width, height);
    if (width === this.#width && height === this.#height) return;
    this.#width = width;
    this.#height = height;
    this.#frame = allocate(width, height);
    this.#canvas = new Canvas(this.#frame);
    this.#rowColors = gradient(height);
    this.#windowWidth = windowWidthFor(width);
    this.#windowHeight = windowHeightFor(height);
    this.#moveWindowTo(this.#windowX, this.#windowY, false);
    this.#damage = [this.#screenRect()];
    this.#setPointer(Math.min(this.#pointerX, width - 1), Math.min(this.#pointerY, height - 1));
    for (const listener of [...this.#resizeListeners]) listener(width, height);
    this.#notify();
  }

  /** Applies one input event to the desktop. */
  inject(event: InputEvent): void {
    if (this.#closed) return;
    if (event.type === 'pointerMove' || event.type === 'buttonDown' || event.type === 'buttonUp') this.#setPointer(event.x, event.y);
    switch (event.type) {
      case 'keyDown':
        this.#keyDown(event);
        return;
      case 'text':
        this.#append(event.text);
        return;
      case 'buttonDown': {
        const bar = this.titleBarRect;
        if (event.button === MouseButton.Left && inside(event.x, event.y, bar)) {
          this.#drag = { offsetX: event.x - bar.x, offsetY: event.y - bar.y };
        }
        return;
      }
      case 'pointerMove':
        if (this.#drag !== undefined) this.#moveWindowTo(event.x - this.#drag.offsetX, event.y - this.#drag.offsetY, true);
        return;
      case 'buttonUp':
        if (this.#drag !== undefined && event.button === MouseButton.Left) {
          this.#moveWindowTo(event.x - this.#drag.offsetX, event.y - this.#drag.offsetY, true);
          this.#drag = undefined;
        }
        return;
      default:
        // Key releases and the wheel change nothing on this desktop.
        return;
    }
  }

  /** Stores the helper's clipboard text; Ctrl+V in the field pastes it. */
  setClipboard(text: string): void {
    this.#clipboard = text;
  }

  /** Ends a drag in progress (the pointer button was released for the helper). */
  releaseAll(): void {
    this.#drag = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#damageListeners.clear();
    this.#resizeListeners.clear();
    this.#cursorListeners.clear();
  }

  #keyDown(event: KeyInput): void {
    switch (event.code) {
      case 'Backspace':
        if (this.#text.length > 0) {
          // Remove one code point, not half of a surrogate pair.
          const last = this.#text.charCodeAt(this.#text.length - 1);
          const cut = last >= 0xdc00 && last <= 0xdfff && this.#text.length >= 2 ? 2 : 1;
          this.#setText(this.#text.slice(0, -cut));
        }
        return;
      case 'Enter':
      case 'NumpadEnter':
        this.#append('\n');
        return;
      case 'KeyV':
        // Ctrl+V (or Meta+V) pastes the clipboard the helper sent.
        if ((event.modifiers & (Modifier.Ctrl | Modifier.Meta)) !== 0 && (event.modifiers & Modifier.Alt) === 0) {
          this.#append(this.#clipboard);
          return;
        }
        break;
      default:
        break;
    }
    const char = usLayoutCharacter(event.code, event.modifiers);
    if (char !== undefined) this.#append(char);
  }

  #append(text: string): void {
    // Line breaks of any platform become '\n'; other control characters are not typed.
    const clean = text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '');
    if (clean.length === 0) return;
    const room = this.#maxTextLength - this.#text.length;
    if (room <= 0) return;
    let add = clean.length <= room ? clean : clean.slice(0, room);
    // Never keep half of a surrogate pair at the cut.
    const lastUnit = add.charCodeAt(add.length - 1);
    if (lastUnit >= 0xd800 && lastUnit <= 0xdbff) add = add.slice(0, -1);
    if (add.length > 0) this.#setText(this.#text + add);
  }

  #setText(text: string): void {
    this.#text = text;
    this.#addDamage(this.fieldRect);
  }

  #moveWindowTo(x: number, y: number, damage: boolean): void {
    const nx = clamp(x, 0, this.#width - this.#windowWidth);
    const ny = clamp(y, PANEL_HEIGHT, this.#height - this.#windowHeight);
    if (nx === this.#windowX && ny === this.#windowY) return;
    // Record both areas before telling anyone: a listener may capture at once, and must see the move whole.
    const before = this.windowRect;
    this.#windowX = nx;
    this.#windowY = ny;
    if (damage) {
      this.#damage.push(before);
      this.#addDamage(this.windowRect);
    }
  }

  #addDamage(rect: Rect): void {
    this.#damage.push(rect);
    this.#notify();
  }

  #notify(): void {
    if (this.#notified) return;
    this.#notified = true;
    for (const listener of [...this.#damageListeners]) listener();
  }

  #screenRect(): Rect {
    return { x: 0, y: 0, width: this.#width, height: this.#height };
  }

  /** What the presence border shows now (undefined while no helper is connected). */
  get presence(): PresenceState | undefined {
    return this.#presence;
  }

  /** Draws (or, with undefined, removes) the presence border and its label; PresenceIndicator. */
  show(state: PresenceState | undefined): void {
    if (this.#closed) return;
    const same = state === undefined ? this.#presence === undefined : this.#presence !== undefined && this.#presence.helpers === state.helpers && this.#presence.controlling === state.controlling;
    if (same) return;
    // Damage where the old border was and where the new one goes (the label's width changes with its text).
    for (const r of this.#presenceRects()) this.#damage.push(r);
    this.#presence = state === undefined ? undefined : { helpers: state.helpers, controlling: state.controlling };
    for (const r of this.#presenceRects()) this.#damage.push(r);
    this.#notify();
  }

  /** The border's four edges and the label, for the current state; [] without one. */
  #presenceRects(): Rect[] {
    const p = this.#presence;
    if (p === undefined) return [];
    const w = this.#width;
    const h = this.#height;
    const b = PRESENCE_BORDER_PX;
    return [{ x: 0, y: 0, width: w, height: b }, { x: 0, y: h - b, width: w, height: b }, { x: 0, y: 0, width: b, height: h }, { x: w - b, y: 0, width: b, height: h }, this.#labelRect(p)];
  }

  /** The label's box, centred under the top edge; the text at scale 2 where it fits, else 1. */
  #labelRect(p: PresenceState): Rect & { readonly scale: number } {
    const text = presenceLabel(p);
    const scale = text.length * CHAR_W + 24 <= this.#width - 2 * PRESENCE_BORDER_PX ? SCALE : 1;
    const width = Math.min(this.#width, text.length * CELL_WIDTH * scale + 12 * scale);
    const height = CELL_HEIGHT * scale + 4 * scale;
    return { x: (this.#width - width) >> 1, y: PRESENCE_BORDER_PX, width, height, scale };
  }

  /** Paints every layer of the scene that overlaps `clip`, back to front. */
  #paint(clip: Rect): void {
    this.#paintScene(clip);
    this.#paintPresence();
  }

  /** The border and its label, over everything else. */
  #paintPresence(): void {
    const p = this.#presence;
    if (p === undefined) return;
    const c = this.#canvas;
    const color = p.controlling ? PRESENCE_CONTROLLING : PRESENCE_VIEWING;
    const [top, bottom, left, right, label] = this.#presenceRects() as [Rect, Rect, Rect, Rect, Rect & { scale: number }];
    for (const r of [top, bottom, left, right]) if (c.touches(r.x, r.y, r.width, r.height)) c.fillRect(r.x, r.y, r.width, r.height, color);
    if (!c.touches(label.x, label.y, label.width, label.height)) return;
    c.fillRect(label.x, label.y, label.width, label.height, color);
    c.drawText(presenceLabel(p), label.x + 6 * label.scale, label.y + 2 * label.scale, label.scale, PRESENCE_TEXT);
  }

  /** The desktop under the border: background, panel, window. */
  #paintScene(clip: Rect): void {
    const c = this.#canvas;
    c.setClip(clip);
    c.fillRows(0, 0, this.#width, this.#height, this.#rowColors);

    // Top panel with a label and the clock.
    if (c.touches(0, 0, this.#width, PANEL_HEIGHT)) {
      c.fillRect(0, 0, this.#width, PANEL_HEIGHT, PANEL);
      const labelY = (PANEL_HEIGHT - CHAR_H) >> 1;
      c.drawText('tessera virtual desktop', 12, labelY, SCALE, PANEL_TEXT);
      const clock = this.clockRect;
      c.drawText(this.#clockShown, clock.x, clock.y, SCALE, PANEL_TEXT);
    }

    // The window: border, title bar, body, label, text field.
    const x = this.#windowX;
    const y = this.#windowY;
    const w = this.#windowWidth;
    const h = this.#windowHeight;
    if (!c.touches(x, y, w, h)) return;
    c.fillRect(x, y, w, h, WINDOW_BODY);
    c.fillRect(x, y, w, TITLE_HEIGHT, TITLE_BAR);
    c.strokeRect(x, y, w, h, WINDOW_BORDER);
    c.drawText(this.#title, x + 10, y + ((TITLE_HEIGHT - CHAR_H) >> 1) + 2, SCALE, TITLE_TEXT);
    c.drawText('Type here:', x + 12, y + TITLE_HEIGHT + 12, SCALE, LABEL_TEXT);
    const field = this.fieldRect;
    if (!c.touches(field.x, field.y, field.width, field.height)) return;
    c.fillRect(field.x, field.y, field.width, field.height, FIELD_BACKGROUND);
    c.strokeRect(field.x, field.y, field.width, field.height, FIELD_BORDER);
    this.#paintText(field);
  }

  /** Wraps the field's text into its columns and paints the last lines that fit, with a caret after the text. */
  #paintText(field: Rect): void {
    const columns = Math.max(1, Math.floor((field.width - 2 * FIELD_PADDING) / CHAR_W));
    const rows = Math.max(1, Math.floor((field.height - 2 * FIELD_PADDING) / CHAR_H));
    const lines: string[][] = [[]];
    for (const char of this.#text) {
      let line = lines[lines.length - 1]!;
      if (char === '\n') {
        lines.push([]);
        continue;
      }
      if (line.length === columns) {
        line = [];
        lines.push(line);
      }
      line.push(char);
    }
    const first = Math.max(0, lines.length - rows);
    const c = this.#canvas;
    let caretX = field.x + FIELD_PADDING;
    let caretY = field.y + FIELD_PADDING;
    for (let i = first; i < lines.length; i++) {
      const line = lines[i]!;
      const top = field.y + FIELD_PADDING + (i - first) * CHAR_H;
      let left = field.x + FIELD_PADDING;
      for (const char of line) {
        c.drawGlyph(char.codePointAt(0)!, left, top, SCALE, FIELD_TEXT);
        left += CHAR_W;
      }
      caretX = left;
      caretY = top;
    }
    c.fillRect(caretX, caretY, 2, CHAR_H - 4, FIELD_TEXT);
  }
}

function checkSize(width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= MIN_VIRTUAL_WIDTH && height >= MIN_VIRTUAL_HEIGHT && width <= MAX_SCREEN_DIMENSION && height <= MAX_SCREEN_DIMENSION)) {
    throw new ConfigError(`virtual screen size ${width}x${height} is outside ${MIN_VIRTUAL_WIDTH}x${MIN_VIRTUAL_HEIGHT}..${MAX_SCREEN_DIMENSION}x${MAX_SCREEN_DIMENSION}`);
  }
}

/** The window is 720x420 where that fits, smaller on small screens. */
function windowWidthFor(screenWidth: number): number {
  return Math.min(720, screenWidth - 40);
}

function windowHeightFor(screenHeight: number): number {
  return Math.min(420, screenHeight - PANEL_HEIGHT - 40);
}

function allocate(width: number, height: number): Framebuffer {
  return { width, height, data: new Uint8Array(width * height * 4) };
}

/** Background colour of every screen row: a vertical gradient from deep blue to teal. */
function gradient(height: number): Uint32Array {
  const colors = new Uint32Array(height);
  for (let y = 0; y < height; y++) {
    const t = height > 1 ? y / (height - 1) : 0;
    colors[y] = rgb(Math.round(28 - 12 * t), Math.round(56 + 72 * t), Math.round(110 + 30 * t));
  }
  return colors;
}

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? (high < low ? low : high) : value;
}

function inside(x: number, y: number, rect: Rect): boolean {
  return x >= rect.x && y >= rect.y && x < rect.x + rect.width && y < rect.y + rect.height;
}

/**
 * Clips rectangles to the screen, drops empty ones and merges overlapping or touching ones into their union,
 * so a drag's many small moves become one or two rectangles. Past MAX_DAMAGE_RECTS, returns the bounding box.
 */
export function mergeRects(rects: readonly Rect[], width: number, height: number): Rect[] {
  let boxes: { x0: number; y0: number; x1: number; y1: number }[] = [];
  for (const rect of rects) {
    const x0 = Math.max(0, rect.x);
    const y0 = Math.max(0, rect.y);
    const x1 = Math.min(width, rect.x + rect.width);
    const y1 = Math.min(height, rect.y + rect.height);
    if (x0 < x1 && y0 < y1) boxes.push({ x0, y0, x1, y1 });
  }
  let merged = true;
  while (merged) {
    merged = false;
    const next: typeof boxes = [];
    for (const box of boxes) {
      const other = next.find((o) => box.x0 <= o.x1 && o.x0 <= box.x1 && box.y0 <= o.y1 && o.y0 <= box.y1);
      if (other === undefined) {
        next.push({ ...box });
        continue;
      }
      other.x0 = Math.min(other.x0, box.x0);
      other.y0 = Math.min(other.y0, box.y0);
      other.x1 = Math.max(other.x1, box.x1);
      other.y1 = Math.max(other.y1, box.y1);
      merged = true;
    }
    boxes = next;
  }
  if (boxes.length > MAX_DAMAGE_RECTS) {
    const all = boxes.reduce((a, b) => ({ x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) }));
    boxes = [all];
  }
  return boxes.map((b) => ({ x: b.x0, y: b.y0, width: b.x1 - b.x0, height: b.y1 - b.y0 }));
}

/** Builds a cursor shape from rows of '#' (black), '.' (white) and ' ' (transparent). */
function shapeFrom(id: number, hotX: number, hotY: number, rows: readonly string[]): CursorShape {
  const width = Math.max(...rows.map((r) => r.length));
  const height = rows.length;
  const rgba = new Uint8Array(width * height * 4);
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      const c = row[x];
      if (c === ' ') continue;
      const v = c === '#' ? 0 : 255;
      rgba.set([v, v, v, 255], (y * width + x) * 4);
    }
  });
  return Object.freeze({ id, width, height, hotX, hotY, rgba });
}

/** The virtual desktop's arrow (id 1), hotspot at its tip. */
const ARROW = shapeFrom(1, 0, 0, [
  '#',
  '##',
  '#.#',
  '#..#',
  '#...#',
  '#....#',
  '#.....#',
  '#......#',
  '#.......#',
  '#........#',
  '#.....#####',
  '#..#..#',
  '#.# #..#',
  '##  #..#',
  '#    #..#',
  '     #..#',
  '      ##',
]);

/** The virtual desktop's I-beam over the text field (id 2), hotspot at its middle. */
const IBEAM = shapeFrom(2, 3, 8, [
  '### ###',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '   #   ',
  '### ###',
]);
