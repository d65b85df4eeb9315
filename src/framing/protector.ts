/**
 * The per-frame seal/open stage (spec/framing.md §2.4; the AEAD itself is in spec/handshake.md).
 * Before the handshake completes frames travel in the clear (NullProtector); afterwards the handshake
 * installs an AEAD protector with per-direction keys and counter nonces. The protector sees the whole
 * frame body (channel byte + payload) and returns the bytes to carry, so the channel is hidden too.
 */
export interface FrameProtector {
  /** Bytes added to each body by seal (0 for the null protector, the AEAD tag size otherwise). */
  readonly overhead: number;
  /** Protects one outgoing body. Called in send order; the protector keeps its own counter. */
  seal(body: Uint8Array): Uint8Array;
  /**
   * Opens one incoming body. Called in receive order.
   * @throws {ProtocolError} TESSERA_ERR_DECRYPT_FAILED when the body was altered, replayed or reordered
   */
  open(body: Uint8Array): Uint8Array;
}

/** Passes bodies through unchanged; used only before keys exist. */
export const NullProtector: FrameProtector = {
  overhead: 0,
  seal: (body) => body,
  open: (body) => body,
};
