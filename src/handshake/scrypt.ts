/**
 * scrypt (RFC 7914) in pure TypeScript, with the primitives it is built from: SHA-256 (FIPS 180-4),
 * HMAC-SHA-256 (RFC 2104), PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2), the Salsa20/8 core (RFC 7914 §3),
 * scryptBlockMix (§4) and scryptROMix (§5).
 * It lets a browser derive the password key of password KDF 1 (spec/handshake.md §2.4: scrypt N = 2^14, r = 8,
 * p = 1, 32 bytes over the NFC-normalised password), which Node derives with node:crypto's scryptSync.
 * Everything works on typed arrays; the ROMix loop allocates nothing, and parameters are bounded before the
 * (up to 256 MiB) scratch memory is allocated.
 */
import { ConfigError, throwIfAborted } from '../core/index.js';
import type { PasswordKdf } from './ticket.js';

// --- SHA-256 ---------------------------------------------------------------------------------------

/** First 64 primes: SHA-256's round constants are the fractional parts of their cube roots (FIPS 180-4 §4.2.2). */
function firstPrimes(count: number): number[] {
  const out: number[] = [];
  for (let n = 2; out.length < count; n++) {
    let prime = true;
    for (const p of out) {
      if (p * p > n) break;
      if (n % p === 0) {
        prime = false;
        break;
      }
    }
    if (prime) out.push(n);
  }
  return out;
}

/** The first 32 bits of the fractional part of x. */
function fraction32(x: number): number {
  return Math.floor((x - Math.floor(x)) * 0x1_0000_0000) >>> 0;
}

const PRIMES = firstPrimes(64);
/** SHA-256 round constants K[0..63] (cube roots of the first 64 primes). */
const K = new Int32Array(PRIMES.map((p) => fraction32(Math.cbrt(p)) | 0));
/** SHA-256 initial hash value H(0) (square roots of the first 8 primes). */
const H0 = new Int32Array(PRIMES.slice(0, 8).map((p) => fraction32(Math.sqrt(p)) | 0));

/** Message schedule scratch, shared by every hash (the functions here are synchronous and never re-entered). */
const W = new Int32Array(64);

/** Bytes in one SHA-256 block. */
const SHA256_BLOCK_BYTES = 64;
/** Bytes in a SHA-256 digest. */
export const SHA256_BYTES = 32;

/** Runs the SHA-256 compression function over the 64-byte block at `offset` of `block`, updating `state`. */
function compress(state: Int32Array, block: Uint8Array, offset: number): void {
  // INVARIANT: offset + 64 <= block.byteLength (callers pass whole blocks only).
  for (let t = 0; t < 16; t++) {
    const i = offset + t * 4;
    W[t] = (block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + ch + K[t]! + W[t]!) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (sigma0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** An incremental SHA-256 whose state can be copied (HMAC keeps its keyed inner and outer states this way). */
class Sha256 {
  readonly #state = new Int32Array(8);
  readonly #buffer = new Uint8Array(SHA256_BLOCK_BYTES);
  #buffered = 0;
  /** Total bytes hashed (exact up to 2^53 bytes). */
  #length = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    this.#state.set(H0);
    this.#buffered = 0;
    this.#length = 0;
    return this;
  }

  /** Makes this hash continue from `other`'s state. */
  copyFrom(other: Sha256): this {
    this.#state.set(other.#state);
    this.#buffer.set(other.#buffer);
    this.#buffered = other.#buffered;
    this.#length = other.#length;
    return this;
  }

  update(data: Uint8Array): this {
    let pos = 0;
    const n = data.byteLength;
    this.#length += n;
    if (this.#buffered > 0) {
      const take = Math.min(n, SHA256_BLOCK_BYTES - this.#buffered);
      this.#buffer.set(data.subarray(0, take), this.#buffered);
      this.#buffered += take;
      pos = take;
      if (this.#buffered < SHA256_BLOCK_BYTES) return this;
      compress(this.#state, this.#buffer, 0);
      this.#buffered = 0;
    }
    for (; pos + SHA256_BLOCK_BYTES <= n; pos += SHA256_BLOCK_BYTES) compress(this.#state, data, pos);
    if (pos < n) {
      this.#buffer.set(data.subarray(pos), 0);
      this.#buffered = n - pos;
    }
    return this;
  }

  /** Writes the 32-byte digest to `out` at `offset`; the hash must be reset or copied before further use. */
  digestInto(out: Uint8Array, offset = 0): void {
    const buf = this.#buffer;
    const bits = this.#length * 8;
    buf[this.#buffered] = 0x80;
    buf.fill(0, this.#buffered + 1);
    if (this.#buffered + 1 > SHA256_BLOCK_BYTES - 8) {
      compress(this.#state, buf, 0);
      buf.fill(0);
    }
    // The message length in bits, a 64-bit big-endian integer.
    const high = Math.floor(bits / 0x1_0000_0000);
    const low = bits >>> 0;
    buf[56] = high >>> 24;
    buf[57] = high >>> 16;
    buf[58] = high >>> 8;
    buf[59] = high;
    buf[60] = low >>> 24;
    buf[61] = low >>> 16;
    buf[62] = low >>> 8;
    buf[63] = low;
    compress(this.#state, buf, 0);
    for (let i = 0; i < 8; i++) {
      const v = this.#state[i]!;
      out[offset + i * 4] = v >>> 24;
      out[offset + i * 4 + 1] = v >>> 16;
      out[offset + i * 4 + 2] = v >>> 8;
      out[offset + i * 4 + 3] = v;
    }
  }
}

/**
 * SHA-256 of `data` (FIPS 180-4).
 * @returns a new 32-byte digest
 */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(SHA256_BYTES);
  new Sha256().update(data).digestInto(out);
  return out;
}

// --- HMAC-SHA-256 and PBKDF2 ----------------------------------------------------------------------

/** HMAC-SHA-256 with the key's inner and outer states computed once (RFC 2104). */
class HmacSha256 {
  readonly #inner = new Sha256();
  readonly #outer = new Sha256();
  readonly #work = new Sha256();
  readonly #innerDigest = new Uint8Array(SHA256_BYTES);

  constructor(key: Uint8Array) {
    const block = new Uint8Array(SHA256_BLOCK_BYTES);
    if (key.byteLength > SHA256_BLOCK_BYTES) new Sha256().update(key).digestInto(block);
    else block.set(key);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) block[i]! ^= 0x36;
    this.#inner.update(block);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) block[i]! ^= 0x36 ^ 0x5c;
    this.#outer.update(block);
    block.fill(0);
  }

  /** Starts a MAC: returns the working hash, keyed, for the caller to update with the message. */
  begin(): Sha256 {
    return this.#work.copyFrom(this.#inner);
  }

  /** Ends the MAC begun by `begin`, writing 32 bytes to `out` at `offset`. */
  end(out: Uint8Array, offset = 0): void {
    this.#work.digestInto(this.#innerDigest);
    this.#work.copyFrom(this.#outer).update(this.#innerDigest).digestInto(out, offset);
  }
}

/**
 * HMAC-SHA-256 of `data` under `key` (RFC 2104).
 * @returns a new 32-byte tag
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const mac = new HmacSha256(key);
  const out = new Uint8Array(SHA256_BYTES);
  mac.begin().update(data);
  mac.end(out);
  return out;
}

/** PBKDF2-HMAC-SHA-256 into `out` (any length; the public wrapper caps it). */
function pbkdf2Into(mac: HmacSha256, salt: Uint8Array, iterations: number, out: Uint8Array): void {
  const index = new Uint8Array(4);
  const u = new Uint8Array(SHA256_BYTES);
  const t = new Uint8Array(SHA256_BYTES);
  const blocks = Math.ceil(out.byteLength / SHA256_BYTES);
  for (let block = 1; block <= blocks; block++) {
    index[0] = block >>> 24;
    index[1] = block >>> 16;
    index[2] = block >>> 8;
    index[3] = block;
    mac.begin().update(salt).update(index);
    mac.end(u);
    t.set(u);
    for (let c = 1; c < iterations; c++) {
      mac.begin().update(u);
      mac.end(u);
      for (let i = 0; i < SHA256_BYTES; i++) t[i]! ^= u[i]!;
    }
    const at = (block - 1) * SHA256_BYTES;
    out.set(t.subarray(0, Math.min(SHA256_BYTES, out.byteLength - at)), at);
  }
  u.fill(0);
  t.fill(0);
}

/** Limits on every derivation here, checked before any work or allocation. */
export const SCRYPT_LIMITS = Object.freeze({
  /** Largest cost N (a power of two, at least 2). */
  maxN: 1 << 20,
  /** Largest r * p (the PBKDF2 buffer B is 128 * r * p bytes). */
  maxRTimesP: 1 << 10,
  /** Largest ROMix scratch V, 128 * r * N bytes. */
  maxMemoryBytes: 256 * 1024 * 1024,
  /** Largest derived key. */
  maxKeyBytes: 1024,
  /** Largest PBKDF2 iteration count. */
  maxIterations: 1 << 24,
});

function checkInteger(value: number, min: number, max: number, field: string, what: string): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new ConfigError(`${what} must be an integer from ${min} to ${max}`, { context: 'scrypt', field, received: String(value) });
  }
}

/**
 * PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2).
 * @param iterations the count c, 1 to SCRYPT_LIMITS.maxIterations
 * @param keyBytes the derived key length, 1 to SCRYPT_LIMITS.maxKeyBytes
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when a parameter is out of bounds
 */
export function pbkdf2HmacSha256(password: Uint8Array | string, salt: Uint8Array, iterations: number, keyBytes: number): Uint8Array {
  checkInteger(iterations, 1, SCRYPT_LIMITS.maxIterations, 'iterations', 'pbkdf2 iterations');
  checkInteger(keyBytes, 1, SCRYPT_LIMITS.maxKeyBytes, 'keyBytes', 'pbkdf2 key length');
  const out = new Uint8Array(keyBytes);
  pbkdf2Into(new HmacSha256(passwordBytes(password)), salt, iterations, out);
  return out;
}

// --- scrypt ---------------------------------------------------------------------------------------

/** scrypt parameters (RFC 7914 §2). */
export interface ScryptParams {
  /** CPU/memory cost: a power of two, 2 to 2^20. */
  readonly N: number;
  /** Block size factor (blocks are 128 * r bytes). */
  readonly r: number;
  /** Parallelisation factor (run here one after the other). */
  readonly p: number;
  /** Derived key length in bytes, 1 to 1024. */
  readonly keyBytes: number;
}

/** Parameters of password KDF 1 (spec/handshake.md §2.4), the same as src/node's SCRYPT_PARAMS. */
export const PASSWORD_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 16384, r: 8, p: 1, keyBytes: 32 });

const UTF8 = new TextEncoder();

/** A string password as UTF-8 (unpaired surrogates become U+FFFD, as Node's Buffer does); bytes as they are. */
function passwordBytes(password: Uint8Array | string): Uint8Array {
  return typeof password === 'string' ? UTF8.encode(password) : password;
}

/**
 * Checks scrypt parameters against RFC 7914 and SCRYPT_LIMITS.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG naming the field
 */
export function checkScryptParams(params: ScryptParams): void {
  const { N, r, p, keyBytes } = params;
  if (!(Number.isInteger(N) && N >= 2 && N <= SCRYPT_LIMITS.maxN && (N & (N - 1)) === 0)) {
    throw new ConfigError(`scrypt N must be a power of two from 2 to ${SCRYPT_LIMITS.maxN}`, { context: 'scrypt', field: 'N', received: String(N) });
  }
  checkInteger(r, 1, SCRYPT_LIMITS.maxRTimesP, 'r', 'scrypt r');
  checkInteger(p, 1, SCRYPT_LIMITS.maxRTimesP, 'p', 'scrypt p');
  if (r * p > SCRYPT_LIMITS.maxRTimesP) {
    throw new ConfigError(`scrypt r * p must be at most ${SCRYPT_LIMITS.maxRTimesP}`, { context: 'scrypt', field: 'p', received: r * p });
  }
  if (128 * r * N > SCRYPT_LIMITS.maxMemoryBytes) {
    throw new ConfigError(`scrypt needs 128 * r * N = ${128 * r * N} bytes, more than ${SCRYPT_LIMITS.maxMemoryBytes}`, { context: 'scrypt', field: 'N', received: 128 * r * N });
  }
  checkInteger(keyBytes, 1, SCRYPT_LIMITS.maxKeyBytes, 'keyBytes', 'scrypt key length');
}

/**
 * scryptBlockMix (RFC 7914 §4) with Salsa20/8 inlined: reads the 2r 64-byte blocks at `src[srcOff..]`
 * and writes the shuffled output (even blocks first, then odd ones) at `dst[dstOff..]`.
 * INVARIANT: both ranges hold 32 * r words and do not overlap; words are the little-endian 32-bit words of the blocks.
 */
function blockMix(src: Int32Array, srcOff: number, dst: Int32Array, dstOff: number, r: number): void {
  // X starts as the last block, held in 16 locals across the whole call.
  const last = srcOff + (2 * r - 1) * 16;
  let x0 = src[last]!, x1 = src[last + 1]!, x2 = src[last + 2]!, x3 = src[last + 3]!;
  let x4 = src[last + 4]!, x5 = src[last + 5]!, x6 = src[last + 6]!, x7 = src[last + 7]!;
  let x8 = src[last + 8]!, x9 = src[last + 9]!, x10 = src[last + 10]!, x11 = src[last + 11]!;
  let x12 = src[last + 12]!, x13 = src[last + 13]!, x14 = src[last + 14]!, x15 = src[last + 15]!;
  const blocks = 2 * r;
  for (let i = 0; i < blocks; i++) {
    const b = srcOff + i * 16;
    // T = X xor B[i]; X = Salsa20/8(T) = T + rounds(T).
    x0 ^= src[b]!; x1 ^= src[b + 1]!; x2 ^= src[b + 2]!; x3 ^= src[b + 3]!;
    x4 ^= src[b + 4]!; x5 ^= src[b + 5]!; x6 ^= src[b + 6]!; x7 ^= src[b + 7]!;
    x8 ^= src[b + 8]!; x9 ^= src[b + 9]!; x10 ^= src[b + 10]!; x11 ^= src[b + 11]!;
    x12 ^= src[b + 12]!; x13 ^= src[b + 13]!; x14 ^= src[b + 14]!; x15 ^= src[b + 15]!;
    let y0 = x0, y1 = x1, y2 = x2, y3 = x3, y4 = x4, y5 = x5, y6 = x6, y7 = x7;
    let y8 = x8, y9 = x9, y10 = x10, y11 = x11, y12 = x12, y13 = x13, y14 = x14, y15 = x15;
    let u: number;
    for (let round = 0; round < 8; round += 2) {
      // Column round.
      u = (y0 + y12) | 0; y4 ^= (u << 7) | (u >>> 25);
      u = (y4 + y0) | 0; y8 ^= (u << 9) | (u >>> 23);
      u = (y8 + y4) | 0; y12 ^= (u << 13) | (u >>> 19);
      u = (y12 + y8) | 0; y0 ^= (u << 18) | (u >>> 14);
      u = (y5 + y1) | 0; y9 ^= (u << 7) | (u >>> 25);
      u = (y9 + y5) | 0; y13 ^= (u << 9) | (u >>> 23);
      u = (y13 + y9) | 0; y1 ^= (u << 13) | (u >>> 19);
      u = (y1 + y13) | 0; y5 ^= (u << 18) | (u >>> 14);
      u = (y10 + y6) | 0; y14 ^= (u << 7) | (u >>> 25);
      u = (y14 + y10) | 0; y2 ^= (u << 9) | (u >>> 23);
      u = (y2 + y14) | 0; y6 ^= (u << 13) | (u >>> 19);
      u = (y6 + y2) | 0; y10 ^= (u << 18) | (u >>> 14);
      u = (y15 + y11) | 0; y3 ^= (u << 7) | (u >>> 25);
      u = (y3 + y15) | 0; y7 ^= (u << 9) | (u >>> 23);
      u = (y7 + y3) | 0; y11 ^= (u << 13) | (u >>> 19);
      u = (y11 + y7) | 0; y15 ^= (u << 18) | (u >>> 14);
      // Row round.
      u = (y0 + y3) | 0; y1 ^= (u << 7) | (u >>> 25);
      u = (y1 + y0) | 0; y2 ^= (u << 9) | (u >>> 23);
      u = (y2 + y1) | 0; y3 ^= (u << 13) | (u >>> 19);
      u = (y3 + y2) | 0; y0 ^= (u << 18) | (u >>> 14);
      u = (y5 + y4) | 0; y6 ^= (u << 7) | (u >>> 25);
      u = (y6 + y5) | 0; y7 ^= (u << 9) | (u >>> 23);
      u = (y7 + y6) | 0; y4 ^= (u << 13) | (u >>> 19);
      u = (y4 + y7) | 0; y5 ^= (u << 18) | (u >>> 14);
      u = (y10 + y9) | 0; y11 ^= (u << 7) | (u >>> 25);
      u = (y11 + y10) | 0; y8 ^= (u << 9) | (u >>> 23);
      u = (y8 + y11) | 0; y9 ^= (u << 13) | (u >>> 19);
      u = (y9 + y8) | 0; y10 ^= (u << 18) | (u >>> 14);
      u = (y15 + y14) | 0; y12 ^= (u << 7) | (u >>> 25);
      u = (y12 + y15) | 0; y13 ^= (u << 9) | (u >>> 23);
      u = (y13 + y12) | 0; y14 ^= (u << 13) | (u >>> 19);
      u = (y14 + y13) | 0; y15 ^= (u << 18) | (u >>> 14);
    }
    x0 = (x0 + y0) | 0; x1 = (x1 + y1) | 0; x2 = (x2 + y2) | 0; x3 = (x3 + y3) | 0;
    x4 = (x4 + y4) | 0; x5 = (x5 + y5) | 0; x6 = (x6 + y6) | 0; x7 = (x7 + y7) | 0;
    x8 = (x8 + y8) | 0; x9 = (x9 + y9) | 0; x10 = (x10 + y10) | 0; x11 = (x11 + y11) | 0;
    x12 = (x12 + y12) | 0; x13 = (x13 + y13) | 0; x14 = (x14 + y14) | 0; x15 = (x15 + y15) | 0;
    // Y[i] goes to position i/2 when i is even, r + (i-1)/2 when odd.
    const o = dstOff + ((i & 1) === 0 ? i >> 1 : r + (i >> 1)) * 16;
    dst[o] = x0; dst[o + 1] = x1; dst[o + 2] = x2; dst[o + 3] = x3;
    dst[o + 4] = x4; dst[o + 5] = x5; dst[o + 6] = x6; dst[o + 7] = x7;
    dst[o + 8] = x8; dst[o + 9] = x9; dst[o + 10] = x10; dst[o + 11] = x11;
    dst[o + 12] = x12; dst[o + 13] = x13; dst[o + 14] = x14; dst[o + 15] = x15;
  }
}

/**
 * One scrypt derivation as a resumable job: `run(budget)` advances the ROMix loops by at most `budget`
 * BlockMix calls, so an asynchronous caller can yield between slices. The synchronous and asynchronous entry
 * points share it.
 */
class ScryptJob {
  readonly #params: ScryptParams;
  readonly #mac: HmacSha256;
  /** B = PBKDF2(P, S, 1, p * 128 * r), the p blocks ROMix works on. */
  readonly #b: Uint8Array;
  /** ROMix scratch V: N blocks of 32 * r words (128 * r * N bytes). */
  readonly #v: Int32Array;
  #x: Int32Array;
  #y: Int32Array;
  /** Which of the p blocks ROMix is on. */
  #block = 0;
  /** Step within ROMix: 0..N-1 fills V, N..2N-1 mixes. */
  #step = 0;

  constructor(password: Uint8Array, salt: Uint8Array, params: ScryptParams) {
    checkScryptParams(params);
    this.#params = params;
    this.#mac = new HmacSha256(password);
    const words = 32 * params.r;
    this.#b = new Uint8Array(128 * params.r * params.p);
    pbkdf2Into(this.#mac, salt, 1, this.#b);
    this.#v = new Int32Array(words * params.N);
    this.#x = new Int32Array(words);
    this.#y = new Int32Array(words);
  }

  get done(): boolean {
    return this.#block >= this.#params.p;
  }

  /** Runs at most `budget` BlockMix steps; returns true when every block is mixed. */
  run(budget: number): boolean {
    const { N, r, p } = this.#params;
    const words = 32 * r;
    const v = this.#v;
    const mask = N - 1;
    const integerifyAt = (2 * r - 1) * 16;
    while (this.#block < p && budget > 0) {
      if (this.#step === 0) this.#load(this.#block * 128 * r);
      let step = this.#step;
      let x = this.#x;
      let y = this.#y;
      // ROMix step 2: V[i] = X; X = BlockMix(X).
      for (; step < N && budget > 0; step++, budget--) {
        v.set(x, step * words);
        blockMix(x, 0, y, 0, r);
        const t = x;
        x = y;
        y = t;
      }
      // ROMix step 3: j = Integerify(X) mod N; X = BlockMix(X xor V[j]).
      for (; step >= N && step < 2 * N && budget > 0; step++, budget--) {
        const base = (x[integerifyAt]! & mask) * words;
        for (let k = 0; k < words; k++) x[k]! ^= v[base + k]!;
        blockMix(x, 0, y, 0, r);
        const t = x;
        x = y;
        y = t;
      }
      this.#x = x;
      this.#y = y;
      this.#step = step;
      if (step === 2 * N) {
        this.#store(this.#block * 128 * r);
        this.#block++;
        this.#step = 0;
      }
    }
    return this.done;
  }

  /** The derived key, DK = PBKDF2(P, B, 1, keyBytes); wipes the job's buffers. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#params.keyBytes);
    pbkdf2Into(this.#mac, this.#b, 1, out);
    this.wipe();
    return out;
  }

  /** Zeroes the intermediate state (also after an abort). */
  wipe(): void {
    this.#b.fill(0);
    this.#v.fill(0);
    this.#x.fill(0);
    this.#y.fill(0);
  }

  /** X = the little-endian words of B's block at `offset`. */
  #load(offset: number): void {
    const b = this.#b;
    const x = this.#x;
    for (let k = 0; k < x.length; k++) {
      const i = offset + k * 4;
      x[k] = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    }
  }

  /** B's block at `offset` = X as little-endian bytes. */
  #store(offset: number): void {
    const b = this.#b;
    const x = this.#x;
    for (let k = 0; k < x.length; k++) {
      const i = offset + k * 4;
      const w = x[k]!;
      b[i] = w;
      b[i + 1] = w >>> 8;
      b[i + 2] = w >>> 16;
      b[i + 3] = w >>> 24;
    }
  }
}

/**
 * scrypt (RFC 7914 §6), synchronously. A string password is encoded as UTF-8 as given (no normalisation).
 * @returns a new key of `params.keyBytes` bytes
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when a parameter is out of bounds (see checkScryptParams)
 */
export function scrypt(password: Uint8Array | string, salt: Uint8Array, params: ScryptParams): Uint8Array {
  const job = new ScryptJob(passwordBytes(password), salt, params);
  job.run(Infinity);
  return job.finish();
}

/** Options of scryptAsync. */
export interface ScryptAsyncOptions {
  /**
   * Awaited between slices, so a page can paint and handle events; for example `() => new Promise((r) => setTimeout(r, 0))`.
   * Default: a resolved promise (yields to microtasks only).
   */
  readonly pause?: () => Promise<void>;
  /** BlockMix steps per slice (default 1024: a few ms for r = 8; password KDF 1 takes 2N = 32768 steps). */
  readonly sliceSteps?: number;
  readonly signal?: AbortSignal;
}

/**
 * scrypt (RFC 7914 §6) in slices separated by `options.pause()`: the same result as `scrypt`.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG when a parameter is out of bounds
 * @throws {AbortError} when `options.signal` aborts between slices
 */
export async function scryptAsync(password: Uint8Array | string, salt: Uint8Array, params: ScryptParams, options: ScryptAsyncOptions = {}): Promise<Uint8Array> {
  const slice = options.sliceSteps ?? 1024;
  checkInteger(slice, 1, Number.MAX_SAFE_INTEGER, 'sliceSteps', 'scrypt slice');
  throwIfAborted(options.signal);
  const job = new ScryptJob(passwordBytes(password), salt, params);
  try {
    while (!job.run(slice)) {
      await (options.pause ? options.pause() : Promise.resolve());
      throwIfAborted(options.signal);
    }
  } catch (err) {
    job.wipe();
    throw err;
  }
  return job.finish();
}

/** Password KDF 1 (spec/handshake.md §2.4) in pure TypeScript: scrypt(NFC(password), salt), N = 2^14, r = 8, p = 1, 32 bytes. */
export const pureScryptKdf: PasswordKdf = (password, salt) => scrypt(password.normalize('NFC'), salt, PASSWORD_SCRYPT_PARAMS);

/**
 * Password KDF 1 in slices (for a page that must stay responsive): the same key as `pureScryptKdf` and src/node's `scryptKdf`.
 * @throws {AbortError} when `options.signal` aborts
 */
export function passwordKeyAsync(password: string, salt: Uint8Array, options: ScryptAsyncOptions = {}): Promise<Uint8Array> {
  return scryptAsync(password.normalize('NFC'), salt, PASSWORD_SCRYPT_PARAMS, options);
}
