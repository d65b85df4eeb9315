/**
 * The host's state folder: created with mode 0700, files written atomically (temp file, fsync, rename,
 * directory fsync) with mode 0600. Also holds the host's static X25519 key (host-key.json).
 */
import { chmodSync, mkdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError, ErrorCode, INSPECT, TesseraError } from '../core/index.js';
import { dhKeyPair, fromBase64, toBase64, toBase64Url } from '../handshake/crypto.js';
import { fingerprint } from '../handshake/invitation.js';
import { writeSecretFile } from './secret-file.js';

/** Creates the folder (and parents) if needed and makes it 0700. */
export function ensureStateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32' && (statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  } catch (err) {
    throw ioError(`state folder could not be created`, err);
  }
}

/** Writes `data` to `path` atomically with mode 0600, never through a symbolic link (see writeSecretFile). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeSecretFile(path, data);
}

/** The host's static X25519 key pair. util.inspect and toJSON show only the public key, in base64url as everywhere. */
export class HostKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  constructor(secretKey: Uint8Array) {
    const kp = dhKeyPair(secretKey);
    this.publicKey = kp.publicKey;
    this.secretKey = kp.secretKey;
  }
  get fingerprint(): string {
    return fingerprint(this.publicKey);
  }
  [INSPECT](): string {
    return `HostKey { publicKey: '${toBase64Url(this.publicKey)}' }`;
  }
  toJSON(): object {
    return { publicKey: toBase64Url(this.publicKey) };
  }
}

/**
 * Loads `host-key.json` from the state folder, or creates it (0600) on first use.
 * @throws {ConfigError} when the file exists but is malformed
 */
export function loadOrCreateHostKey(stateDir: string): HostKey {
  ensureStateDir(stateDir);
  const path = join(stateDir, 'host-key.json');
  if (existsSync(path)) {
    let secret: Uint8Array | undefined;
    try {
      const v = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown; secretKey?: unknown };
      if (v.version === 1 && typeof v.secretKey === 'string') secret = fromBase64(v.secretKey);
    } catch {
      secret = undefined;
    }
    if (!secret || secret.byteLength !== 32) throw new ConfigError('host-key.json: must be {"version":1,"secretKey":"<32 bytes base64>"}', { field: 'secretKey' });
    return new HostKey(secret);
  }
  const key = new HostKey(new Uint8Array(randomBytes(32)));
  writeFileAtomic(path, JSON.stringify({ version: 1, publicKey: toBase64Url(key.publicKey), secretKey: toBase64(key.secretKey) }) + '\n');
  return key;
}

/** A TesseraError TESSERA_ERR_IO with the system error as cause. */
export function ioError(message: string, cause: unknown): TesseraError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new TesseraError(ErrorCode.Io, typeof code === 'string' ? `${message} (${code})` : message, { cause });
}
