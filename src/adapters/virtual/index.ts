/** The virtual desktop adapter. */
export { VirtualScreen, MIN_VIRTUAL_HEIGHT, MIN_VIRTUAL_WIDTH, type VirtualScreenOptions } from './virtual-screen.js';
