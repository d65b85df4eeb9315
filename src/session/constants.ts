/** Session-layer constants; spec/session.md. */

/** Bytes before the codec update in a Display-channel payload: 4 (update sequence number). spec/session.md §2 */
export const DISPLAY_HEADER_BYTES = 4;
/** Default cap on updates sent but not yet acknowledged as decoded. spec/session.md §3 */
export const DEFAULT_MAX_IN_FLIGHT = 2;
/** How often each side pings when it has sent nothing else. */
export const DEFAULT_KEEPALIVE_MS = 5_000;
/** A session that receives nothing for this long is closed with reason 'timeout'. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Why a session ended; carried by the close message. spec/session.md §6 */
export const CloseReason = {
  /** One side ended the session on purpose. */
  Normal: 'normal',
  /** The host user ended the session or the host is shutting down. */
  HostEnded: 'host-ended',
  /** The helper left. */
  HelperLeft: 'helper-left',
  /** The peer sent bytes that break the protocol. */
  ProtocolError: 'protocol-error',
  /** Nothing was received within the idle timeout. */
  Timeout: 'timeout',
  /** The screen source failed. */
  SourceError: 'source-error',
  /** The connection dropped without a close message. */
  ConnectionLost: 'connection-lost',
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

/** Session modes: what the helper may do. */
export type Mode = 'view' | 'control';
