/** The one connection driver: the Link interface transports implement, and the loops that run a handshake and a session over it. */
export * from './link.js';
export * from './handshake.js';
export * from './session.js';
export * from './helper.js';
