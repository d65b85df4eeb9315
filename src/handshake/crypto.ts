/**
 * Small crypto helpers over tweetnacl: SHA-512, HMAC-SHA-512 (RFC 2104 / RFC 4231), HKDF-SHA-512 (RFC 5869),
 * X25519 with a low-order check, Ed25519 keys derived from secrets, and base64/base64url codecs.
 * Pure: no node: imports.
 */
import nacl from 'tweetnacl';
import { ErrorCode, ProtocolError } from '../core/index.js';

const BLOCK = 128;
const HASH_BYTES = 64;
const UTF8 = new TextEncoder();

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  return nacl.hash(concat(...parts));
}

/** Concatenates byte arrays into a new one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return UTF8.encode(s);
}

/** HMAC-SHA-512 (RFC 2104) of the concatenation of `data` under `key`. */
export function hmacSha512(key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const k = key.byteLength > BLOCK ? nacl.hash(key) : key;
  const ipad = new Uint8Array(BLOCK).fill(0x36);
  const opad = new Uint8Array(BLOCK).fill(0x5c);
  for (let i = 0; i < k.byteLength; i++) {
    ipad[i] = ipad[i]! ^ k[i]!;
    opad[i] = opad[i]! ^ k[i]!;
  }
  const inner = nacl.hash(concat(ipad, ...data));
  return nacl.hash(concat(opad, inner));
}

/** HKDF-Extract with HMAC-SHA-512 (RFC 5869 §2.2); an empty salt means 64 zero bytes. */
export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha512(salt.byteLength === 0 ? new Uint8Array(HASH_BYTES) : salt, ikm);
}

/** HKDF-Expand with HMAC-SHA-512 (RFC 5869 §2.3); `length` at most 255 * 64. */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!(Number.isInteger(length) && length >= 0 && length <= 255 * HASH_BYTES)) {
    throw new RangeError(`hkdf length must be 0..${255 * HASH_BYTES}`);
  }
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, at = 0; at < length; i++) {
    t = hmacSha512(prk, t, info, Uint8Array.of(i));
    out.set(t.subarray(0, Math.min(HASH_BYTES, length - at)), at);
    at += HASH_BYTES;
  }
  return out;
}

/** HKDF-SHA-512: extract then expand. */
export function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}

/** X25519 key pair from 32 random bytes (the injected Random supplies them). */
export function dhKeyPair(secret32: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const kp = nacl.box.keyPair.fromSecretKey(secret32.slice(0, 32));
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}

/**
 * X25519 shared secret.
 * @throws {ProtocolError} TESSERA_ERR_INVALID_FIELD when the peer key is of low order (all-zero result)
 */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array, context: string): Uint8Array {
  const shared = nacl.scalarMult(secretKey, publicKey);
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  if (acc === 0) {
    throw new ProtocolError(ErrorCode.InvalidField, `invalid ${context}: ephemeral key is of low order`, { context, field: 'ephemeral' });
  }
  return shared;
}

/** An Ed25519 key pair derived from a secret with HKDF (salt, label); used for ticket and password verifiers. */
export function derivedSigningKey(secret: Uint8Array, salt: Uint8Array, label: string): nacl.SignKeyPair {
  return nacl.sign.keyPair.fromSeed(hkdf(salt, secret, utf8(label), 32));
}

/** Signs `label || message` with Ed25519 (detached). */
export function signLabelled(secretKey: Uint8Array, label: string, message: Uint8Array): Uint8Array {
  return nacl.sign.detached(concat(utf8(label), message), secretKey);
}

/** Verifies a detached Ed25519 signature over `label || message`. */
export function verifyLabelled(publicKey: Uint8Array, label: string, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.byteLength !== 32 || signature.byteLength !== 64) return false;
  return nacl.sign.detached.verify(concat(utf8(label), message), signature, publicKey);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Base64 (RFC 4648 §4, padded) or base64url (§5, unpadded). */
export function toBase64(bytes: Uint8Array, url = false): string {
  const abc = url ? B64URL : B64;
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += abc[n >> 18]! + abc[(n >> 12) & 63]! + abc[(n >> 6) & 63]! + abc[n & 63]!;
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i]! << 16;
    s += abc[n >> 18]! + abc[(n >> 12) & 63]! + (url ? '' : '==');
  } else if (left === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += abc[n >> 18]! + abc[(n >> 12) & 63]! + abc[(n >> 6) & 63]! + (url ? '' : '=');
  }
  return s;
}

/** Base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes, true);
}

/**
 * Strict decoder for base64 (padded or not) and base64url (unpadded); returns undefined for anything else,
 * including non-canonical trailing bits.
 */
export function fromBase64(text: string): Uint8Array | undefined {
  let s = text;
  const url = /[-_]/.test(s);
  if (url && /[+/=]/.test(s)) return undefined;
  if (s.endsWith('==')) s = s.slice(0, -2);
  else if (s.endsWith('=')) s = s.slice(0, -1);
  if (text.length !== s.length && text.length % 4 !== 0) return undefined;
  if (!/^[A-Za-z0-9+/\-_]*$/.test(s) || s.length % 4 === 1) return undefined;
  const abc = url ? B64URL : B64;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < s.length; i++) {
    const v = abc.indexOf(s[i]!);
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0x3fff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
