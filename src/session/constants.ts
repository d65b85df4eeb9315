/** Session-layer constants; spec/session.md. */
import { AEAD_TAG_BYTES, DEFAULT_MAX_BODY_BYTES } from '../framing/constants.js';

/** Bytes before the codec update in a Display-channel payload: 4 (update sequence number). spec/session.md §2 */
export const DISPLAY_HEADER_BYTES = 4;
/**
 * Largest codec update that fits one Display frame within the 16 MiB every receiver accepts (spec/framing.md §2.3, FR-10):
 * the sealed body is 1 (channel) + 4 (display seq) + the update + 16 (AEAD tag), so 16 MiB − 21 bytes.
 * A larger update is sent as several (src/session/fitting-encoder.ts).
 */
export const MAX_DISPLAY_UPDATE_BYTES = DEFAULT_MAX_BODY_BYTES - 1 /* channel */ - DISPLAY_HEADER_BYTES - AEAD_TAG_BYTES;
// The defaults live in src/core/defaults.ts, the one home of every default; re-exported here for the session layer.
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_KEEPALIVE_MS, DEFAULT_IDLE_TIMEOUT_MS, MAX_UNDECODED_UPDATES } from '../core/defaults.js';

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
