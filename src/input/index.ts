/** The input layer: events, their batch encoding, the text channels and the host's gate (pure, browser-safe); spec/input.md. */
export * from './constants.js';
export type { ButtonInput, InputEvent, InputEventType, KeyInput, PointerMoveInput, TextInput, WheelInput } from './events.js';
export { KEY_CODES, MAX_KEY_ID, isKeyCode, keyCodeOf, keyIdOf, type KeyCode } from './key-codes.js';
export { decodeInputBatch, encodeInputBatch, validateInputEvent, type InputLimits } from './input-batch.js';
export { decodeText, encodeText, truncateText } from './text-channel.js';
export { isWellFormedText } from './utf8.js';
export { InputGate, type DropReason, type InputGateOptions, type InputGateStats, type InputMode } from './input-gate.js';
