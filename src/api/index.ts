/** The API an app embeds: Host (share a screen) and Helper (view or control one). */
export { Host } from './host/host.js';
export type { HostOptions, HostRecordingOptions, ListenOptions, ConsentReply, HostConsentRequest, UseRelayOptions, WrongProof, LockOut, HostTransferOptions, FileRequest } from './host/host.js';
export { HostInvitation } from './host/invitations.js';
export { reachableAddresses, isLoopbackOnly, isLoopback } from './host/addresses.js';
export type { InterfaceAddress, InterfaceTable, ReachableAddressOptions } from './host/addresses.js';
export type { CreateInvitationOptions } from './host/invitations.js';
export { HostSessionHandle } from './host/session-handle.js';
export type { SessionStats, SessionCloseInfo } from './host/session-handle.js';
export { createDisplayEncoder } from './host/capture-loop.js';
export { Helper, DEFAULT_RELAY_DELAY_MS } from './helper.js';
export type { HelperConnectOptions, HelperOfferOptions, FrameEvent, ConnectionPath, HelperFileRequest } from './helper.js';
