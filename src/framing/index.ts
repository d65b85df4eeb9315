export * from './constants.js';
export * from './frame.js';
export * from './deframer.js';
export * from './protector.js';
