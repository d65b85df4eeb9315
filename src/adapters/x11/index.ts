/**
 * The X11 adapter: share a real X display (X11Screen, a ScreenSource) and inject the helper's input into it
 * (X11Input, an InputSink), through the pure-JS `x11` package; tested on Xvfb.
 */
export { X11Screen, type X11ScreenOptions, type CursorState, type CursorImage, type X11CaptureMethod } from './x11-screen.js';
export { X11Input, type X11InputOptions, type X11InputStats } from './x11-input.js';
export { X11Border, type X11BorderOptions } from './x11-border.js';
export { X11Clipboard, type X11ClipboardOptions, type ClipboardListener } from './x11-clipboard.js';
export { KeyboardMap, keysymForChar, keysymsForCode, type KeyPosition } from './keymap.js';
export { PixelConverter, type PixelFormat } from './pixels.js';
