/**
 * The Node file side of file transfer (spec/transfer.md §8): sanitised names, the partial file kept for resuming,
 * the SHA-256 check, never overwriting, never through a symbolic link, never executable.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadFolder, defaultDownloadsDir, openOutgoingFile, sanitizeFileName } from '../../../src/node/transfer-files.js';
import type { IncomingSink } from '../../../src/driver/transfer.js';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

t.test('hostile names become one plain name inside the folder', async (t) => {
  const cases: [string, string][] = [
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', '_.._etc_passwd'],
    ['..', 'file'],
    ['.', 'file'],
    ['', 'file'],
    ['a/b', 'a_b'],
    ['a\\b', 'a_b'],
    ['C:\\Windows\\evil.dll', 'C__Windows_evil.dll'],
    ['.bashrc', 'bashrc'],
    ['name. . ', 'name'],
    ['evil\u202etxt.exe', 'eviltxt.exe'],
    ['nul\u0000byte', 'nulbyte'],
    ['tab\tand\nnewline\u001b[31m', 'tabandnewline[31m'],
    ['CON', '_CON'],
    ['lpt1.txt', '_lpt1.txt'],
    ['what?<>|*".txt', 'what______.txt'],
  ];
  for (const [input, expected] of cases) t.equal(sanitizeFileName(input), expected, JSON.stringify(input));
  const long = sanitizeFileName('é'.repeat(300) + '.tar.gz');
  t.ok(Buffer.byteLength(long) <= 200, 'at most 200 bytes');
  t.ok(long.endsWith('.gz'), 'keeps the extension');
  t.notOk(/[\ud800-\udfff]$/.test(long.slice(0, -3)), 'cut on a code point');
  t.equal(defaultDownloadsDir({ XDG_DOWNLOAD_DIR: '/data/dl' }), '/data/dl/tessera');
});

async function write(sink: IncomingSink, bytes: Uint8Array, from = sink.offset): Promise<void> {
  for (let o = from; o < bytes.length; o += 7) await sink.write(o, bytes.subarray(o, Math.min(bytes.length, o + 7)));
}

t.test('a file is saved only when its SHA-256 matches; a partial file resumes; a taken name is never overwritten', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tessera-dl-')), 'dl');
  const folder = new DownloadFolder(dir);
  const bytes = new TextEncoder().encode('hello, this is the file content\n');
  const offer = { id: 1, name: 'notes.txt', size: bytes.length, sha256: sha(bytes) };
  const first = await folder.open(offer);
  if (typeof first === 'string') throw new Error(first);
  t.equal(first.offset, 0);
  t.equal(await folder.open(offer), 'busy', 'the same file twice at once is busy');
  await first.write(0, bytes.subarray(0, 10));
  await first.abort('cancelled');
  t.equal(statSync(folder.partPath(offer)).mode & 0o777, 0o600, 'the partial file is 0600');
  const again = await folder.open(offer);
  if (typeof again === 'string') throw new Error(again);
  t.equal(again.offset, 10, 'resumes after the bytes kept');
  await write(again, bytes);
  const path = await again.finish();
  t.equal(path, join(dir, 'notes.txt'));
  t.same(readFileSync(join(dir, 'notes.txt')), Buffer.from(bytes));
  t.equal(statSync(join(dir, 'notes.txt')).mode & 0o111, 0, 'not executable');
  t.notOk(existsSync(folder.partPath(offer)));
  // Same name again: "notes (1).txt".
  const third = await folder.open(offer);
  if (typeof third === 'string') throw new Error(third);
  await write(third, bytes);
  t.equal(await third.finish(), join(dir, 'notes (1).txt'));
  // A mismatch: nothing saved, the partial file is gone.
  const wrong = await folder.open({ ...offer, id: 2, name: 'wrong.txt', sha256: sha(new Uint8Array(1)) });
  if (typeof wrong === 'string') throw new Error(wrong);
  await write(wrong, bytes);
  t.equal(await wrong.finish(), false, 'integrity: the hash does not match');
  t.same(readdirSync(dir).sort(), ['notes (1).txt', 'notes.txt']);
});

t.test('a partial file planted as a symbolic link is refused, and so is a saved name that is a link', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-dl-'));
  const dir = join(root, 'dl');
  mkdirSync(dir);
  const bytes = new Uint8Array([1, 2, 3]);
  const offer = { id: 1, name: 'x.bin', size: 3, sha256: sha(bytes) };
  const folder = new DownloadFolder(dir);
  writeFileSync(join(root, 'target'), 'keep');
  symlinkSync(join(root, 'target'), folder.partPath(offer));
  await t.rejects(folder.open(offer), { code: 'TESSERA_ERR_IO' }, 'never written through a link');
  t.equal(readFileSync(join(root, 'target'), 'utf8'), 'keep');
  // A link where the saved name would go: the file takes the next name.
  const bytes2 = new Uint8Array([4, 5, 6]);
  const other = { id: 2, name: 'y.bin', size: 3, sha256: sha(bytes2) };
  symlinkSync(join(root, 'target'), join(dir, 'y.bin'));
  const sink = await folder.open(other);
  if (typeof sink === 'string') throw new Error(sink);
  await sink.write(0, bytes2);
  t.equal(await sink.finish(), join(dir, 'y (1).bin'));
  t.equal(readFileSync(join(root, 'target'), 'utf8'), 'keep');
});

t.test('an outgoing file is read with its size and SHA-256; a folder is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-out-'));
  const bytes = new Uint8Array(300_000).map((_, i) => i & 0xff);
  writeFileSync(join(dir, 'data.bin'), bytes);
  const f = await openOutgoingFile(join(dir, 'data.bin'));
  t.equal(f.name, 'data.bin');
  t.equal(f.size, bytes.length);
  t.same(f.sha256, sha(bytes));
  t.same(await f.read(299_990, 10), bytes.subarray(299_990));
  await f.close?.();
  await t.rejects(openOutgoingFile(dir), { code: 'TESSERA_ERR_IO' });
});
