/**
 * The handshake's symmetric state (spec/handshake.md §4): transcript hash `h` (SHA-512 chain over every
 * message) and chaining key `ck` (HKDF-SHA-512), Noise-style. Copy-on-write: callers work on a `fork()`
 * and `commit` it only after a whole message validated.
 */
import nacl from 'tweetnacl';
import { INSPECT } from '../core/index.js';
import { Label, PROTOCOL_NAME } from './constants.js';
import { hkdf, hmacSha512, sha512, utf8, concat } from './crypto.js';

const ZERO_NONCE = new Uint8Array(24);

/** Transcript hash, chaining key and current message key. */
export class SymmetricState {
  h: Uint8Array;
  ck: Uint8Array;
  k: Uint8Array | undefined;

  private constructor(h: Uint8Array, ck: Uint8Array, k: Uint8Array | undefined) {
    this.h = h;
    this.ck = ck;
    this.k = k;
  }

  /** h = ck = SHA-512(protocol name), then MixHash(host static public key) (the pre-message). */
  static initial(hostStaticPublic: Uint8Array): SymmetricState {
    const h = sha512(utf8(PROTOCOL_NAME));
    const s = new SymmetricState(h, h, undefined);
    s.mixHash(hostStaticPublic);
    return s;
  }

  fork(): SymmetricState {
    return new SymmetricState(this.h, this.ck, this.k);
  }

  /** h = SHA-512(h || data). */
  mixHash(data: Uint8Array): void {
    this.h = sha512(this.h, data);
  }

  /** (ck, k) = HKDF(salt = ck, ikm, info = "tessera/1 chain", 96 bytes) split 64 / 32. */
  mixKey(ikm: Uint8Array): void {
    const out = hkdf(this.ck, ikm, utf8(Label.chainKey), 96);
    this.ck = out.slice(0, 64);
    this.k = out.slice(64, 96);
  }

  /** The one-time message key: first 32 bytes of HMAC-SHA-512(k, "tessera/1 message" || h). */
  #messageKey(): Uint8Array {
    if (!this.k) throw new Error('no key mixed yet');
    return hmacSha512(this.k, utf8(Label.messageKey), this.h).slice(0, 32);
  }

  /** secretbox(plaintext, zero nonce, message key), then MixHash(ciphertext). */
  encrypt(plaintext: Uint8Array): Uint8Array {
    const ct = nacl.secretbox(plaintext, ZERO_NONCE, this.#messageKey());
    this.mixHash(ct);
    return ct;
  }

  /** Opens a ciphertext (MixHash on success only); undefined when authentication fails. */
  decrypt(ciphertext: Uint8Array): Uint8Array | undefined {
    const pt = nacl.secretbox.open(ciphertext, ZERO_NONCE, this.#messageKey());
    if (!pt) return undefined;
    this.mixHash(ciphertext);
    return pt;
  }

  /**
   * The key of a sealed refusal (spec/handshake.md §3.6): first 32 bytes of HMAC-SHA-512(k, "tessera/1 refusal" || h),
   * taken from the state right after ServerHello. Its own label keeps it apart from every message key.
   */
  refusalKey(): Uint8Array {
    if (!this.k) throw new Error('no key mixed yet');
    return hmacSha512(this.k, utf8(Label.refusalKey), this.h).slice(0, 32);
  }

  /** Seals a refusal's code plaintext under refusalKey() (zero nonce; one refusal per handshake). */
  sealRefusal(plaintext: Uint8Array): Uint8Array {
    return nacl.secretbox(plaintext, ZERO_NONCE, this.refusalKey());
  }

  /** Opens a sealed refusal; undefined when it does not authenticate. */
  openRefusal(ciphertext: Uint8Array): Uint8Array | undefined {
    return nacl.secretbox.open(ciphertext, ZERO_NONCE, this.refusalKey()) ?? undefined;
  }

  /** Transport keys: HKDF-Expand(HKDF-Extract(ck, empty), "tessera/1 transport" || h, 64) split helper->host / host->helper. */
  split(): { initiatorToResponder: Uint8Array; responderToInitiator: Uint8Array } {
    const okm = hkdf(this.ck, new Uint8Array(0), concat(utf8(Label.transport), this.h), 64);
    return { initiatorToResponder: okm.slice(0, 32), responderToInitiator: okm.slice(32, 64) };
  }

  [INSPECT](): string {
    return 'SymmetricState {}';
  }
}

