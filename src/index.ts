/**
 * tessera: an open remote-assistance protocol and toolkit.
 * The public API: Host and Helper for apps, the invitation and policy formats, the screen adapters,
 * the sans-IO sessions and the connection driver for custom transports and conformance suites, and the error
 * classes with their codes. ARCHITECTURE.md maps where each lives; every symbol is documented where it is declared.
 */
// The API an app embeds (src/api): a Host shares a screen, a Helper views or controls one.
export { Host, HostInvitation, HostSessionHandle, createDisplayEncoder, Helper, reachableAddresses, isLoopbackOnly, isLoopback } from './api/index.js';
export type { HostTransferOptions, FileRequest, HelperFileRequest } from './api/index.js';
export type { HostOptions, HostRecordingOptions, ListenOptions, CreateInvitationOptions, InterfaceAddress, InterfaceTable, ReachableAddressOptions, ConsentReply, HostConsentRequest, SessionStats, SessionCloseInfo, UseRelayOptions, WrongProof, LockOut } from './api/index.js';
export type { HelperConnectOptions, HelperOfferOptions, FrameEvent, ConnectionPath } from './api/index.js';
// The relay (spec/relay.md): a host behind NAT registers, a helper arrives with the invitation's rendezvous id.
export { startRelay, RelayServer, RELAY_DEFAULTS, RelayRegistration, dialRelay, relayEndpoint, resolveProxy, bypassesProxy } from './relay/index.js';
export type { RelayOptions, RelayAuditEvent, RelayRegistrationOptions, DialRelayOptions } from './relay/index.js';
// Node platform glue an app may want: expiry strings, email, .MsRcIncident files, the web viewer's server, files.
export { parseExpires } from './node/expires.js';
export { relayViewerUrl } from './handshake/relay.js';
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

// Session recordings for audit (spec/recording.md).
export { RecordingWriter, readRecording, parseRecording, decryptRecording, isEncryptedRecording, recordingSigningKey, RecordType } from './recording/format.js';
export type { RecordingHeader, RecordingEvent, RecordingReport, ReadRecordingOptions, RecordingWriterOptions, ChainHash, RecordedFile, FileEventKind } from './recording/format.js';
export { RecordingPlayer } from './recording/player.js';
export type { PlaybackFrame } from './recording/player.js';
export { readRecordingFile, RecordingFile, ensureRecordingDir, pruneRecordings, writeAuditorKeyFile, loadAuditorKey, nodeChainHash } from './node/recording-file.js';
export { SharpImageCodec } from './node/sharp-image-codec.js';
export { DownloadFolder, openOutgoingFile, sanitizeFileName, defaultDownloadsDir } from './node/transfer-files.js';
export { TransferDriver } from './driver/transfer.js';
export type { OutgoingFile, IncomingSink, TransferProgress, TransferResult, TransferDriverOptions } from './driver/transfer.js';
export { Transfers, encodeChunk, decodeChunk, MAX_CHUNK_DATA_BYTES, TRANSFER_WINDOW_BYTES, TRANSFER_ACK_STEP_BYTES, MAX_OPEN_TRANSFERS } from './session/transfer.js';
export type { FileOffer, FileChunk, TransferEvent } from './session/transfer.js';
export { ZlibDeflateBackend, ZlibInflateBackend } from './node/zlib-backend.js';

// Invitations, policy, tickets and refusals (spec/handshake.md).
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
  RelayError,
  RelayRefusal,
  rendezvousId,
  offerRendezvousId,
  encodeRelayMessage,
  decodeRelayMessage,
} from './handshake/index.js';
export type { Policy, Helpers, Duration, Mode, AuditEvent, AuditDecision, TicketRecord, TicketStore, ConsentRequest } from './handshake/index.js';

// Screen sources and input sinks (README: writing an adapter).
export { VirtualScreen, ReplayScreen } from './adapters/index.js';
export { X11Screen, X11Input, X11Border, X11Clipboard } from './adapters/x11/index.js';
export type { X11ScreenOptions, X11InputOptions, X11BorderOptions, X11ClipboardOptions } from './adapters/x11/index.js';
export type { ScreenSource, InputSink, Capture, VirtualScreenOptions, ReplayScreenOptions, ReplayPace, PresenceIndicator, PresenceState } from './adapters/index.js';
export { presenceLabel } from './adapters/index.js';

// The sans-IO layers, for custom loops and conformance suites (spec/session.md, spec/codec.md, spec/input.md).
export { HostSession } from './session/host-session.js';
export { HelperSession } from './session/helper-session.js';
export { DisplayGroups } from './session/display-groups.js';
export { FittingEncoder } from './session/fitting-encoder.js';
export type { SingleUpdateEncoder, FittingEncoderOptions } from './session/fitting-encoder.js';
export { CloseReason, MAX_DISPLAY_UPDATE_BYTES } from './session/constants.js';
export { FEATURES, offeredFeatures, featureCaps } from './session/features.js';
export type { Feature } from './session/features.js';
export {
  CursorCache,
  CursorSender,
  CursorReceiver,
  CursorMessageType,
  encodeCursorPosition,
  encodeCursorShape,
  decodeCursorMessage,
  compositeCursor,
  MAX_CURSOR_SIZE_PX,
  CURSOR_CACHE_MAX_SHAPES,
  CURSOR_CACHE_MAX_BYTES,
} from './session/cursor.js';
export type { CursorShape, CursorState, CursorMessage, RgbaPicture } from './session/cursor.js';

export { TileEncoder, TileDecoder, createFramebuffer, cloneFramebuffer } from './codec/index.js';
export type { Framebuffer, Rect, QualityMode, TileEncoderOptions, TileDecoderOptions } from './codec/index.js';

export type { InputEvent, KeyCode } from './input/index.js';

// The one connection driver, for custom transports: implement a Link, then run the handshake and the session on it.
export { driveInitiator, driveResponder, SessionDriver, HelperConnection } from './driver/index.js';
export type { Link, LinkHandler, Established, ConsentDecision, ResponderDriveOptions, InitiatorDriveOptions, SessionDriverOptions, HelperConnectionEvents, CloseInfo } from './driver/index.js';
// Node transports: any stream.Duplex as a Link, TCP, the in-memory pair, and the handshake over a Duplex.
export { duplexLink } from './transport/duplex-link.js';
export { createDuplexPair, listenTcp, connectTcp } from './transport/index.js';
export { acceptHandshake, connectHandshake } from './transport/handshake-io.js';

// Errors: every error tessera throws on purpose is a TesseraError with a stable code (spec/errors.md).
export { TesseraError, ProtocolError, StateError, ConfigError, AbortError, ErrorCode, toTesseraError } from './core/index.js';
// Defaults: the port, every timeout and cap (src/core/defaults.ts).
export * as defaults from './core/defaults.js';
