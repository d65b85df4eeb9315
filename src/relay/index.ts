/** The relay (spec/relay.md): the server, a host's registration and a helper's dial. */
export * from './server.js';
export * from './client.js';
