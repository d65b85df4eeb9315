/**
 * File transfer over TCP (spec/transfer.md): helper → host and host → helper, the host user's answer, policy
 * limits, hostile names, name collisions, resuming after a reconnect, and the audit log.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Host, Helper, VirtualScreen, openOutgoingFile, parsePolicy, type AuditEvent, type HostSessionHandle, type HostTransferOptions, type TransferResult } from '../../src/index.js';

function tmp(_t: { teardown(fn: () => unknown): void }): string {
  return mkdtempSync(join(tmpdir(), 'tessera-transfer-'));
}

async function setup(t: { teardown(fn: () => unknown): void }, opts: { transfer?: HostTransferOptions; policy?: unknown } = {}) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: () => 0 });
  const downloads = join(tmp(t), 'downloads');
  const audit: AuditEvent[] = [];
  const host = new Host({
    source: screen,
    consent: () => 'view',
    name: 'test-host',
    transfer: opts.transfer ?? { downloads, accept: 'auto' },
    ...(opts.policy ? { policy: parsePolicy(opts.policy) } : {}),
  });
  host.on('audit', (e: AuditEvent) => audit.push(e));
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'view', expires: '30m' });
  const sessions: HostSessionHandle[] = [];
  host.on('session', (s: HostSessionHandle) => sessions.push(s));
  return { host, invitation, downloads, audit, sessions };
}

function file(t: { teardown(fn: () => unknown): void }, name: string, bytes: Uint8Array): string {
  const dir = tmp(t);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('a helper sends a file over TCP; the host saves it, checked, never executable, and audits it', async (t) => {
  const { invitation, downloads, audit } = await setup(t);
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  t.ok(helper.canTransfer, 'the host offered transfer and the helper took it');
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  const progress: number[] = [];
  helper.on('transfer-progress', (p: { bytes: number }) => progress.push(p.bytes));
  const result = await helper.sendFile(file(t, 'report.pdf', bytes));
  t.match(result, { ok: true, direction: 'out', name: 'report.pdf', size: bytes.length, bytes: bytes.length, resumedFrom: 0 });
  t.ok(result.bytesPerSecond > 0, 'a rate');
  t.ok(progress.length > 1 && progress.at(-1) === bytes.length, 'progress up to the size');
  const saved = join(downloads, 'report.pdf');
  t.equal(sha(readFileSync(saved)), sha(bytes), 'the saved file is the sent file');
  t.equal(statSync(saved).mode & 0o111, 0, 'no executable bit');
  t.same(readdirSync(downloads), ['report.pdf'], 'no partial file left');
  await new Promise((r) => setTimeout(r, 20));
  const decisions = audit.filter((e) => e.file).map((e) => [e.decision, e.file!.direction, e.file!.sha256]);
  t.same(decisions, [
    ['file-offered', 'in', sha(bytes)],
    ['file-accepted', 'in', sha(bytes)],
    ['file-saved', 'in', sha(bytes)],
  ]);
  t.equal(audit.find((e) => e.decision === 'file-saved')!.file!.path, saved);
});

t.test('the host user sends a file to the helper the same way', async (t) => {
  const { invitation, sessions, audit } = await setup(t);
  const helperDownloads = join(tmp(t), 'helper-downloads');
  const helper = await Helper.connect(invitation.toURL(), { downloads: helperDownloads, acceptFiles: 'auto' });
  t.teardown(() => helper.close());
  const received = new Promise<TransferResult>((resolve) => helper.on('transfer', resolve));
  const bytes = randomBytes(200_000);
  await new Promise((r) => setTimeout(r, 20));
  const result = await sessions[0]!.sendFile(file(t, 'notes.txt', bytes));
  t.match(result, { ok: true, direction: 'out' });
  const got = await received;
  t.match(got, { ok: true, direction: 'in', path: join(helperDownloads, 'notes.txt') });
  t.equal(sha(readFileSync(join(helperDownloads, 'notes.txt'))), sha(bytes));
  t.same(audit.filter((e) => e.file).map((e) => `${e.decision}:${e.file!.direction}`), ['file-offered:out', 'file-saved:out']);
});

t.test('a declined file, one over the policy limit, or one with transfer off is refused with its code', async (t) => {
  const asked: string[] = [];
  const downloads = join(tmp(t), 'd');
  const { invitation, audit } = await setup(t, {
    policy: { transfer: { maxBytes: 1000 } },
    transfer: { downloads, accept: (req) => (asked.push(req.savedName), false) },
  });
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  t.match(await helper.sendFile(file(t, 'a.bin', randomBytes(10))), { ok: false, accepted: false, code: 'declined', byPeer: true });
  t.match(await helper.sendFile(file(t, 'b.bin', randomBytes(1001))), { ok: false, code: 'too-large' });
  t.same(asked, ['a.bin'], 'the user was asked only about the file policy allows');
  t.same(audit.filter((e) => e.decision === 'file-refused').map((e) => e.code), ['declined', 'too-large']);
  t.notOk(existsSync(downloads) && readdirSync(downloads).length, 'nothing saved');
  // A helper without a downloads folder refuses what the host sends.
  const host2 = await setup(t, { policy: { transfer: { directions: 'to-host' } } });
  const h2 = await Helper.connect(host2.invitation.toURL());
  t.teardown(() => h2.close());
  await new Promise((r) => setTimeout(r, 20));
  await t.rejects(host2.sessions[0]!.sendFile(file(t, 'c.bin', randomBytes(5))), { code: 'TESSERA_ERR_TRANSFER_REFUSED' }, 'policy: to-host only');
});

t.test('hostile names stay inside the folder; a taken name gets " (1)"', async (t) => {
  const { invitation, downloads } = await setup(t);
  const helper = await Helper.connect(invitation.toURL());
  t.teardown(() => helper.close());
  const bytes = randomBytes(100);
  const path = file(t, 'x', bytes);
  // The offered name comes from the file's base name; a hostile peer can put anything there: use the connection's API.
  const hostile = ['../../etc/passwd', 'a/b\\c', 'evil\u202etxt.exe', '.', '', 'CON.txt'];
  const saved: string[] = [];
  for (const name of hostile) {
    const r = await sendNamed(helper, path, name);
    t.ok(r.ok, `sent ${JSON.stringify(name)}`);
  }
  for (const entry of readdirSync(downloads)) saved.push(entry);
  t.same(saved.sort(), ['_.._etc_passwd', 'a_b_c', 'eviltxt.exe', 'file', 'file (1)', '_CON.txt'].sort());
  await sendNamed(helper, path, 'a_b_c');
  t.ok(readdirSync(downloads).includes('a_b_c (1)'), 'never overwritten');
});

/** Sends `path` under another name, as a hostile helper could. */
async function sendNamed(helper: Helper, path: string, name: string): Promise<TransferResult> {
  const f = await openOutgoingFile(path);
  return helper.sendFile({ name, size: f.size, sha256: f.sha256, read: (o, l) => f.read(o, l), close: () => f.close?.() });
}

t.test('a transfer cut by a lost connection resumes from the bytes saved after the helper reconnects', async (t) => {
  const { invitation, downloads } = await setup(t);
  const bytes = randomBytes(24 * 1024 * 1024);
  const path = file(t, 'big.iso', bytes);
  const first = await Helper.connect(invitation.toURL());
  let cut = false;
  first.on('transfer-progress', (p: { bytes: number }) => {
    if (!cut && p.bytes >= 9 * 1024 * 1024) {
      cut = true;
      void first.close();
    }
  });
  const r1 = await first.sendFile(path);
  t.match(r1, { ok: false });
  await new Promise((r) => setTimeout(r, 100));
  const part = readdirSync(downloads).find((n) => n.endsWith('.part'));
  t.ok(part, 'the partial file is kept');
  t.ok(statSync(join(downloads, part!)).size > 0);
  const second = await Helper.connect(invitation.toURL());
  t.teardown(() => second.close());
  const r2 = await second.sendFile(path);
  t.match(r2, { ok: true });
  t.ok(r2.resumedFrom > 0, `resumed from ${r2.resumedFrom}`);
  t.ok(r2.bytes - r2.resumedFrom < bytes.length, 'only the rest was sent');
  t.equal(sha(readFileSync(join(downloads, 'big.iso'))), sha(bytes));
  t.notOk(readdirSync(downloads).some((n) => n.endsWith('.part')), 'the partial file is gone');
});
