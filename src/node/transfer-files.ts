/**
 * The Node file side of file transfer (spec/transfer.md): outgoing files read from disk with their SHA-256, and
 * the downloads folder that receives files: a partial file per SHA-256 kept across sessions (so a transfer resumes
 * after a reconnect), checked against the announced SHA-256, then linked into place under a sanitised name that
 * cannot leave the folder, never over an existing file, never through a symbolic link, never executable.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, TesseraError } from '../core/index.js';
import { toHex } from '../core/index.js';
import type { TransferCode } from '../framing/control.js';
import type { IncomingSink, OutgoingFile } from '../driver/transfer.js';
import type { FileOffer } from '../session/transfer.js';

/** O_NOFOLLOW where the platform has it. */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** Longest saved name, in UTF-8 bytes: room for " (9999)" within the usual 255-byte limit of a file system. */
const MAX_SAVED_NAME_BYTES = 200;
/** Windows device names, which no saved file may be called (with any extension). */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$)(\..*)?$/i;
/** Most " (n)" suffixes tried before the save fails. */
const MAX_COLLISIONS = 9999;

/**
 * A peer's file name made safe to save: one plain name, never a path. Control characters and bidirectional
 * controls are dropped, separators and characters Windows forbids become '_', leading dots and spaces and
 * trailing dots and spaces go (no hidden file, no '.' or '..'), a Windows device name gets a leading '_', and the
 * name is cut to 200 UTF-8 bytes keeping its extension. What is left empty becomes 'file'.
 */
export function sanitizeFileName(name: string): string {
  let s = name.normalize('NFC');
  // C0, DEL, C1 controls; bidirectional and zero-width format characters (U+202E makes "exe.txt" read "txt.exe").
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '');
  s = s.replace(/[/\\:*?"<>|]/g, '_');
  s = s.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  if (RESERVED.test(s)) s = `_${s}`;
  s = cutName(s, MAX_SAVED_NAME_BYTES);
  return s.length === 0 ? 'file' : s;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts `name` to `max` UTF-8 bytes on a code point boundary, keeping a short extension. */
function cutName(name: string, max: number): string {
  if (utf8Length(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = name.slice(0, name.length - ext.length);
  while (utf8Length(stem) + utf8Length(ext) > max) stem = [...stem].slice(0, -1).join('');
  return (stem.replace(/[.\s]+$/, '') || 'file') + ext;
}

/** The default downloads folder: `tessera` in the user's downloads (XDG_DOWNLOAD_DIR, else ~/Downloads). */
export function defaultDownloadsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DOWNLOAD_DIR && env.XDG_DOWNLOAD_DIR.startsWith('/') ? env.XDG_DOWNLOAD_DIR : join(homedir(), 'Downloads');
  return join(base, 'tessera');
}

/**
 * Opens a file to send: a regular file, its size, and its SHA-256 (read once now; the bytes are read again as
 * they are sent, and a file that changed meanwhile fails the receiver's check).
 * @throws {TesseraError} TESSERA_ERR_IO when it is not a readable regular file
 */
export async function openOutgoingFile(path: string, name?: string): Promise<OutgoingFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, constants.O_RDONLY);
  } catch (err) {
    throw new TesseraError(ErrorCode.Io, `cannot read ${path}: ${(err as { code?: string }).code ?? 'error'}`, { cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new TesseraError(ErrorCode.Io, `${path} is not a regular file`);
    const hash = createHash('sha256');
    const stream = createReadStream('', { fd: handle.fd, autoClose: false, start: 0, highWaterMark: 1024 * 1024 });
    for await (const chunk of stream) hash.update(chunk as Buffer);
    const sha256 = new Uint8Array(hash.digest());
    const base = name ?? path.split(/[/\\]/).pop() ?? 'file';
    let closed = false;
    return {
      name: truncateUtf8(base, 255),
      size: st.size,
      sha256,
      async read(offset, length) {
        const buf = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await handle.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return new Uint8Array(buf.buffer, buf.byteOffset, got);
      },
      async close() {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  } catch (err) {
    await handle.close();
    throw err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, `cannot read ${path}`, { cause: err });
  }
}

function truncateUtf8(s: string, max: number): string {
  let out = s;
  while (utf8Length(out) > max) out = [...out].slice(0, -1).join('');
  return out;
}

/**
 * The folder incoming files are saved into. A partial file is `.tessera-<sha256>-<size>.part` in the folder
 * (mode 0600), so an offer of the same file after a reconnect resumes where the last one stopped.
 */
export class DownloadFolder {
  readonly dir: string;
  /** Partial files being written now, by their path: the same file offered twice at once is refused `busy`. */
  readonly #active = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Where the partial file of `offer` lives. */
  partPath(offer: Pick<FileOffer, 'sha256' | 'size'>): string {
    return join(this.dir, `.tessera-${toHex(offer.sha256)}-${offer.size}.part`);
  }

  /**
   * Opens the sink for an accepted offer, resuming a partial file of the same SHA-256 and size.
   * @returns the sink, or 'busy' when the same file is being received already
   * @throws {TesseraError} TESSERA_ERR_IO when the folder or the partial file cannot be opened
   */
  async open(offer: FileOffer): Promise<IncomingSink | TransferCode> {
    const part = this.partPath(offer);
    if (this.#active.has(part)) return 'busy';
    this.#active.add(part);
    let handle: fsp.FileHandle;
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
      handle = await fsp.open(part, constants.O_RDWR | constants.O_CREAT | O_NOFOLLOW, 0o600);
    } catch (err) {
      this.#active.delete(part);
      throw new TesseraError(ErrorCode.Io, `cannot write into ${this.dir}: ${(err as { code?: string }).code ?? 'error'}`, { cause: err });
    }
    let offset: number;
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new TesseraError(ErrorCode.Io, `${part} is not a regular file`);
      if (process.platform !== 'win32') await handle.chmod(0o600);
      offset = st.size <= offer.size ? st.size : 0;
      if (st.size > offer.size) await handle.truncate(0);
    } catch (err) {
      await handle.close();
      this.#active.delete(part);
      throw err instanceof TesseraError ? err : new TesseraError(ErrorCode.Io, `cannot use ${part}`, { cause: err });
    }
    // The SHA-256 runs as the bytes are written (the bytes kept from an earlier attempt first), so the file is not
    // read again at the end.
    const hash = createHash('sha256');
    let hashed = 0;
    try {
      if (offset > 0) {
        const stream = createReadStream('', { fd: handle.fd, autoClose: false, start: 0, end: offset - 1, highWaterMark: 1024 * 1024 });
        for await (const chunk of stream) {
          hash.update(chunk as Buffer);
          hashed += (chunk as Buffer).byteLength;
        }
      }
    } catch (err) {
      await handle.close();
      this.#active.delete(part);
      throw new TesseraError(ErrorCode.Io, `cannot read ${part}`, { cause: err });
    }
    if (hashed !== offset) {
      await handle.close();
      this.#active.delete(part);
      throw new TesseraError(ErrorCode.Io, `${part} changed while it was read`);
    }
    const release = async (): Promise<void> => {
      if (!this.#active.delete(part)) return;
      await handle.close().catch(() => undefined);
    };
    return {
      offset,
      write: async (at, data) => {
        if (at !== hashed) throw new TesseraError(ErrorCode.Io, `a write at ${at} does not follow the ${hashed} bytes stored`);
        let done = 0;
        while (done < data.byteLength) done += (await handle.write(data, done, data.byteLength - done, at + done)).bytesWritten;
        hash.update(data);
        hashed += data.byteLength;
      },
      finish: async () => {
        await handle.sync();
        const st = await handle.stat();
        const digest = new Uint8Array(hash.digest());
        const lst = await fsp.lstat(part);
        // The file checked must be the one written, not something put in its place.
        if (!(lst.isFile() && lst.ino === st.ino && lst.dev === st.dev) || st.size !== offer.size || hashed !== offer.size || toHex(digest) !== toHex(offer.sha256)) {
          await release();
          await fsp.unlink(part).catch(() => undefined);
          return false;
        }
        if (process.platform !== 'win32') await handle.chmod(0o644);
        await release();
        const saved = await this.#place(part, sanitizeFileName(offer.name));
        await fsp.unlink(part).catch(() => undefined);
        return saved;
      },
      abort: async (code) => {
        await release();
        // A file that failed its check starts over; any other end keeps the bytes for a later attempt.
        if (code === 'integrity') await fsp.unlink(part).catch(() => undefined);
      },
    };
  }

  /** Links `part` into the folder as `name`, or "name (1).ext", ...: never over an existing file or link. */
  async #place(part: string, name: string): Promise<string> {
    const dot = name.lastIndexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot) : '';
    for (let n = 0; n <= MAX_COLLISIONS; n++) {
      const target = join(this.dir, n === 0 ? name : `${stem} (${n})${ext}`);
      try {
        await fsp.link(part, target);
        return target;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw new TesseraError(ErrorCode.Io, `cannot save ${target}`, { cause: err });
      }
    }
    throw new TesseraError(ErrorCode.Io, `too many files named ${name} in ${this.dir}`);
  }
}
