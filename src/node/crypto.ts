/** node:crypto AEAD suites, scrypt KDF and random bytes (implemented in src/transport/handshake-crypto.ts, below node in the layer order). */
export { NodeChaCha20Poly1305, NodeAes256Gcm, NODE_CIPHERS, SCRYPT_PARAMS, scryptKdf, nodeRandom } from '../transport/handshake-crypto.js';
