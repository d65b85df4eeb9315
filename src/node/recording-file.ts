/**
 * Session recordings on disk (spec/recording.md): a 0700 folder, one 0600 file per session written record by record
 * (`<name>.tsrec.part` while the session runs, renamed to `<name>.tsrec` once sealed), retention, auditor key files,
 * and reading a file back with a size cap. The format itself is the pure src/recording/format.ts.
 */
import { closeSync, constants, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, chmodSync, accessSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { ErrorCode, TesseraError } from '../core/index.js';
import { type ChainHash, decryptRecording, fromB64url, isEncryptedRecording, readRecording, RecordingWriter, toB64url, type RecordingReport } from '../recording/format.js';
import { writeSecretFile } from './secret-file.js';

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** Largest recording file `tessera play` reads into memory. */
export const MAX_RECORDING_FILE_BYTES = 2 * 1024 * 1024 * 1024 - 1;
const DAY_MS = 24 * 60 * 60 * 1000;

/** node:crypto's SHA-256 for the chain (several times faster than the pure one). */
export const nodeChainHash: ChainHash = (prev, record) => new Uint8Array(createHash('sha256').update(prev).update(record).digest());

/**
 * Makes (or checks) the recordings folder: mode 0700, not a symbolic link, writable.
 * @throws {TesseraError} TESSERA_ERR_IO naming the folder when it cannot be used
 */
export function ensureRecordingDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (lstatSync(dir).isSymbolicLink()) throw Object.assign(new Error('symbolic link'), { code: 'ELOOP' });
    if (process.platform !== 'win32') chmodSync(dir, 0o700);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new TesseraError(ErrorCode.Io, `cannot record sessions in ${dir}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
}

/** One session's recording file. */
export class RecordingFile {
  readonly writer: RecordingWriter;
  readonly path: string;
  readonly #partPath: string;
  #fd: number | undefined;
  #error: TesseraError | undefined;

  private constructor(partPath: string, path: string, fd: number, make: (sink: (b: Uint8Array) => void) => RecordingWriter) {
    this.#partPath = partPath;
    this.path = path;
    this.#fd = fd;
    this.writer = make((bytes) => this.#write(bytes));
  }

  /**
   * Creates `<dir>/<name>.tsrec.part` (O_EXCL, O_NOFOLLOW, mode 0600).
   * @throws {TesseraError} TESSERA_ERR_IO when it cannot be created
   */
  static create(dir: string, name: string, options: { signSecretKey: Uint8Array; auditorPublicKey?: Uint8Array }): RecordingFile {
    const path = join(dir, `${name}.tsrec`);
    const partPath = `${path}.part`;
    let fd: number;
    try {
      fd = openSync(partPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
      if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new TesseraError(ErrorCode.Io, `cannot create the recording ${partPath}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
    }
    return new RecordingFile(partPath, path, fd, (sink) =>
      new RecordingWriter({
        sink,
        signSecretKey: options.signSecretKey,
        chainHash: nodeChainHash,
        ...(options.auditorPublicKey ? { auditorPublicKey: options.auditorPublicKey, random: (n) => new Uint8Array(randomBytes(n)) } : {}),
      }),
    );
  }

  /** The first write error, if any (the session then goes on unrecorded; the host reports it). */
  get error(): TesseraError | undefined {
    return this.#error;
  }

  #write(bytes: Uint8Array): void {
    if (this.#fd === undefined || this.#error) return;
    try {
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(this.#fd, bytes, off, bytes.byteLength - off);
    } catch (err) {
      this.#error = new TesseraError(ErrorCode.Io, `writing the recording ${this.#partPath} failed`, { cause: err });
    }
  }

  /** Seals the file, flushes it and renames it to its final name. */
  finish(time: number): void {
    if (this.#fd === undefined) return;
    this.writer.seal(time);
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      fsyncSync(fd);
      closeSync(fd);
      if (!this.#error) renameSync(this.#partPath, this.path);
    } catch (err) {
      this.#error ??= new TesseraError(ErrorCode.Io, `closing the recording ${this.#partPath} failed`, { cause: err });
    }
  }
}

/**
 * Deletes recordings (`*.tsrec`, `*.tsrec.part`) last written more than `days` days before `now`.
 * @returns how many were deleted
 */
export function pruneRecordings(dir: string, days: number, now: number): number {
  let deleted = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!/\.tsrec(\.part)?$/.test(name)) continue;
    const p = join(dir, name);
    try {
      const st = lstatSync(p);
      if (st.isFile() && now - st.mtimeMs > days * DAY_MS) {
        unlinkSync(p);
        deleted++;
      }
    } catch {
      // Gone meanwhile or not ours to delete: leave it.
    }
  }
  return deleted;
}

/** An auditor's X25519 key pair file (`tessera keygen --auditor`). */
export interface AuditorKeyFile {
  readonly kind: 'tessera-auditor-key';
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Makes an auditor key pair and writes it with mode 0600; returns the public key (base64url). */
export function writeAuditorKeyFile(path: string): string {
  const pair = nacl.box.keyPair();
  const file: AuditorKeyFile = { kind: 'tessera-auditor-key', publicKey: toB64url(pair.publicKey), secretKey: toB64url(pair.secretKey) };
  writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
  return file.publicKey;
}

/**
 * Reads an auditor key: a base64url public key as text, or a file holding one (or an auditor key file).
 * @throws {TesseraError} TESSERA_ERR_INVALID_CONFIG when it is neither
 */
export function loadAuditorKey(spec: string, want: 'public' | 'secret'): Uint8Array {
  const direct = want === 'public' ? fromB64url(spec.trim()) : undefined;
  if (direct && direct.byteLength === 32) return direct;
  let text: string;
  try {
    if (statSync(spec).size > 64 * 1024) throw new Error('too large');
    text = readFileSync(spec, 'utf8');
  } catch (err) {
    throw new TesseraError(ErrorCode.InvalidConfig, `the auditor key ${want === 'public' ? 'is neither a public key nor a readable file' : 'file cannot be read'}`, { cause: err });
  }
  let value: string | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<AuditorKeyFile>;
    value = want === 'public' ? parsed.publicKey : parsed.secretKey;
  } catch {
    value = want === 'public' ? text.trim() : undefined;
  }
  const key = typeof value === 'string' ? fromB64url(value) : undefined;
  if (!key || key.byteLength !== 32) throw new TesseraError(ErrorCode.InvalidConfig, `the auditor key file holds no ${want} X25519 key`);
  return key;
}

/**
 * Reads a recording file (at most MAX_RECORDING_FILE_BYTES), decrypting it with the auditor's secret key when it is
 * encrypted, and verifies it.
 * @throws {TesseraError} TESSERA_ERR_IO, TESSERA_ERR_LIMIT_EXCEEDED, or decryptRecording's errors
 */
export function readRecordingFile(path: string, options: { auditorSecretKey?: Uint8Array; keepRecords?: boolean } = {}): RecordingReport & { encrypted: boolean } {
  let bytes: Uint8Array;
  try {
    const size = statSync(path).size;
    if (size > MAX_RECORDING_FILE_BYTES) throw new TesseraError(ErrorCode.LimitExceeded, `${path} is over ${MAX_RECORDING_FILE_BYTES} bytes`);
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    if (err instanceof TesseraError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new TesseraError(ErrorCode.Io, `cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
  const encrypted = isEncryptedRecording(bytes);
  if (encrypted) {
    if (!options.auditorSecretKey) throw new TesseraError(ErrorCode.DecryptFailed, `${path} is encrypted to an auditor: pass the auditor key (--key FILE)`);
    bytes = decryptRecording(bytes, options.auditorSecretKey);
  }
  return { ...readRecording(bytes, { chainHash: nodeChainHash, ...(options.keepRecords === undefined ? {} : { keepRecords: options.keepRecords }) }), encrypted };
}
