export * from './constants.js';
export * from './frame.js';
export * from './deframer.js';
export * from './protector.js';
export * from './control.js';
export * from './frame-io.js';
