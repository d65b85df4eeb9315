/**
 * node:crypto back-ends (in transport so the handshake driver may use them; re-exported by src/node) for the pure handshake and framing layers: fast AEAD suites (ChaCha20-Poly1305 and
 * AES-256-GCM, negotiated in the handshake; spec/handshake.md §7) and the scrypt password KDF.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { CipherId, XSalsa20Poly1305, type AeadSuite } from '../framing/aead.js';
import type { PasswordKdf } from '../handshake/ticket.js';
import type { Random } from '../core/index.js';

const TAG = 16;

function ietfSuite(id: number, name: string, algorithm: 'chacha20-poly1305' | 'aes-256-gcm'): AeadSuite {
  return {
    id,
    name,
    nonceBytes: 12,
    tagBytes: TAG,
    seal(key, nonce, plaintext) {
      const c = createCipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG });
      const head = c.update(plaintext);
      const tail = c.final();
      const out = new Uint8Array(head.byteLength + tail.byteLength + TAG);
      out.set(head, 0);
      out.set(tail, head.byteLength);
      out.set(c.getAuthTag(), head.byteLength + tail.byteLength);
      return out;
    },
    open(key, nonce, sealed) {
      if (sealed.byteLength < TAG) return undefined;
      const n = sealed.byteLength - TAG;
      try {
        const d = createDecipheriv(algorithm as 'chacha20-poly1305', key, nonce, { authTagLength: TAG });
        d.setAuthTag(sealed.subarray(n));
        const head = d.update(sealed.subarray(0, n));
        const tail = d.final();
        if (tail.byteLength === 0) return new Uint8Array(head.buffer, head.byteOffset, head.byteLength);
        const out = new Uint8Array(n);
        out.set(head, 0);
        out.set(tail, head.byteLength);
        return out;
      } catch {
        return undefined;
      }
    },
  };
}

/** IETF ChaCha20-Poly1305 (RFC 8439) from node:crypto. */
export const NodeChaCha20Poly1305: AeadSuite = ietfSuite(CipherId.ChaCha20Poly1305, 'chacha20-poly1305', 'chacha20-poly1305');
/** AES-256-GCM from node:crypto. */
export const NodeAes256Gcm: AeadSuite = ietfSuite(CipherId.Aes256Gcm, 'aes-256-gcm', 'aes-256-gcm');

/**
 * Transport ciphers a Node peer offers or accepts, preferred first: AES-256-GCM (fastest here, see
 * spec/handshake.md §7.2), ChaCha20-Poly1305, then XSalsa20-Poly1305 so a browser viewer (which has only the
 * pure suite) can still connect.
 */
export const NODE_CIPHERS: readonly AeadSuite[] = Object.freeze([NodeAes256Gcm, NodeChaCha20Poly1305, XSalsa20Poly1305]);

/** scrypt parameters of password KDF 1: N = 2^14, r = 8, p = 1, 32-byte output (about 16 MiB, tens of ms). */
export const SCRYPT_PARAMS = Object.freeze({ N: 16384, r: 8, p: 1, keyBytes: 32 });

/** The password KDF both ends use: scrypt(NFC(password), salt). */
export const scryptKdf: PasswordKdf = (password, salt) =>
  new Uint8Array(scryptSync(password.normalize('NFC'), salt, SCRYPT_PARAMS.keyBytes, { N: SCRYPT_PARAMS.N, r: SCRYPT_PARAMS.r, p: SCRYPT_PARAMS.p, maxmem: 64 * 1024 * 1024 }));

/** Random bytes from node:crypto. */
export const nodeRandom: Random = (n) => new Uint8Array(randomBytes(n));
