/**
 * The one home of tessera's defaults: the port, every timeout and every connection-level cap.
 * Options that override them say so where they are declared; nothing else spells these numbers.
 * ARCHITECTURE.md (Invariants) explains why they live here.
 */

/** TCP port a host listens on and an invitation's address defaults to (that of Windows Remote Assistance). spec/handshake.md §2 */
export const DEFAULT_PORT = 3389;

/** From connecting until the peer is authenticated (ServerHello proved the host key; Auth verified). spec/handshake.md §8 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long the host user has to answer a consent question; no answer is a decline. spec/handshake.md §8 */
export const DEFAULT_CONSENT_TIMEOUT_MS = 60_000;
/** How long a helper waits for Welcome after Auth: it covers the host user's prompt. */
export const DEFAULT_HELPER_CONSENT_WAIT_MS = 90_000;
/** Deadline for opening a TCP or WebSocket connection. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * How long a recorded session holds its first display update for the helper's first message, so that a helper who
 * leaves at once on being told it is recorded is shown, and recorded, nothing. spec/recording.md §1 (REC-18)
 */
export const RECORDING_FIRST_UPDATE_GRACE_MS = 1_000;

/** How often a connection driver runs its session's timers (keepalive, idle timeout). */
export const DRIVER_TICK_MS = 1_000;
/** After a session ends, queued bytes (the close message) get this long to leave before the link is destroyed. */
export const CLOSE_GRACE_MS = 2_000;

/** Ping interval when a side has sent nothing else. spec/session.md §6.6 */
export const DEFAULT_KEEPALIVE_MS = 5_000;
/** A session that receives nothing for this long is closed with reason 'timeout'. spec/session.md §6.6 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** How often a helper pings to measure the round trip, whatever else it sends (spec/session.md §6.6 SES-17). */
export const DEFAULT_RTT_PROBE_MS = 2_000;
/** Updates a host sends before the helper acknowledges them as decoded. spec/session.md §6.3 */
export const DEFAULT_MAX_IN_FLIGHT = 2;
/** Most updates a helper holds received but not yet decoded; a host that sends more breaks the protocol. spec/session.md §6.3 */
export const MAX_UNDECODED_UPDATES = 16;

/** Most handshakes a host runs at once. spec/handshake.md §8 */
export const DEFAULT_MAX_HANDSHAKES = 64;
/** Most handshakes a host runs at once from one address. spec/handshake.md §8 */
export const DEFAULT_MAX_HANDSHAKES_PER_ADDRESS = 8;
/** Wrong proofs are counted over this sliding window (an invitation locked by them opens again as they leave it). spec/handshake.md §8 */
export const DEFAULT_THROTTLE_WINDOW_MS = 600_000;
/** Wrong proofs for one invitation within the window that lock it: further attempts are refused unchecked (THROTTLED). spec/handshake.md §8 */
export const DEFAULT_THROTTLE_MAX_PER_TICKET = 5;
/** Failed proofs from one address group (an IPv4 address, an IPv6 /64) within the window that lock it out. spec/handshake.md §8 */
export const DEFAULT_THROTTLE_MAX_PER_ADDRESS = 20;
/** Most invitations and most address groups the throttle tracks (each); the least recently failed is forgotten first. */
export const DEFAULT_THROTTLE_MAX_TRACKED = 10_000;
/** A connection that sends no byte for this long is dropped, long before the handshake deadline. spec/handshake.md §8 */
export const DEFAULT_FIRST_BYTE_TIMEOUT_MS = 2_000;
/** Flood-class audit lines (pre-authentication refusals, timeouts, errors) are counted per code over this interval. spec/handshake.md §9 */
export const AUDIT_FLOOD_INTERVAL_MS = 10_000;
/** Of those, this many per code and interval are written one by one; the rest become one line with a count. */
export const AUDIT_FLOOD_BURST = 20;
/** The audit log is rotated (audit.log -> audit.log.1 -> audit.log.2) before it grows past this size. */
export const AUDIT_LOG_MAX_BYTES = 8 * 1024 * 1024;
/** Rotated audit logs kept besides the current one. */
export const AUDIT_LOG_KEEP = 2;
/** Most helpers connected to one host at once. */
export const DEFAULT_MAX_HELPERS = 8;
/** Most screen captures per second when a host polls. */
export const DEFAULT_MAX_FPS = 30;
/** Least time between two sends of the pointer to the helpers (about 60 a second; the newest state wins). spec/session.md §6.9 */
export const CURSOR_MIN_INTERVAL_MS = 16;
/** How often a source that cannot be told of pointer moves (X11) polls the pointer's position while someone listens. */
export const CURSOR_POLL_MS = 33;
/** A source that reports damage is still captured this often, in case a report was missed. */
export const CAPTURE_REFRESH_MS = 1_000;

/** Bytes a host lets pile up for one helper before it drops that helper. */
export const DEFAULT_HOST_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Bytes a helper lets pile up for its host before it drops the connection. */
export const DEFAULT_HELPER_MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** Display updates wait while this much is queued for a helper, long before the cap above is reached. */
export const DISPLAY_LOW_WATER_BYTES = 512 * 1024;
/** A helper that has had no room for this long while the rest of its group was ready is split off. spec/session.md §6.4 */
export const DEFAULT_LAG_SPLIT_MS = 1_000;

/** Largest screen a helper accepts by default (a browser canvas's limit); bounds the decoder's memory. */
export const DEFAULT_MAX_SCREEN_PX = 8192;

/** Largest answer (status line and headers) an HTTP proxy may give to CONNECT before the tunnel opens. */
export const MAX_PROXY_RESPONSE_BYTES = 8 * 1024;

/** Bytes of file data a sender puts in one Transfer-channel chunk (spec/transfer.md §5). */
export const TRANSFER_CHUNK_BYTES = 64 * 1024;
/** A sender sends file chunks only while less than this is queued on the link, so display, input and control go first. */
export const TRANSFER_LOW_WATER_BYTES = 256 * 1024;
/** Largest file a host accepts or sends when its policy says nothing: 1 GiB. */
export const DEFAULT_TRANSFER_MAX_BYTES = 1024 * 1024 * 1024;
/** How long a file offer waits for the receiving user's answer before it is refused with `timeout`. */
export const DEFAULT_TRANSFER_ANSWER_MS = 120_000;
