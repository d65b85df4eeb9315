import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { toHex } from '../../../src/core/index.js';
import { toBase64, toBase64Url, auditEvent } from '../../../src/handshake/index.js';
import { FileTicketStore, AuditLog, loadOrCreateHostKey, issueInvitation, loadInvitation, readInvitationFile } from '../../../src/node/index.js';

const posix = process.platform !== 'win32';

t.test('tickets persist across a restart, list, revoke, record use and prune', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'tessera-store-')), 'state');
  const key = loadOrCreateHostKey(dir);
  const store = new FileTicketStore(dir);
  const { invitation, ticket } = issueInvitation({ hostKey: key, store, addresses: ['127.0.0.1:1'], expires: { value: 1, units: 'hours' }, name: 'h', password: 'pw' });
  t.same(loadOrCreateHostKey(dir).publicKey, key.publicKey, 'host key is stable');
  if (posix) {
    t.equal(statSync(dir).mode & 0o777, 0o700);
    t.equal(statSync(store.path).mode & 0o777, 0o600);
    t.equal(statSync(join(dir, 'host-key.json')).mode & 0o777, 0o600);
  }
  const again = new FileTicketStore(dir);
  t.same(again.get(ticket.id)?.verifier, ticket.verifier);
  t.same(again.get(ticket.id)?.passwordSalt, invitation.passwordSalt);
  again.recordUse(ticket.id, 5);
  t.equal(store.get(ticket.id)?.uses, 1, 'another instance sees the change');
  t.equal(store.revoke(ticket.id), true);
  t.equal(again.get(ticket.id)?.revoked, true);
  t.equal(store.revoke('0'.repeat(32)), false);
  t.equal(again.list().length, 1);
  t.equal(again.prune(invitation.expiresMs + 1), 1);
  t.equal(store.list().length, 0);
  const file = readFileSync(store.path, 'utf8');
  for (const s of [toHex(invitation.secret), toBase64(invitation.secret), toBase64Url(invitation.secret)]) t.notOk(file.includes(s));
  t.same(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temp files left');
  t.notOk(inspect(key).includes(toBase64(key.secretKey)));
});

t.test('a malformed store file is a ConfigError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-store-'));
  writeFileSync(join(dir, 'tickets.json'), '{"version":1,"tickets":[{"id":"zz"}]}');
  t.throws(() => new FileTicketStore(dir), { code: 'TESSERA_ERR_INVALID_CONFIG' });
  writeFileSync(join(dir, 'tickets.json'), 'nope');
  t.throws(() => new FileTicketStore(dir), { code: 'TESSERA_ERR_INVALID_CONFIG' });
});

t.test('audit log appends JSON lines with mode 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
  const log = new AuditLog(dir);
  log.append(auditEvent(0, { decision: 'refused', code: 'BAD_PROOF', peer: '1.2.3.4:5', ticketId: 'ab' }));
  log.append({ ...auditEvent(1, { decision: 'accepted', mode: 'view' }), secret: 'leak' } as never);
  const events = log.read();
  t.equal(events.length, 2);
  t.equal(events[0]!.code, 'BAD_PROOF');
  t.notOk(readFileSync(log.path, 'utf8').includes('leak'), 'only AuditEvent fields are written');
  if (posix) t.equal(statSync(log.path).mode & 0o777, 0o600);
});

t.test('invitation files are read by path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-inv-'));
  const key = loadOrCreateHostKey(dir);
  const { invitation } = issueInvitation({ hostKey: key, store: new FileTicketStore(dir), addresses: ['h.example'], expires: { value: 5, units: 'minutes' }, name: 'n' });
  const path = join(dir, 'help.tessera');
  writeFileSync(path, invitation.toText());
  t.same(readInvitationFile(path).toBinary(), invitation.toBinary());
  t.same(loadInvitation(path).toBinary(), invitation.toBinary());
  t.same(loadInvitation(invitation.toUrl()).toBinary(), invitation.toBinary());
  t.throws(() => loadInvitation(join(dir, 'missing.tessera')), { code: 'TESSERA_ERR_INVALID_INVITATION' });
  t.throws(() => readInvitationFile(path, { now: invitation.expiresMs + 1 }), { code: 'TESSERA_ERR_INVITATION_EXPIRED' });
});
