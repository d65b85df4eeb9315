/**
 * FileTicketStore when tickets.json cannot be read: an error (TESSERA_ERR_IO), never an empty store. Running as root,
 * chmod does not stop reads, so most cases use what holds for root too: a folder where the file should be, the state
 * folder swapped for a regular file, the state folder gone; the chmod case runs as an unprivileged user (in a child
 * process when the tests run as root).
 */
import t, { type Test } from 'tap';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketStore, TesseraError } from '../../../src/index.js';
import type { TicketRecord } from '../../../src/handshake/ticket.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-tickets-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `state-${++n}`);

function record(i: number): TicketRecord {
  return {
    id: i.toString(16).padStart(32, '0'),
    verifier: new Uint8Array(32).fill(i),
    passwordVerifier: undefined,
    passwordSalt: undefined,
    mode: 'control',
    createdMs: 1_000,
    expiresMs: 10_000_000_000_000,
    revoked: false,
    uses: 0,
    lastUsedMs: undefined,
    name: 'h',
  };
}

/** Every operation of the store throws TESSERA_ERR_IO with a message matching `re`. */
function allFail(t: Test, store: FileTicketStore, re: RegExp): void {
  const ops: Array<[string, () => unknown]> = [
    ['get', () => store.get(record(1).id)],
    ['list', () => store.list()],
    ['add', () => store.add(record(9))],
    ['recordUse', () => store.recordUse(record(1).id, 5)],
    ['revoke', () => store.revoke(record(1).id)],
    ['prune', () => store.prune(0)],
  ];
  for (const [name, op] of ops) {
    let err: unknown;
    try {
      op();
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof TesseraError && err.code === 'TESSERA_ERR_IO', `${name} throws TESSERA_ERR_IO`);
    t.match((err as Error | undefined)?.message ?? '', re, `${name}: ${(err as Error | undefined)?.message}`);
  }
}

t.test('a missing tickets.json is an empty store', async (t) => {
  const store = new FileTicketStore(freshDir());
  t.same(store.list(), []);
  t.equal(store.get(record(1).id), undefined);
  store.add(record(1));
  t.equal(store.list().length, 1);
});

t.test('a folder where tickets.json should be: every operation says the file cannot be read', async (t) => {
  const dir = freshDir();
  const store = new FileTicketStore(dir);
  store.add(record(1));
  renameSync(join(dir, 'tickets.json'), join(dir, 'tickets.json.away'));
  mkdirSync(join(dir, 'tickets.json'));
  allFail(t, store, /could not read .*tickets\.json \(EISDIR\)/);
  t.throws(() => new FileTicketStore(dir), { code: 'TESSERA_ERR_IO' }, 'opening the store fails too');
  rmSync(join(dir, 'tickets.json'), { recursive: true });
  renameSync(join(dir, 'tickets.json.away'), join(dir, 'tickets.json'));
  t.same(store.list().map((r) => r.id), [record(1).id], 'back in place: nothing was lost or overwritten');
});

t.test('the state folder swapped for a regular file (ENOTDIR): an error, and the tickets are intact afterwards', async (t) => {
  const dir = freshDir();
  const store = new FileTicketStore(dir);
  store.add(record(1));
  store.add(record(2));
  renameSync(dir, `${dir}.away`);
  writeFileSync(dir, 'in the way');
  allFail(t, store, /could not read .*tickets\.json \(ENOTDIR\)/);
  rmSync(dir);
  renameSync(`${dir}.away`, dir);
  t.same(store.list().map((r) => r.id).sort(), [record(1).id, record(2).id].sort());
  t.equal(store.get(record(9).id), undefined, 'the add that failed left nothing behind');
});

t.test('the state folder gone: an error that says so, not an empty store', async (t) => {
  const dir = freshDir();
  const store = new FileTicketStore(dir);
  store.add(record(1));
  renameSync(dir, `${dir}.away`);
  allFail(t, store, /could not read .*tickets\.json: the state folder is not there \(ENOENT\)/);
  renameSync(`${dir}.away`, dir);
  t.equal(store.list().length, 1);
});

const isRoot = process.getuid?.() === 0;
t.test('a state folder without read and search permission (EACCES)', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, async (t) => {
  if (!isRoot) {
    const dir = freshDir();
    const store = new FileTicketStore(dir);
    store.add(record(1));
    chmodSync(dir, 0o000);
    t.teardown(() => chmodSync(dir, 0o700));
    allFail(t, store, /could not read .*tickets\.json \(EACCES\)/);
    chmodSync(dir, 0o700);
    t.equal(store.list().length, 1);
    return;
  }
  // Root reads through chmod 000, so the same steps run in a child process as the unprivileged user 65534.
  const base = mkdtempSync(join(tmpdir(), 'tessera-eacces-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  chmodSync(base, 0o755);
  const dir = join(base, 'state');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534);
  const storeModule = new URL('../../../src/node/ticket-store.ts', import.meta.url).pathname;
  const script = `
    import { chmodSync } from 'node:fs';
    const { FileTicketStore } = await import(${JSON.stringify(storeModule)});
    const dir = ${JSON.stringify(dir)};
    const store = new FileTicketStore(dir);
    store.add({ id: '0'.repeat(31) + '1', verifier: new Uint8Array(32), mode: 'view', createdMs: 1, expiresMs: 9e12, revoked: false, uses: 0 });
    chmodSync(dir, 0);
    const out = {};
    for (const op of ['list', 'get', 'add']) {
      try {
        op === 'list' ? store.list() : op === 'get' ? store.get('0'.repeat(32)) : store.add({ id: 'f'.repeat(32), verifier: new Uint8Array(32), mode: 'view', createdMs: 1, expiresMs: 9e12, revoked: false, uses: 0 });
        out[op] = 'no error';
      } catch (e) {
        out[op] = e.code + ' ' + e.message;
      }
    }
    chmodSync(dir, 0o700);
    out.after = store.list().map((r) => r.id);
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    t.plan(0, `could not run a child as user 65534: ${r.error?.message ?? r.stderr.slice(0, 300)}`);
    return;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  for (const op of ['list', 'get', 'add']) t.match(out[op], /^TESSERA_ERR_IO could not read .*tickets\.json \(EACCES\)$/, `${op}: ${out[op]}`);
  t.same(out.after, ['0'.repeat(31) + '1'], 'readable again: the ticket is there, the failed add left nothing');
});
