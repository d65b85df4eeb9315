/**
 * AEAD frame protection after the handshake (spec/handshake.md §7).
 * Each direction has its own 32-byte key and a 64-bit frame counter used as an implicit nonce (never sent):
 * a replayed, reordered, dropped or altered frame fails to open.
 * The cipher is an injectable `AeadSuite`; the pure default is tweetnacl's XSalsa20-Poly1305 (secretbox),
 * which a browser runs too. Faster node:crypto suites live in src/node and are negotiated in the handshake.
 */
import nacl from 'tweetnacl';
import { ErrorCode, INSPECT, ProtocolError, StateError } from '../core/index.js';
import type { FrameProtector } from './protector.js';
import { AEAD_TAG_BYTES } from './constants.js';

/** Wire ids of transport ciphers (spec/handshake.md §7.1). */
export const CipherId = {
  XSalsa20Poly1305: 1,
  ChaCha20Poly1305: 2,
  Aes256Gcm: 3,
} as const;
export type CipherId = (typeof CipherId)[keyof typeof CipherId];

/** A synchronous AEAD primitive with 32-byte keys and a 16-byte tag. */
export interface AeadSuite {
  /** Wire id (CipherId). */
  readonly id: number;
  /** Human name, e.g. 'xsalsa20-poly1305'. */
  readonly name: string;
  /** Nonce bytes the primitive takes (24 for XSalsa20, 12 for the IETF ciphers). */
  readonly nonceBytes: number;
  /** Tag bytes added by seal. */
  readonly tagBytes: number;
  /** Seals `plaintext`; returns ciphertext || tag (layout is the primitive's own). */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Opens a sealed body, or returns undefined when authentication fails. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

/** tweetnacl secretbox (XSalsa20-Poly1305); pure JS, runs everywhere. */
export const XSalsa20Poly1305: AeadSuite = {
  id: CipherId.XSalsa20Poly1305,
  name: 'xsalsa20-poly1305',
  nonceBytes: 24,
  tagBytes: AEAD_TAG_BYTES,
  seal: (key, nonce, plaintext) => nacl.secretbox(plaintext, nonce, key),
  open: (key, nonce, sealed) => nacl.secretbox.open(sealed, nonce, key) ?? undefined,
};

/** Largest counter value; the 2^64-1st frame is refused rather than reusing a nonce. */
const COUNTER_HI_MAX = 0xffffffff;

/** A 64-bit counter as its high and low 32-bit halves. */
function splitCounter(c: bigint): [number, number] {
  return [Number(c >> 32n), Number(c & 0xffffffffn)];
}

/**
 * A FrameProtector sealing outgoing bodies under `sendKey` and opening incoming ones under `receiveKey`,
 * each with its own 64-bit counter starting at 0. The nonce is the counter, big-endian, in the last 8 bytes
 * of an otherwise zero nonce.
 */
export class AeadFrameProtector implements FrameProtector {
  readonly overhead: number;
  readonly suite: AeadSuite;
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  readonly #sendNonce: Uint8Array;
  readonly #receiveNonce: Uint8Array;
  #sendHi = 0;
  #sendLo = 0;
  #receiveHi = 0;
  #receiveLo = 0;
  #failed = false;

  /**
   * @param start the counters to start from instead of 0, for tests and conformance suites that check the
   *   2^64 − 1 frame limit (spec/handshake.md §7, HS-62) without sealing 2^64 frames; a session never sets it
   */
  constructor(suite: AeadSuite, sendKey: Uint8Array, receiveKey: Uint8Array, start: { readonly send?: bigint; readonly receive?: bigint } = {}) {
    if (sendKey.byteLength !== 32 || receiveKey.byteLength !== 32) throw new StateError('aead keys must be 32 bytes');
    for (const c of [start.send ?? 0n, start.receive ?? 0n]) {
      if (!(c >= 0n && c < 1n << 64n)) throw new StateError(`aead start counter ${c} is not a 64-bit counter`);
    }
    [this.#sendHi, this.#sendLo] = splitCounter(start.send ?? 0n);
    [this.#receiveHi, this.#receiveLo] = splitCounter(start.receive ?? 0n);
    this.suite = suite;
    this.overhead = suite.tagBytes;
    this.#sendKey = sendKey.slice();
    this.#receiveKey = receiveKey.slice();
    this.#sendNonce = new Uint8Array(suite.nonceBytes);
    this.#receiveNonce = new Uint8Array(suite.nonceBytes);
  }

  /** Frames sealed so far (for tests and stats). */
  get sent(): number {
    return this.#sendHi * 2 ** 32 + this.#sendLo;
  }

  /** Frames opened so far. */
  get received(): number {
    return this.#receiveHi * 2 ** 32 + this.#receiveLo;
  }

  seal(body: Uint8Array): Uint8Array {
    if (this.#sendHi === COUNTER_HI_MAX && this.#sendLo === 0xffffffff) throw new StateError('aead send counter exhausted');
    writeCounter(this.#sendNonce, this.#sendHi, this.#sendLo);
    const out = this.suite.seal(this.#sendKey, this.#sendNonce, body);
    if (++this.#sendLo > 0xffffffff) {
      this.#sendLo = 0;
      this.#sendHi++;
    }
    return out;
  }

  /**
   * Opens the next incoming body.
   * @throws {ProtocolError} TESSERA_ERR_DECRYPT_FAILED when the body is not the next one sealed by the peer
   */
  open(body: Uint8Array): Uint8Array {
    if (this.#failed) throw decryptFailed(this.received);
    if (this.#receiveHi === COUNTER_HI_MAX && this.#receiveLo === 0xffffffff) throw new StateError('aead receive counter exhausted');
    writeCounter(this.#receiveNonce, this.#receiveHi, this.#receiveLo);
    const plain = body.byteLength >= this.overhead ? this.suite.open(this.#receiveKey, this.#receiveNonce, body) : undefined;
    if (plain === undefined) {
      this.#failed = true;
      throw decryptFailed(this.received);
    }
    if (++this.#receiveLo > 0xffffffff) {
      this.#receiveLo = 0;
      this.#receiveHi++;
    }
    return plain;
  }

  [INSPECT](): string {
    return `AeadFrameProtector { suite: '${this.suite.name}' }`;
  }

  toJSON(): object {
    return { suite: this.suite.name };
  }
}

function writeCounter(nonce: Uint8Array, hi: number, lo: number): void {
  const n = nonce.byteLength;
  nonce[n - 8] = hi >>> 24;
  nonce[n - 7] = (hi >>> 16) & 0xff;
  nonce[n - 6] = (hi >>> 8) & 0xff;
  nonce[n - 5] = hi & 0xff;
  nonce[n - 4] = lo >>> 24;
  nonce[n - 3] = (lo >>> 16) & 0xff;
  nonce[n - 2] = (lo >>> 8) & 0xff;
  nonce[n - 1] = lo & 0xff;
}

function decryptFailed(index: number): ProtocolError {
  return new ProtocolError(ErrorCode.DecryptFailed, `frame ${index} failed to open: altered, replayed, reordered or dropped`, {
    context: 'aead',
    offset: index,
  });
}
