/**
 * tessera: an open remote-assistance protocol and toolkit.
 * The public API: Host and Helper for apps, the invitation and policy formats, the screen adapters,
 * the sans-IO sessions for custom transports and conformance suites, and the error classes with their codes.
 */
export { Host, HostInvitation, HostSessionHandle, createDisplayEncoder } from './node/host.js';
export type { HostOptions, ListenOptions, CreateInvitationOptions, ConsentReply, HostConsentRequest, SessionStats, SessionCloseInfo } from './node/host.js';
export { Helper } from './node/helper.js';
export type { HelperConnectOptions, HelperOfferOptions, FrameEvent } from './node/helper.js';
export { parseExpires } from './node/expires.js';
export {
  sendInvitation,
  mailtoUri,
  buildInvitationMessage,
  buildInvitationEml,
  readInvitationFromEml,
  loadInvitationAny,
  describeExpiry,
  EmailError,
  INVITATION_MIME_TYPE,
} from './node/email.js';
export type { SendInvitationOptions, SentInvitation, EmailMethod, InvitationMessage, InvitationMessageOptions } from './node/email.js';
export { readMsRcIncidentFile, decodeMsRcIncidentBytes } from './node/msrc-incident-file.js';
export { parseMsRcIncident, describeMsRcIncident, MsRcIncident } from './handshake/msrc-incident.js';
export { serveWeb, buildWebAssets, loadWebAssets } from './node/web-server.js';
export type { ServeWebOptions, WebServer } from './node/web-server.js';
export { WebSocketStream, connectWebSocket, WEBSOCKET_PATH } from './transport/websocket.js';
export { loadInvitation, readInvitationFile, issueInvitation, loadPolicy, loadHelpers, loadOrCreateHostKey, FileTicketStore, AuditLog, HostKey } from './node/index.js';
export { loadPng, encodePng } from './node/png.js';
export { SharpImageCodec } from './node/sharp-image-codec.js';
export { ZlibDeflateBackend, ZlibInflateBackend } from './node/zlib-backend.js';

export {
  Invitation,
  InvitationError,
  HandshakeError,
  Refusal,
  readInvitation,
  describeInvitation,
  parsePolicy,
  parseHelpers,
  DEFAULT_POLICY,
  MemoryTicketStore,
  DEFAULT_PORT,
} from './handshake/index.js';
export type { Policy, Helpers, Duration, Mode, AuditEvent, AuditDecision, TicketRecord, TicketStore, ConsentRequest } from './handshake/index.js';

export { VirtualScreen, ReplayScreen } from './adapters/index.js';
export { X11Screen, X11Input } from './adapters/x11/index.js';
export type { X11ScreenOptions, X11InputOptions } from './adapters/x11/index.js';
export type { ScreenSource, InputSink, Capture, VirtualScreenOptions, ReplayScreenOptions, ReplayPace } from './adapters/index.js';

export { HostSession } from './session/host-session.js';
export { HelperSession } from './session/helper-session.js';
export { DisplayGroups } from './session/display-groups.js';
export { CloseReason } from './session/constants.js';

export { TileEncoder, TileDecoder, createFramebuffer, cloneFramebuffer } from './codec/index.js';
export type { Framebuffer, Rect, QualityMode, TileEncoderOptions, TileDecoderOptions } from './codec/index.js';

export type { InputEvent, KeyCode } from './input/index.js';

export { createDuplexPair, listenTcp, connectTcp } from './transport/index.js';
export { acceptHandshake, connectHandshake } from './transport/handshake-io.js';

export { TesseraError, ProtocolError, StateError, ConfigError, AbortError, ErrorCode } from './core/index.js';
