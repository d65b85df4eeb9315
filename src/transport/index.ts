export * from './tcp.js';
export * from './send-queue.js';
export * from './memory-pair.js';
