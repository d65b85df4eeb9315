/** The relay (spec/relay.md): the server, a host's registration and a helper's dial. */
export * from './server.js';
export * from './client.js';
export { ProxyServer, parseProxyUrl, resolveProxy, bypassesProxy, parseConnectResponse, openTunnel, connectThroughProxy, type ConnectResponse, type TunnelOptions } from './proxy.js';
export { RelayPresence, decodePresence, PRESENCE_SUBJECT, SYNC_SUBJECT, type RelayPresenceOptions, type PresenceMessage } from './presence.js';
export { NatsClient, NatsParser, parseNatsUrl, type NatsEvent } from './nats.js';
