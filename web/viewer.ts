/**
 * The tessera web viewer: the helper's side of remote assistance in a browser page served by the host.
 * The invitation arrives in the URL fragment (`#<tessera:// URL, URI-encoded>`, which never reaches a server)
 * or through the paste box. The page connects over a WebSocket to its own origin, runs the handshake, paints
 * decoded updates onto a canvas scaled to the window, and sends keyboard, pointer and wheel input while the host
 * grants control. Typing goes, by default, as the characters the helper's keyboard produces (text events); the
 * keyboard setting switches to physical keys (web/input.ts routeKey). For an invitation with a password, the page
 * asks for it and derives the password key with the pure-TypeScript scrypt (src/handshake/scrypt.ts) before it
 * connects, so the handshake deadline is not spent on it.
 * Bundled by esbuild into dist/web/viewer.js (src/node/web-server.ts).
 */
import { readInvitation, type Invitation } from '../src/handshake/invitation.js';
import type { Mode } from '../src/handshake/constants.js';
import type { Framebuffer, Rect } from '../src/codec/index.js';
import type { InputEvent } from '../src/input/events.js';
import type { CursorShape, CursorState } from '../src/session/cursor.js';
import type { TransferProgress, TransferResult } from '../src/driver/transfer.js';
import { TesseraError } from '../src/core/index.js';
import { passwordKeyAsync } from '../src/handshake/scrypt.js';
import { ViewerConnection, type EndReason } from './connection.js';
import { KeyTracker, PointerTracker, TYPING_MODES, keyEvent, routeKey, sentCode, screenPoint, textEvents, wheelEvent, type TypingMode } from './input.js';
import { anotherHostScreen, badPasswordScreen, closeScreen, errorScreen, refusalScreen, type ScreenMessage } from './messages.js';
import { FrameRate, SPECIAL_KEYS, controlNotice, invitationNamesHost, invitationPlace, specialKeyEvents, statusLine, type Notice, type SpecialKey } from './toolbar.js';

/** Path of the host's WebSocket endpoint (src/transport/websocket.ts WEBSOCKET_PATH). */
const WEBSOCKET_PATH = '/tessera';

type PageState = 'start' | 'password' | 'checking-password' | 'connecting' | 'awaiting-consent' | 'connected' | 'message';

/** scrypt steps per slice of the password KDF; the page paints and handles Cancel between slices. */
const KDF_SLICE_STEPS = 1024;

/** Where the page keeps the helper's typing mode (localStorage). */
const TYPING_MODE_STORAGE = 'tessera.typingMode';

/** Where the page keeps the helper's choice to join view-only (localStorage). */
const VIEW_ONLY_STORAGE = 'tessera.joinViewOnly';

/** How long a notice that is not sticky stays over the screen, in ms. */
const NOTICE_MS = 6_000;

/** How often the latency and frame-rate readout is refreshed, in ms. */
const STATS_REFRESH_MS = 1_000;

/** What tests and benchmarks can read from the page (window.tessera). */
export interface ViewerProbe {
  readonly state: PageState;
  readonly mode: Mode | 'none';
  readonly paused: boolean;
  readonly frames: number;
  /** Lossy tiles decoded so far (createImageBitmap). */
  readonly lossyTiles: number;
  readonly width: number;
  readonly height: number;
  readonly message: string | undefined;
  /** How keys travel: as the characters they type (default) or as physical keys. */
  readonly typingMode: TypingMode;
  /**
   * The host's pointer as last received, and how the page shows it: 'css' (the local cursor takes its shape: under
   * control, 1:1, at most 32 pixels), 'overlay' (a canvas over the screen, scaled with it), or 'none' (hidden, no shape).
   */
  readonly cursor: { readonly x: number; readonly y: number; readonly visible: boolean; readonly shapeId: number; readonly drawn: 'css' | 'overlay' | 'none' } | undefined;
  /** Whether the page joins view-only (the connect form's choice; otherwise it asks for the invitation's mode). */
  readonly joinViewOnly: boolean;
  /** The latest round-trip time in ms (the page pings every 2 s), once measured. */
  readonly rttMs: number | undefined;
  /** Frames painted in the last second. */
  readonly fps: number;
  /** The notice over the screen (a change of control the host made), while shown. */
  readonly notice: { readonly kind: Notice['kind']; readonly text: string } | undefined;
  /** How the screen is shown: scaled to the window, or one host pixel per device pixel with scrolling. */
  readonly zoom: 'fit' | '1:1';
  /** Called after each painted update with its sequence number (a benchmark hook). */
  onPaint: ((seq: number) => void) | undefined;
  /** Files that ended either way, in order (spec/transfer.md); a received one has its blob: URL. */
  readonly transfers: readonly { readonly direction: 'in' | 'out'; readonly name: string; readonly ok: boolean; readonly code?: string; readonly url?: string }[];
}

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page lacks #${id}`);
  return el as T;
}

const ui = {
  hostName: $('host-name'),
  badge: $('mode-badge'),
  requestControl: $<HTMLButtonElement>('request-control'),
  chatToggle: $<HTMLButtonElement>('chat-toggle'),
  chatUnread: $('chat-unread'),
  disconnect: $<HTMLButtonElement>('disconnect'),
  connectPanel: $('connect-panel'),
  connectForm: $<HTMLFormElement>('connect-form'),
  invitationInput: $<HTMLTextAreaElement>('invitation-input'),
  connectError: $('connect-error'),
  passwordPanel: $('password-panel'),
  passwordForm: $<HTMLFormElement>('password-form'),
  passwordInput: $<HTMLInputElement>('password-input'),
  passwordError: $('password-error'),
  statusPanel: $('status-panel'),
  statusText: $('status-text'),
  cancel: $<HTMLButtonElement>('cancel'),
  messagePanel: $('message-panel'),
  messageTitle: $('message-title'),
  messageBody: $('message-body'),
  retry: $<HTMLButtonElement>('retry'),
  newInvitation: $<HTMLButtonElement>('new-invitation'),
  stage: $('stage'),
  canvas: $<HTMLCanvasElement>('screen'),
  cursorOverlay: $<HTMLCanvasElement>('cursor-overlay'),
  chat: $('chat'),
  chatLog: $('chat-log'),
  chatForm: $<HTMLFormElement>('chat-form'),
  chatInput: $<HTMLInputElement>('chat-input'),
  keySink: $<HTMLTextAreaElement>('key-sink'),
  fileList: $<HTMLOListElement>('file-list'),
  typingModeLabel: $('typing-mode-label'),
  stats: $('stats'),
  specialKeys: $<HTMLSelectElement>('special-keys'),
  zoom: $<HTMLButtonElement>('zoom'),
  fullscreen: $<HTMLButtonElement>('fullscreen'),
  viewOnly: $<HTMLInputElement>('view-only'),
  notice: $('notice'),
  typingMode: $<HTMLSelectElement>('typing-mode'),
};

const ctx = ui.canvas.getContext('2d', { alpha: false })!;

let pageState: PageState = 'start';
let invitation: Invitation | undefined;
let conn: ViewerConnection | undefined;
/** The password key derived for `invitation` (kept so "Connect again" does not ask again), or undefined. */
let passwordKey: Uint8Array | undefined;
/** Aborts the password key derivation in progress. */
let derivation: AbortController | undefined;
let mode: Mode | 'none' = 'none';
let paused = false;
let controlRequested = false;
let messageCode: string | undefined;
let unread = 0;
/** The framebuffer wrapped as ImageData (shares its memory), rebuilt when the decoder replaces the picture. */
let image: ImageData | undefined;
let imageSource: Uint8Array | undefined;
const pointer = new PointerTracker();
/** The host's pointer (spec/session.md §6.9), and how it is shown now. */
let hostCursor: CursorState | undefined;
let cursorDrawn: 'css' | 'overlay' | 'none' = 'none';
/** The shape drawn on the overlay canvas and the CSS cursor made of it. */
let overlayShape: CursorShape | undefined;
let cssCursor: { readonly shape: CursorShape; readonly value: string } | undefined;
const keys = new KeyTracker();
let typingMode: TypingMode = storedTypingMode();
/** Physical codes whose keydown went as text: their keyup is swallowed. */
const typedCodes = new Set<string>();
/** Physical code -> the code its keydown went by, when they differ (a shortcut by its letter, web/input.ts sentCode). */
const shortcutCodes = new Map<string, string>();
/** True between compositionstart and compositionend in the key sink. */
let composing = false;
let joinViewOnly = storedFlag(VIEW_ONLY_STORAGE);
const frameRate = new FrameRate();
let notice: Notice | undefined;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;
let zoom: 'fit' | '1:1' = 'fit';

const probe: ViewerProbe = {
  get state() { return pageState; },
  get mode() { return mode; },
  get paused() { return paused; },
  get frames() { return conn?.frames ?? 0; },
  get lossyTiles() { return conn?.lossyTiles ?? 0; },
  get width() { return ui.canvas.width; },
  get height() { return ui.canvas.height; },
  get message() { return messageCode; },
  get typingMode() { return typingMode; },
  get joinViewOnly() { return joinViewOnly; },
  get rttMs() { return conn?.rttMs; },
  get fps() { return frameRate.rate(performance.now()); },
  get notice() { return notice ? { kind: notice.kind, text: notice.text } : undefined; },
  get zoom() { return zoom; },
  get cursor() {
    return hostCursor ? { x: hostCursor.x, y: hostCursor.y, visible: hostCursor.visible, shapeId: hostCursor.shape?.id ?? 0, drawn: cursorDrawn } : undefined;
  },
  onPaint: undefined,
  transfers: [],
};
const transfers = probe.transfers as ViewerProbe['transfers'][number][];
(window as unknown as { tessera: ViewerProbe }).tessera = probe;

function show(state: PageState): void {
  pageState = state;
  document.body.dataset.state = state;
  ui.connectPanel.hidden = state !== 'start';
  ui.passwordPanel.hidden = state !== 'password';
  ui.statusPanel.hidden = state !== 'connecting' && state !== 'awaiting-consent' && state !== 'checking-password';
  ui.messagePanel.hidden = state !== 'message';
  ui.stage.hidden = state !== 'connected';
  ui.disconnect.hidden = state !== 'connected' && state !== 'connecting' && state !== 'awaiting-consent';
  ui.chatToggle.hidden = state !== 'connected';
  ui.typingModeLabel.hidden = state !== 'connected';
  ui.stats.hidden = state !== 'connected';
  ui.specialKeys.hidden = state !== 'connected';
  ui.zoom.hidden = state !== 'connected';
  ui.fullscreen.hidden = state !== 'connected' || !document.fullscreenEnabled;
  if (state !== 'connected') {
    ui.chat.hidden = true;
    showNotice(undefined);
  }
  refreshStats();
  updateModeUi();
  if (state === 'connected') fitCanvas();
}

function updateModeUi(): void {
  const connected = pageState === 'connected';
  const shown = !connected ? 'none' : paused ? 'paused' : mode;
  document.body.dataset.mode = connected ? mode : 'none';
  ui.badge.dataset.mode = shown;
  ui.badge.textContent = !connected ? 'Not connected' : paused ? 'Paused by the host' : mode === 'control' ? 'Controlling' : 'Viewing';
  ui.requestControl.hidden = !connected || mode === 'control' || invitation?.mode !== 'control';
  ui.requestControl.disabled = controlRequested;
  ui.requestControl.textContent = controlRequested ? 'Control asked…' : 'Ask for control';
  ui.specialKeys.disabled = !controlling();
  drawCursor();
}

function showMessage(m: ScreenMessage): void {
  messageCode = m.code;
  ui.messagePanel.dataset.code = m.code;
  ui.messagePanel.dataset.tone = m.tone;
  ui.messageTitle.textContent = m.title;
  ui.messageBody.textContent = m.body;
  ui.retry.hidden = !m.retry || invitation === undefined;
  show('message');
}

/** Reads an invitation from the paste box or the fragment; shows why when it cannot. */
function parseInvitation(text: string): Invitation | undefined {
  try {
    return readInvitation(text, { now: Date.now });
  } catch (err) {
    const e = err instanceof TesseraError ? err : undefined;
    showMessage(errorScreen(e?.code ?? 'error', e?.message ?? String(err)));
    return undefined;
  }
}

/** Makes `inv` the current invitation, forgetting the password key of the previous one. */
function useInvitation(inv: Invitation | undefined): void {
  derivation?.abort();
  derivation = undefined;
  passwordKey?.fill(0);
  passwordKey = undefined;
  invitation = inv;
}

function connect(): void {
  const inv = invitation;
  if (!inv) {
    show('start');
    return;
  }
  if (inv.expiresMs <= Date.now()) {
    showMessage(errorScreen('TESSERA_ERR_INVITATION_EXPIRED', 'expired'));
    return;
  }
  if (inv.passwordRequired && !passwordKey) {
    askPassword(inv);
    return;
  }
  openConnection(inv);
}

function askPassword(inv: Invitation): void {
  conn?.close();
  conn = undefined;
  messageCode = undefined;
  ui.hostName.textContent = inv.name;
  ui.passwordInput.value = '';
  ui.passwordError.hidden = true;
  show('password');
  ui.passwordInput.focus();
}

/**
 * Derives the password key in slices (scrypt N = 2^14, r = 8: 16 MiB and a moment of work in JS), showing
 * "Checking password…", then connects. Runs before the WebSocket opens so the handshake deadline is not spent on it.
 */
async function checkPassword(inv: Invitation, password: string): Promise<void> {
  derivation?.abort();
  const abort = new AbortController();
  derivation = abort;
  ui.statusText.textContent = 'Checking password…';
  show('checking-password');
  try {
    // Let the status paint before the first slice.
    await nextFrame();
    const key = await passwordKeyAsync(password, inv.passwordSalt!, { signal: abort.signal, sliceSteps: KDF_SLICE_STEPS, pause: nextTask });
    if (derivation !== abort || invitation !== inv) {
      key.fill(0);
      return;
    }
    derivation = undefined;
    passwordKey = key;
    openConnection(inv);
  } catch (err) {
    if (derivation !== abort) return;
    derivation = undefined;
    if (abort.signal.aborted) {
      askPassword(inv);
      return;
    }
    const e = err instanceof TesseraError ? err : undefined;
    showMessage(errorScreen(e?.code ?? 'error', e?.message ?? String(err)));
  }
}

/** Resolves after the next animation frame (or at once when the page is hidden and frames do not run). */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Yields to the event loop (input, Cancel, painting) between KDF slices. A MessageChannel task, not setTimeout(0),
 * which browsers clamp to 4 ms once nested: that would add about a quarter of a second over the 32 slices.
 */
const yieldChannel = new MessageChannel();
const yieldWaiters: Array<() => void> = [];
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.();
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    yieldWaiters.push(resolve);
    yieldChannel.port2.postMessage(null);
  });
}

/** True when this page came from the relay the invitation names (same host and port). */
function servedByRelay(relayUrl: string): boolean {
  try {
    const u = new URL(relayUrl);
    const port = u.port || (u.protocol === 'wss:' ? '443' : '80');
    const here = location.port || (location.protocol === 'https:' ? '443' : '80');
    return u.hostname.toLowerCase() === location.hostname.toLowerCase() && port === here;
  } catch {
    return false;
  }
}

function openConnection(inv: Invitation): void {
  conn?.close();
  mode = 'none';
  paused = false;
  controlRequested = false;
  messageCode = undefined;
  image = undefined;
  imageSource = undefined;
  hostCursor = undefined;
  frameRate.reset();
  ui.chatLog.replaceChildren();
  ui.fileList.replaceChildren();
  unread = 0;
  ui.hostName.textContent = inv.name;
  ui.statusText.textContent = `Connecting to ${inv.name}…`;
  show('connecting');
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const self: ViewerConnection = new ViewerConnection({
    invitation: inv,
    url: `${scheme}//${location.host}${WEBSOCKET_PATH}`,
    // A page served by the invitation's relay reaches the host through it (spec/relay.md); one served by the host, directly.
    relay: inv.relay && servedByRelay(inv.relay.url) ? inv.relay : undefined,
    // The helper's choice on the connect form: view-only, or the invitation's mode (the host grants at most that).
    requestMode: joinViewOnly ? 'view' : inv.mode,
    passwordKey,
    events: {
      onAwaitingConsent: () => {
        if (conn !== self) return;
        ui.statusText.textContent = `Waiting for ${inv.name} to accept…`;
        show('awaiting-consent');
      },
      onOpen: (info) => {
        if (conn !== self) return;
        mode = info.mode;
        resizeCanvas(info.width, info.height);
        show('connected');
        ui.keySink.focus();
      },
      onFrame: (fb, rects, keyFrame, seq) => {
        if (conn !== self) return;
        paint(fb, rects, keyFrame);
        frameRate.note(performance.now());
        probe.onPaint?.(seq);
      },
      onMode: (m, p) => {
        if (conn !== self) return;
        const lostControl = mode === 'control' && (m !== 'control' || p);
        const change = mode === 'none' ? undefined : controlNotice({ mode, paused }, { mode: m, paused: p }, inv.name, controlRequested);
        mode = m;
        paused = p;
        controlRequested = false;
        if (lostControl) releaseInput();
        updateModeUi();
        // A change the host made is said over the screen, not only in the badge; a pause stays said until it ends.
        if (change) showNotice(change);
        else if (!paused && notice?.sticky) showNotice(undefined);
      },
      onResize: (w, h) => {
        if (conn === self) resizeCanvas(w, h);
      },
      onChat: (text) => {
        if (conn === self) addChat(text, false);
      },
      onRtt: () => {
        if (conn === self) refreshStats();
      },
      onCursor: (state) => {
        if (conn !== self) return;
        hostCursor = state;
        drawCursor();
      },
      onFileOffer: (offer, signal) => (conn === self ? askFile(offer, signal) : false),
      onTransferProgress: (p) => {
        if (conn === self) fileProgress(p);
      },
      onTransferEnd: (r) => {
        if (conn === self) fileEnded(r);
      },
      onEnd: (reason) => {
        if (conn !== self) return;
        ended(reason);
      },
    },
  });
  conn = self;
}

function ended(reason: EndReason): void {
  mode = 'none';
  if (reason.kind === 'refused' && reason.authenticated && reason.refusal === 'BAD_PROOF' && invitation?.passwordRequired) {
    // Most likely a mistyped password: forget its key, so "Connect again" asks for the password again.
    passwordKey?.fill(0);
    passwordKey = undefined;
    showMessage(badPasswordScreen());
  } else if (reason.kind === 'refused' && reason.refusal === 'HOST_KEY_MISMATCH' && invitation && !invitationNamesHost(invitation, location.hostname)) {
    // The page reaches only the host that served it: an invitation that does not name this host is for another one.
    showMessage(anotherHostScreen(invitation.name, invitationPlace(invitation), location.host));
  } else if (reason.kind === 'refused') showMessage(refusalScreen(reason.refusal, reason.authenticated));
  else if (reason.kind === 'closed') showMessage(closeScreen(reason.reason, reason.message));
  else showMessage(errorScreen(reason.code, reason.message));
}

// --- Painting -------------------------------------------------------------------------------------

function resizeCanvas(width: number, height: number): void {
  if (ui.canvas.width !== width || ui.canvas.height !== height) {
    ui.canvas.width = width;
    ui.canvas.height = height;
    image = undefined;
    imageSource = undefined;
  }
  fitCanvas();
}

/** Puts the changed rectangles of the decoded picture on the canvas (the whole picture on a key frame). */
function paint(fb: Framebuffer, rects: readonly Rect[], keyFrame: boolean): void {
  if (ui.canvas.width !== fb.width || ui.canvas.height !== fb.height) resizeCanvas(fb.width, fb.height);
  if (!image || imageSource !== fb.data) {
    image = new ImageData(new Uint8ClampedArray(fb.data.buffer as ArrayBuffer, fb.data.byteOffset, fb.data.byteLength), fb.width, fb.height);
    imageSource = fb.data;
    keyFrame = true;
  }
  if (keyFrame) {
    ctx.putImageData(image, 0, 0);
    return;
  }
  for (const r of rects) ctx.putImageData(image, 0, 0, r.x, r.y, r.width, r.height);
}

/** Scales the canvas (CSS size only) to fit the stage, keeping the aspect ratio. */
function fitCanvas(): void {
  const w = ui.canvas.width;
  const h = ui.canvas.height;
  const box = ui.stage.getBoundingClientRect();
  if (w === 0 || h === 0 || box.width === 0 || box.height === 0) return;
  // 1:1 is one host pixel per device pixel (sharp on a HiDPI screen); the stage scrolls when the screen is larger.
  const scale = zoom === '1:1' ? 1 / (window.devicePixelRatio || 1) : Math.min(box.width / w, box.height / h);
  ui.canvas.style.width = `${Math.floor(w * scale)}px`;
  ui.canvas.style.height = `${Math.floor(h * scale)}px`;
  drawCursor();
}

// --- The host's pointer ------------------------------------------------------------------------------

/** Largest shape shown as a CSS cursor (browsers refuse or shrink larger ones). */
const CSS_CURSOR_MAX_PX = 32;

/**
 * Shows the host's pointer: as the local cursor's own shape when the helper is in control, the screen is shown 1:1 and
 * the shape is small enough for a CSS cursor; otherwise on an overlay canvas placed and scaled with the screen. In view
 * mode it is always the overlay, so the helper's own pointer never hides the host's.
 */
function drawCursor(): void {
  const c = hostCursor;
  const shape = c?.shape;
  const shown = c !== undefined && c.visible && shape !== undefined && pageState === 'connected' && ui.canvas.width > 0;
  if (!shown) {
    ui.cursorOverlay.hidden = true;
    ui.canvas.style.cursor = '';
    cursorDrawn = 'none';
    return;
  }
  const rect = ui.canvas.getBoundingClientRect();
  const stage = ui.stage.getBoundingClientRect();
  const scale = rect.width / ui.canvas.width;
  const oneToOne = Math.abs(scale - 1) < 0.01;
  // The overlay sits in the stage's content, which scrolls at 1:1.
  const scrollX = ui.stage.scrollLeft;
  const scrollY = ui.stage.scrollTop;
  if (mode === 'control' && !paused && oneToOne && shape.width <= CSS_CURSOR_MAX_PX && shape.height <= CSS_CURSOR_MAX_PX) {
    if (cssCursor?.shape !== shape) cssCursor = { shape, value: `url(${shapeDataUrl(shape)}) ${shape.hotX} ${shape.hotY}, auto` };
    ui.canvas.style.cursor = cssCursor.value;
    ui.cursorOverlay.hidden = true;
    cursorDrawn = 'css';
    return;
  }
  const overlay = ui.cursorOverlay;
  if (overlayShape !== shape) {
    overlay.width = shape.width;
    overlay.height = shape.height;
    overlay.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(shape.rgba), shape.width, shape.height), 0, 0);
    overlayShape = shape;
  }
  overlay.style.width = `${shape.width * scale}px`;
  overlay.style.height = `${shape.height * scale}px`;
  overlay.style.transform = `translate(${rect.left - stage.left + scrollX + (c.x - shape.hotX) * scale}px, ${rect.top - stage.top + scrollY + (c.y - shape.hotY) * scale}px)`;
  overlay.hidden = false;
  // Under control the helper's own pointer is the one that moves at once; the overlay follows the host's echo.
  ui.canvas.style.cursor = '';
  cursorDrawn = 'overlay';
}

/** A PNG data URL of a shape, for a CSS cursor. */
function shapeDataUrl(shape: CursorShape): string {
  const canvas = document.createElement('canvas');
  canvas.width = shape.width;
  canvas.height = shape.height;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(shape.rgba), shape.width, shape.height), 0, 0);
  return canvas.toDataURL('image/png');
}

new ResizeObserver(() => fitCanvas()).observe(ui.stage);
ui.stage.addEventListener('scroll', () => drawCursor(), { passive: true });

// --- Toolbar and status (#19 item 4) ----------------------------------------------------------------

/** Shows `n` over the screen (undefined hides it); a notice that is not sticky fades after NOTICE_MS. */
function showNotice(n: Notice | undefined): void {
  clearTimeout(noticeTimer);
  noticeTimer = undefined;
  notice = n;
  ui.notice.hidden = n === undefined;
  ui.notice.textContent = n?.text ?? '';
  ui.notice.dataset.tone = n?.tone ?? 'info';
  ui.notice.dataset.kind = n?.kind ?? '';
  if (n && !n.sticky) {
    noticeTimer = setTimeout(() => {
      if (notice === n) showNotice(undefined);
    }, NOTICE_MS);
  }
}

/** The latency and frame-rate readout. */
function refreshStats(): void {
  if (pageState !== 'connected') return;
  const text = statusLine(conn?.rttMs, frameRate.rate(performance.now()));
  if (ui.stats.textContent !== text) ui.stats.textContent = text;
}
setInterval(refreshStats, STATS_REFRESH_MS);

for (const [value, key] of Object.entries(SPECIAL_KEYS)) {
  const option = document.createElement('option');
  option.value = value;
  option.textContent = key.label;
  ui.specialKeys.append(option);
}
ui.specialKeys.addEventListener('change', () => {
  const key = ui.specialKeys.value as SpecialKey | '';
  ui.specialKeys.value = '';
  ui.keySink.focus();
  if (key === '' || !(key in SPECIAL_KEYS)) return;
  send(specialKeyEvents(key));
});

function setZoom(z: 'fit' | '1:1'): void {
  zoom = z;
  ui.stage.classList.toggle('one-to-one', z === '1:1');
  ui.zoom.textContent = z === '1:1' ? 'Fit' : '1:1';
  ui.zoom.setAttribute('aria-pressed', String(z === '1:1'));
  fitCanvas();
}
ui.zoom.addEventListener('click', () => setZoom(zoom === 'fit' ? '1:1' : 'fit'));
window.matchMedia?.('(resolution: 1dppx)').addEventListener?.('change', () => fitCanvas());

ui.fullscreen.addEventListener('click', () => {
  const done = document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen({ navigationUI: 'hide' });
  done.catch(() => {
    // Refused (no user gesture, or a browser policy): the button stays as it was.
  });
  ui.keySink.focus();
});
document.addEventListener('fullscreenchange', () => {
  const on = document.fullscreenElement !== null;
  ui.fullscreen.textContent = on ? 'Leave full screen' : 'Full screen';
  ui.fullscreen.setAttribute('aria-pressed', String(on));
});

ui.viewOnly.checked = joinViewOnly;
ui.viewOnly.addEventListener('change', () => {
  joinViewOnly = ui.viewOnly.checked;
  storeFlag(VIEW_ONLY_STORAGE, joinViewOnly);
});

// --- Input ----------------------------------------------------------------------------------------

function controlling(): boolean {
  return pageState === 'connected' && mode === 'control' && !paused && conn !== undefined;
}

function send(events: readonly InputEvent[]): void {
  if (events.length > 0 && controlling()) conn!.sendInput(events);
}

function releaseInput(): void {
  typedCodes.clear();
  shortcutCodes.clear();
  const events = [...keys.releaseAll(), ...pointer.releaseAll()];
  if (events.length > 0) conn?.sendInput(events);
}

/** Keys typed into the page's own fields (chat, paste box, the keyboard setting) stay there. */
function isOwnField(target: EventTarget | null): boolean {
  if (target === ui.keySink) return false;
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLButtonElement || target instanceof HTMLSelectElement;
}

/**
 * A keydown at the screen: a printable character goes as text (characters mode), anything else by its physical code;
 * while controlling, keys belong to the host's screen, not to the browser (Tab, Backspace, shortcuts). Dead keys and
 * input-method keys are left to the browser, which types into the key sink; the result arrives as compositionend.
 */
function onKeyDown(e: KeyboardEvent): void {
  if (!controlling() || isOwnField(e.target)) return;
  const route = routeKey(e, typingMode);
  if (route === 'compose') return;
  e.preventDefault();
  if (route === 'drop') return;
  if (route === 'text') {
    typedCodes.add(e.code);
    send(textEvents(e.key));
    return;
  }
  const code = sentCode(e, typingMode);
  if (code !== e.code) shortcutCodes.set(e.code, code);
  const ev = keyEvent(e, true, code);
  if (!ev) return;
  keys.note(ev);
  send([ev]);
}

/** A keyup goes only for a key whose keydown went as a physical code; one that typed text has nothing to release. */
function onKeyUp(e: KeyboardEvent): void {
  if (!controlling() || isOwnField(e.target)) return;
  const typed = typedCodes.delete(e.code);
  const code = shortcutCodes.get(e.code) ?? e.code;
  shortcutCodes.delete(e.code);
  if (typingMode === 'characters' && !keys.isDown(code)) {
    if (typed) e.preventDefault();
    return;
  }
  e.preventDefault();
  const ev = keyEvent(e, false, code);
  if (!ev) return;
  keys.note(ev);
  send([ev]);
}

document.addEventListener('keydown', onKeyDown);
document.addEventListener('keyup', onKeyUp);
window.addEventListener('blur', () => releaseInput());

// Text that comes without a key press the page could route: an on-screen keyboard, a password manager, an input
// method's commit, the character of a dead key in browsers that insert it rather than report it in `key`.
ui.keySink.addEventListener('beforeinput', (e) => {
  const ie = e as globalThis.InputEvent;
  if (ie.isComposing || ie.inputType === 'insertCompositionText') return;
  if (ie.inputType !== 'insertText' && ie.inputType !== 'insertReplacementText') return;
  e.preventDefault();
  if (controlling() && typingMode === 'characters' && ie.data) send(textEvents(ie.data));
});
ui.keySink.addEventListener('compositionstart', () => {
  composing = true;
});
ui.keySink.addEventListener('compositionend', (e) => {
  composing = false;
  if (controlling() && typingMode === 'characters' && e.data) send(textEvents(e.data));
  ui.keySink.value = '';
});
ui.keySink.addEventListener('input', () => {
  // Keep the sink empty: what it received has been sent (or was not for the host).
  if (!composing) ui.keySink.value = '';
});
// The canvas keeps its place in the tab order; keys go to the sink, which can receive compositions.
ui.canvas.addEventListener('focus', () => ui.keySink.focus());

function storedFlag(key: string): boolean {
  try {
    return localStorage.getItem(key) === '1';
  } catch {
    return false;
  }
}

function storeFlag(key: string, on: boolean): void {
  try {
    localStorage.setItem(key, on ? '1' : '0');
  } catch {
    // Storage refused (private mode): the choice lasts for this page.
  }
}

function storedTypingMode(): TypingMode {
  try {
    const v = localStorage.getItem(TYPING_MODE_STORAGE);
    return TYPING_MODES.find((m) => m === v) ?? 'characters';
  } catch {
    return 'characters';
  }
}

ui.typingMode.value = typingMode;
ui.typingMode.addEventListener('change', () => {
  const next = TYPING_MODES.find((m) => m === ui.typingMode.value) ?? 'characters';
  if (next === typingMode) return;
  // Keys held under the old mode are released, so none stays down on the host.
  releaseInput();
  typingMode = next;
  try {
    localStorage.setItem(TYPING_MODE_STORAGE, next);
  } catch {
    // Storage refused (private mode): the choice lasts for this page.
  }
  ui.keySink.focus();
});

function onPointer(e: PointerEvent): void {
  if (!controlling()) return;
  const p = screenPoint(ui.canvas, e.clientX, e.clientY);
  send(pointer.update(p.x, p.y, e.buttons));
}

ui.canvas.addEventListener('pointermove', onPointer);
ui.canvas.addEventListener('pointerdown', (e) => {
  ui.keySink.focus();
  if (!controlling()) return;
  e.preventDefault();
  ui.canvas.setPointerCapture(e.pointerId);
  onPointer(e);
});
ui.canvas.addEventListener('pointerup', (e) => {
  onPointer(e);
  if (ui.canvas.hasPointerCapture(e.pointerId)) ui.canvas.releasePointerCapture(e.pointerId);
});
ui.canvas.addEventListener('contextmenu', (e) => {
  if (controlling()) e.preventDefault();
});
ui.canvas.addEventListener(
  'wheel',
  (e) => {
    if (!controlling()) return;
    e.preventDefault();
    const p = screenPoint(ui.canvas, e.clientX, e.clientY);
    const ev = wheelEvent(e, ui.canvas.height);
    send([...pointer.update(p.x, p.y, pointer.buttons), ...(ev ? [ev] : [])]);
  },
  { passive: false },
);

// --- Files (spec/transfer.md) ----------------------------------------------------------------------

/** The line of each transfer: 'out:<id>' / 'in:<id>' once known; a dropped file waits under 'drop:<name>' until its first progress. */
const fileLines = new Map<string, HTMLLIElement>();

function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function fileLine(key: string): HTMLLIElement {
  let li = fileLines.get(key);
  if (!li) {
    li = document.createElement('li');
    fileLines.set(key, li);
    ui.fileList.append(li);
  }
  return li;
}

/** The host offers a file: a line with Save and Decline; the answer resolves the offer. */
function askFile(offer: { readonly id: number; readonly name: string; readonly size: number }, signal: AbortSignal): Promise<boolean> {
  const li = fileLine(`in:${offer.id}`);
  li.textContent = `${invitation?.name ?? 'The host'} sends ${offer.name} (${formatSize(offer.size)})`;
  const save = document.createElement('button');
  save.type = 'button';
  save.textContent = 'Save';
  save.className = 'file-save';
  const decline = document.createElement('button');
  decline.type = 'button';
  decline.textContent = 'Decline';
  li.append(save, decline);
  return new Promise((resolve) => {
    const answer = (yes: boolean): void => {
      save.remove();
      decline.remove();
      resolve(yes);
    };
    save.addEventListener('click', () => answer(true), { once: true });
    decline.addEventListener('click', () => answer(false), { once: true });
    signal.addEventListener('abort', () => answer(false), { once: true });
  });
}

function fileProgress(p: TransferProgress): void {
  let li = fileLines.get(`${p.direction}:${p.id}`);
  if (!li && p.direction === 'out') {
    li = fileLines.get(`drop:${p.name}`);
    if (li) {
      fileLines.delete(`drop:${p.name}`);
      fileLines.set(`out:${p.id}`, li);
    }
  }
  li ??= fileLine(`${p.direction}:${p.id}`);
  const pct = p.size === 0 ? 100 : Math.floor((p.bytes * 100) / p.size);
  li.textContent = `${p.direction === 'out' ? 'Sending' : 'Receiving'} ${p.name}: ${formatSize(p.bytes)} of ${formatSize(p.size)} (${pct}%), ${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

function fileEnded(r: TransferResult): void {
  const li = fileLines.get(`${r.direction}:${r.id}`) ?? fileLines.get(`drop:${r.name}`) ?? fileLine(`${r.direction}:${r.id}`);
  transfers.push({ direction: r.direction, name: r.name, ok: r.ok, ...(r.code ? { code: r.code } : {}), ...(r.path ? { url: r.path } : {}) });
  if (r.ok && r.direction === 'in' && r.path) {
    const a = document.createElement('a');
    a.href = r.path;
    a.download = r.name;
    a.textContent = `Download ${r.name}`;
    li.replaceChildren(a, document.createTextNode(` (${formatSize(r.size)}, checked)`));
  } else if (r.ok) li.textContent = `Sent ${r.name} (${formatSize(r.size)}): the host saved it`;
  else li.textContent = `${r.name}: ${r.direction === 'out' && !r.accepted ? 'the host refused it' : 'stopped'} (${r.code ?? 'cancelled'})`;
}

/** Drop files on the screen to send them to the host. */
function sendDropped(files: FileList): void {
  for (const file of Array.from(files)) {
    const li = fileLine(`drop:${file.name}`);
    li.textContent = `Offering ${file.name} (${formatSize(file.size)}) to the host…`;
    conn?.sendFile(file).catch((err: Error) => {
      li.textContent = `${file.name}: not sent (${err.message})`;
      transfers.push({ direction: 'out', name: file.name, ok: false, code: 'io' });
    });
  }
}

ui.stage.addEventListener('dragover', (e) => {
  if (!conn?.canTransfer || !e.dataTransfer?.types.includes('Files')) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = 'copy';
  ui.stage.classList.add('dropping');
});
ui.stage.addEventListener('dragleave', () => ui.stage.classList.remove('dropping'));
ui.stage.addEventListener('drop', (e) => {
  ui.stage.classList.remove('dropping');
  if (!e.dataTransfer || e.dataTransfer.files.length === 0) return;
  e.preventDefault();
  if (!conn?.canTransfer) return;
  sendDropped(e.dataTransfer.files);
});

// --- Chat -----------------------------------------------------------------------------------------

function addChat(text: string, mine: boolean): void {
  const li = document.createElement('li');
  if (mine) li.className = 'me';
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = mine ? 'You' : invitation?.name ?? 'Host';
  li.append(who, document.createTextNode(text));
  ui.chatLog.append(li);
  li.scrollIntoView({ block: 'end' });
  if (!mine && ui.chat.hidden) {
    unread++;
    ui.chatUnread.textContent = String(unread);
    ui.chatUnread.hidden = false;
  }
}

ui.chatToggle.addEventListener('click', () => {
  ui.chat.hidden = !ui.chat.hidden;
  ui.chatToggle.setAttribute('aria-pressed', String(!ui.chat.hidden));
  if (!ui.chat.hidden) {
    unread = 0;
    ui.chatUnread.hidden = true;
    ui.chatInput.focus();
  }
  fitCanvas();
});

ui.chatForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text || !conn) return;
  conn.chat(text);
  addChat(text, true);
  ui.chatInput.value = '';
});

// --- Buttons --------------------------------------------------------------------------------------

ui.requestControl.addEventListener('click', () => {
  if (!conn || controlRequested) return;
  controlRequested = true;
  conn.requestControl();
  updateModeUi();
});

ui.disconnect.addEventListener('click', () => conn?.close());
ui.cancel.addEventListener('click', () => {
  if (pageState === 'checking-password') derivation?.abort();
  else conn?.close();
});
ui.retry.addEventListener('click', () => connect());
ui.newInvitation.addEventListener('click', () => {
  conn?.close();
  conn = undefined;
  useInvitation(undefined);
  ui.invitationInput.value = '';
  ui.hostName.textContent = '';
  show('start');
  ui.invitationInput.focus();
});

ui.connectForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.invitationInput.value.trim();
  if (!text) return;
  const inv = parseInvitation(text);
  if (!inv) return;
  useInvitation(inv);
  connect();
});

ui.passwordForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const inv = invitation;
  const password = ui.passwordInput.value;
  ui.passwordInput.value = '';
  if (!inv || pageState !== 'password') return;
  if (password.length === 0) {
    ui.passwordError.textContent = 'Enter the password.';
    ui.passwordError.hidden = false;
    return;
  }
  void checkPassword(inv, password);
});

// --- Start ----------------------------------------------------------------------------------------

/** The invitation from the fragment, removed from the address bar and history once read. */
function invitationFromFragment(): string | undefined {
  const hash = location.hash.slice(1);
  if (!hash) return undefined;
  history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(hash);
  } catch {
    return hash;
  }
}

function start(): void {
  const text = invitationFromFragment();
  if (text === undefined) {
    show('start');
    return;
  }
  const inv = parseInvitation(text);
  if (!inv) return;
  useInvitation(inv);
  connect();
}

window.addEventListener('hashchange', () => {
  if (location.hash.length > 1) start();
});

start();
