/**
 * Writing a file that holds a secret (an invitation, an identity or host key, the ticket store): atomically and
 * readable by its owner only, whatever was at the path before, and never through a symbolic link.
 */
import { closeSync, constants, fchmodSync, fsyncSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ErrorCode, TesseraError } from '../core/index.js';

/** O_NOFOLLOW where the platform has it (not on Windows, where symbolic links need privileges to create). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Writes `data` to `path` with mode 0600: into a new temporary file in the same folder (created with O_EXCL and
 * O_NOFOLLOW, so it is never an existing file or a link someone planted), flushed with fsync, then renamed over
 * `path`, and the folder fsynced. A reader sees the old file or the new one, never a part; an existing file of
 * another mode (say 0644) is replaced by one of mode 0600; and if `path` is a symbolic link the write is refused
 * rather than landing wherever the link points. (The rename itself replaces a link that appears later instead of
 * following it.)
 * @param path the file to write
 * @param data its new content (a string is written as UTF-8)
 * @throws {TesseraError} TESSERA_ERR_IO when `path` is a symbolic link or the write fails; the message names the
 *   path and the system error code
 */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  let linked = false;
  try {
    linked = lstatSync(path).isSymbolicLink();
  } catch {
    // Nothing at the path yet (or nothing we can see): the write below reports any real problem.
  }
  if (linked) throw new TesseraError(ErrorCode.Io, `refusing to write ${path}: it is a symbolic link, and a file holding a secret is never written through one`);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o600);
    created = true;
    // The umask may have taken bits away from 0600; set exactly 0600.
    if (process.platform !== 'win32') fchmodSync(fd, 0o600);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    created = false;
    syncDir(dirname(path));
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // Already gone; nothing to clean.
      }
    }
    const code = (err as { code?: unknown }).code;
    throw new TesseraError(ErrorCode.Io, `could not write ${path}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
}

/** Flushes a folder's entries (the rename) to disk where the platform allows it. */
function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on folders; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
