/** Connected in-memory duplex streams with real backpressure, for tests of any layer that drives a stream. */
export { createDuplexPair, type DuplexPairOptions } from '../../src/transport/memory-pair.js';
