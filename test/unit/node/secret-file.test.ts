import t from 'tap';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSecretFile } from '../../../src/node/secret-file.js';
import { Host, TesseraError, VirtualScreen } from '../../../src/index.js';

const posix = process.platform !== 'win32';
const root = mkdtempSync(join(tmpdir(), 'tessera-secret-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const dir = join(root, String(++n));
  mkdirSync(dir);
  return dir;
};
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.tmp-'));

t.test('writes the content with mode 0600 whatever the umask', { skip: posix ? false : 'POSIX modes' }, async (t) => {
  const dir = fresh();
  const path = join(dir, 'a.tessera');
  const old = process.umask(0o277);
  try {
    writeSecretFile(path, 'secret text\n');
  } finally {
    process.umask(old);
  }
  t.equal(readFileSync(path, 'utf8'), 'secret text\n');
  t.equal(statSync(path).mode & 0o777, 0o600);
  writeSecretFile(join(dir, 'b.bin'), new Uint8Array([1, 2, 3]));
  t.same([...readFileSync(join(dir, 'b.bin'))], [1, 2, 3], 'bytes are written as they are');
  t.same(leftovers(dir), [], 'no temp file left');
});

t.test('an existing 0644 file ends 0600, replaced rather than overwritten in place', { skip: posix ? false : 'POSIX modes' }, async (t) => {
  const dir = fresh();
  const path = join(dir, 'inv.tessera');
  writeFileSync(path, 'old content, longer than the new one', { mode: 0o644 });
  t.equal(statSync(path).mode & 0o777, 0o644);
  const before = join(dir, 'hard-link-to-old');
  linkSync(path, before);
  writeSecretFile(path, 'new');
  t.equal(readFileSync(path, 'utf8'), 'new', 'no tail of the old content');
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(readFileSync(before, 'utf8'), 'old content, longer than the new one', 'a new file was renamed into place (a reader sees old or new, never a mix)');
  t.same(leftovers(dir), []);
});

t.test('a symbolic link at the path is refused and what it points to is untouched', { skip: posix ? false : 'symbolic links' }, async (t) => {
  const dir = fresh();
  const target = join(dir, 'victim');
  writeFileSync(target, 'precious', { mode: 0o644 });
  const link = join(dir, 'inv.tessera');
  symlinkSync(target, link);
  const err = t.throws(() => writeSecretFile(link, 'secret')) as TesseraError;
  t.ok(err instanceof TesseraError);
  t.equal(err.code, 'TESSERA_ERR_IO');
  t.match(err.message, /refusing to write .*inv\.tessera: it is a symbolic link/);
  t.equal(readFileSync(target, 'utf8'), 'precious', 'the target keeps its content');
  t.equal(statSync(target).mode & 0o777, 0o644, 'and its mode');
  t.ok(lstatSync(link).isSymbolicLink(), 'the link is left as it was');

  const dangling = join(dir, 'dangling.tessera');
  const nowhere = join(dir, 'would-be-created');
  symlinkSync(nowhere, dangling);
  t.throws(() => writeSecretFile(dangling, 'secret'), { code: 'TESSERA_ERR_IO' }, 'a dangling link too');
  t.notOk(existsSync(nowhere), 'nothing was created where it points');
  t.same(leftovers(dir), []);
});

t.test('a failed write says which file and why, and leaves no temp file', async (t) => {
  const dir = fresh();
  t.throws(() => writeSecretFile(join(dir, 'missing', 'inv.tessera'), 'x'), { code: 'TESSERA_ERR_IO', message: /could not write .*inv\.tessera \(ENOENT\)/ });
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  const err = t.throws(() => writeSecretFile(folder, 'x')) as TesseraError;
  t.equal(err.code, 'TESSERA_ERR_IO');
  t.match(err.message, /could not write .*a-folder \((EISDIR|ENOTEMPTY|EEXIST|EPERM)\)/);
  t.same(leftovers(dir), [], 'the temp file was removed');
});

t.test('HostInvitation.toFile writes through writeSecretFile', async (t) => {
  const dir = fresh();
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'view', name: 'h' });
  t.teardown(() => host.close());
  const inv = await host.createInvitation({ expires: '10m' });
  const path = join(dir, 'help.tessera');
  writeFileSync(path, 'stale', { mode: 0o644 });
  inv.toFile(path);
  t.equal(readFileSync(path, 'utf8'), inv.toString());
  if (posix) {
    t.equal(statSync(path).mode & 0o777, 0o600, 'an existing 0644 file ends 0600');
    const link = join(dir, 'link.tessera');
    symlinkSync(path, link);
    t.throws(() => inv.toFile(link), { code: 'TESSERA_ERR_IO', message: /symbolic link/ });
  }
});
