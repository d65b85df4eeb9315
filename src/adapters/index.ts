/** Screen adapters: the ScreenSource / InputSink contract and the built-in virtual and replay screens. */
export type { Capture, CursorListener, DamageListener, InputSink, PresenceIndicator, PresenceState, ResizeListener, ScreenSource, Unsubscribe } from './types.js';
export { presenceLabel } from './types.js';
export { VirtualScreen, MIN_VIRTUAL_HEIGHT, MIN_VIRTUAL_WIDTH, type VirtualScreenOptions } from './virtual/index.js';
export { ReplayScreen, type ReplayPace, type ReplayScreenOptions } from './replay/index.js';
export { X11Screen, X11Input, type X11ScreenOptions, type X11InputOptions, type CursorState, type CursorImage } from './x11/index.js';
