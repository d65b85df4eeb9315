export * from './errors.js';
export { ByteReader } from './byte-reader.js';
export { ByteWriter } from './byte-writer.js';
export * from './env.js';
export * from './defaults.js';
