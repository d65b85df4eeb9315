/**
 * A state folder the host cannot write. Running as root, chmod does not stop writes, so the tests make the folder
 * unusable in ways that hold for root too:
 *   1. the folder's path runs through a regular file (mkdir fails with ENOTDIR), at start-up;
 *   2. at run time the folder is moved away and a regular file put at its path (every write fails with ENOTDIR);
 *   3. where the test may mount (root with CAP_SYS_ADMIN), a real read-only bind mount of the folder (EROFS);
 *      skipped elsewhere.
 * In each case the host says so with a TesseraError (TESSERA_ERR_IO, the path and the system code in the message),
 * never reports an invitation it did not store, and loses no ticket it had stored. While the folder cannot be read,
 * the ticket store is an error, not an empty store: a helper with a stored invitation is not told TICKET_UNKNOWN
 * (the handshake ends with TESSERA_ERR_IO in the audit) and is admitted again once the folder is back. A helper whose ticket was stored
 * before is still admitted while the folder is read-only (the failed use count is reported on 'error', not turned
 * into a refusal).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketStore, Helper, Host, TesseraError, VirtualScreen, type AuditEvent } from '../../src/index.js';

function makeHost(stateDir: string) {
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'view', stateDir, name: 'ro' });
  const errors: TesseraError[] = [];
  const audit: AuditEvent[] = [];
  host.on('error', (e: TesseraError) => errors.push(e));
  host.on('audit', (e: AuditEvent) => audit.push(e));
  return { host, errors, audit };
}

t.test('a state folder under a regular file: the host refuses to start, clearly', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-ro-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'file'), 'not a folder');
  const err = (() => {
    try {
      makeHost(join(root, 'file', 'state'));
      return undefined;
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof TesseraError, 'a TesseraError');
  t.equal((err as TesseraError).code, 'TESSERA_ERR_IO');
  t.match((err as TesseraError).message, /state folder could not be created \((ENOTDIR|EEXIST)\)/, `says what failed: ${(err as Error).message}`);
});

t.test('the folder becomes unusable while the host runs: clear errors, no ticket lost', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-ro-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'state');
  const { host, audit } = makeHost(dir);
  t.teardown(() => host.close());
  await host.listen({ port: 0 });
  const a = await host.createInvitation({ expires: '30m' });
  const b = await host.createInvitation({ expires: '30m', mode: 'view' });

  // The folder is moved away and a regular file takes its path.
  renameSync(dir, `${dir}.away`);
  writeFileSync(dir, 'in the way');
  const err = await host.createInvitation({ expires: '30m' }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof TesseraError && err.code === 'TESSERA_ERR_IO', 'creating an invitation fails with TESSERA_ERR_IO');
  // Reading the store fails first now (it used to read as empty, and then the write failed).
  t.match((err as Error).message, /could not read .*tickets\.json \(ENOTDIR\)/, `names the file and the cause: ${(err as Error).message}`);
  t.throws(() => host.revokeInvitation(a.id), { code: 'TESSERA_ERR_IO' }, 'revoking fails loudly too, rather than pretending');
  t.throws(() => host.listInvitations(), { code: 'TESSERA_ERR_IO', message: /could not read .*tickets\.json \(ENOTDIR\)/ }, 'listing says the store cannot be read, not "no invitations"');
  // Regression: the store used to look empty here, and a helper with a stored invitation was refused TICKET_UNKNOWN.
  const refused = await Helper.connect(a.toURL(), { timeoutMs: 5_000 }).then(
    async (h) => {
      await h.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  t.ok(refused instanceof TesseraError, 'the helper is not admitted while the tickets cannot be read');
  t.not((refused as { refusal?: string }).refusal, 'TICKET_UNKNOWN', `and is not told its invitation is unknown: ${(refused as Error).message}`);
  t.ok(audit.some((e) => e.decision === 'error' && e.code === 'TESSERA_ERR_IO'), 'the host audits the handshake as an I/O error');
  t.notOk(audit.some((e) => e.code === 'TICKET_UNKNOWN'), 'never as TICKET_UNKNOWN');

  // Back in place: every stored ticket is there, none half-written, and the failed one was never claimed.
  rmSync(dir);
  renameSync(`${dir}.away`, dir);
  t.same(host.listInvitations().map((r) => r.id).sort(), [a.id, b.id].sort(), 'the host lists both stored tickets');
  t.same(new FileTicketStore(dir).list().map((r) => [r.id, r.revoked]).sort(), [[a.id, false], [b.id, false]].sort(), 'the file holds both, unrevoked');
  const helper = await Helper.connect(a.toURL());
  await helper.waitForFrame(() => true);
  await helper.close();
  t.pass('a stored invitation still works');
});

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'tessera-mnt-'));
  try {
    execFileSync('mount', ['--bind', probe, probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

t.test('a read-only bind mount (EROFS): invitations fail clearly, stored ones keep working', { skip: canMount() ? false : 'needs root with mount rights' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ro-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { host, errors, audit } = makeHost(dir);
  t.teardown(() => host.close());
  await host.listen({ port: 0 });
  const stored = await host.createInvitation({ expires: '30m' });
  execFileSync('mount', ['--bind', dir, dir]);
  let mounted = true;
  const unmount = () => {
    if (mounted) execFileSync('umount', [dir]);
    mounted = false;
  };
  t.teardown(unmount);
  execFileSync('mount', ['-o', 'remount,ro,bind', dir]);

  const err = await host.createInvitation({ expires: '30m' }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof TesseraError && err.code === 'TESSERA_ERR_IO', 'creating an invitation fails with TESSERA_ERR_IO');
  t.match((err as Error).message, /could not write .*tickets\.json \(EROFS\)/, `the message says read-only: ${(err as Error).message}`);

  // Regression: the helper used to be refused as USER_DECLINED (and audited so) because its use could not be counted.
  const helper = await Helper.connect(stored.toURL());
  await helper.waitForFrame(() => true);
  t.pass('a helper with a stored ticket is admitted and served');
  t.ok(audit.some((e) => e.decision === 'accepted'), 'audited as accepted');
  t.notOk(audit.some((e) => e.code === 'USER_DECLINED'), 'never audited as declined by the user');
  t.ok(errors.some((e) => e.code === 'TESSERA_ERR_IO' && /tickets\.json \(EROFS\)/.test(e.message)), "the host reports the failed write on 'error'");
  await helper.close();

  unmount();
  t.same(new FileTicketStore(dir).list().map((r) => r.id), [stored.id], 'the stored ticket is intact after the folder is writable again');
});

t.test('a store that cannot count a use (any platform): the helper is admitted and the failure reported', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ro-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { host, errors, audit } = makeHost(dir);
  t.teardown(() => host.close());
  await host.listen({ port: 0 });
  const inv = await host.createInvitation({ expires: '30m' });
  // What a read-only folder does to FileTicketStore.recordUse, without needing a mount.
  (host.tickets as { recordUse: (id: string, now: number) => void }).recordUse = () => {
    throw new TesseraError('TESSERA_ERR_IO', `could not write ${join(dir, 'tickets.json')} (EROFS)`);
  };
  const helper = await Helper.connect(inv.toURL());
  await helper.waitForFrame(() => true);
  await helper.close();
  t.ok(audit.some((e) => e.decision === 'accepted') && !audit.some((e) => e.code === 'USER_DECLINED'), 'accepted, never audited as declined');
  t.ok(errors.some((e) => /EROFS/.test(e.message)), "reported on 'error'");
});
