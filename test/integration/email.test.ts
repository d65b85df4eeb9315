// Invitations by email over a real SMTP server on loopback: both methods deliver, what arrives reads back as
// the same invitation, a helper connects using only what arrived, failures are clear and revoke nothing,
// and the password never travels by email.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { tmpdir } from 'node:os';
import { simpleParser } from 'mailparser';
import { Host, Helper, VirtualScreen, ErrorCode, AbortError, type HostInvitation } from '../../src/index.js';
import { toBase64Url } from '../../src/handshake/crypto.js';
import { EmailError, INVITATION_FILENAME, INVITATION_MIME_TYPE, loadInvitationAny, readInvitationFromEml, sendInvitation, type EmailMethod } from '../../src/node/email.js';
import { startSmtp, type TestSmtp } from './email-smtp-server.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-email-'));
const PASSWORD = 'Tr0ub4dor&3-correct-horse';

async function setup(t: { teardown(fn: () => unknown): void }, opts: { password?: string } = {}) {
  const screen = new VirtualScreen({ width: 320, height: 240, now: () => Date.UTC(2026, 10, 25, 10, 0, 0) });
  const host = new Host({ source: screen, sink: screen, consent: () => 'control', name: 'test-host' });
  await host.listen({ port: 0 });
  t.teardown(() => host.close());
  const invitation = await host.createInvitation({ mode: 'control', expires: '2h', ...(opts.password ? { password: opts.password } : {}) });
  return { host, invitation };
}

async function smtp(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof startSmtp>[0] = {}): Promise<TestSmtp> {
  const server = await startSmtp(options);
  t.teardown(() => server.close());
  return server;
}

/** Connects a helper with only `target` and waits for its first frame. */
async function connectsAndSees(target: Parameters<typeof Helper.connect>[0], password?: string): Promise<boolean> {
  const helper = await Helper.connect(target, password === undefined ? {} : { password });
  try {
    const fb = await helper.waitForFrame(() => true);
    return fb.width === 320 && fb.height === 240;
  } finally {
    helper.close();
  }
}

function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => undefined, (err: unknown) => err);
}

for (const method of ['mailto', 'attachment'] as const satisfies readonly EmailMethod[]) {
  t.test(`the ${method} method delivers an invitation a helper can use from the saved email alone`, async (t) => {
    const { invitation } = await setup(t);
    const server = await smtp(t);
    const sent = await sendInvitation(invitation, { to: 'helper@example.test', from: 'host@example.test', smtp: server.url, method, note: 'My printer is stuck again, thanks!' });
    t.equal(sent.method, method);
    t.equal(sent.server, `127.0.0.1:${server.port}`);
    t.same(sent.accepted, ['helper@example.test']);
    t.same(sent.rejected, []);
    t.equal(server.messages.length, 1);
    const received = server.messages[0]!;
    t.same(received.to, ['helper@example.test']);
    t.equal(received.from, 'host@example.test');

    const mail = await simpleParser(received.raw);
    t.match(mail.subject, /invitation from test-host/);
    t.match(mail.text, /My printer is stuck again/);
    t.match(mail.text, /expires in 2 hours, at \d\d:\d\d UTC on \d{1,2} [A-Z][a-z]+ \d{4}/);
    t.match(mail.html, /expires in 2 hours/);
    if (method === 'mailto') {
      t.ok(mail.text!.includes(`tessera connect '${invitation.toURL()}'`), 'the text body holds the command with the link');
      t.ok(String(mail.html).includes(`href="${invitation.toURL()}"`), 'the html body links to the invitation');
      t.equal(mail.attachments.length, 0);
    } else {
      t.notOk(mail.text!.includes('tessera://'), 'the attachment method carries no link in the body');
      t.equal(mail.attachments.length, 1);
      const a = mail.attachments[0]!;
      t.equal(a.contentType, INVITATION_MIME_TYPE);
      t.equal(a.filename, INVITATION_FILENAME);
      t.equal(a.content.toString('utf8'), invitation.toString());
      t.match(mail.text, /tessera connect invitation\.tessera/);
    }

    const emlPath = join(dir, `${method}-${invitation.id}.eml`);
    writeFileSync(emlPath, received.raw);
    const back = await readInvitationFromEml(emlPath);
    t.equal(back.ticketIdHex, invitation.id, 'same ticket id');
    t.equal(toBase64Url(back.hostKey), toBase64Url(invitation.invitation.hostKey), 'same host key');
    t.equal(back.expiresMs, invitation.invitation.expiresMs, 'same expiry');
    t.equal(back.toText(), invitation.toString(), 'the whole invitation is the same');
    t.ok(await connectsAndSees(back), 'the helper connects and gets a frame');
    t.ok(await connectsAndSees(await loadInvitationAny(emlPath)), 'loadInvitationAny reads the .eml path too');
  });
}

t.test('the password never appears in a sent message, and the message says it comes another way', async (t) => {
  const { invitation } = await setup(t, { password: PASSWORD });
  const server = await smtp(t);
  for (const method of ['mailto', 'attachment'] as const) {
    await sendInvitation(invitation, { to: 'helper@example.test', from: 'host@example.test', smtp: server.url, method });
  }
  t.equal(server.messages.length, 2);
  for (const m of server.messages) {
    const raw = m.raw.toString('latin1');
    const mail = await simpleParser(m.raw);
    const decoded = [mail.text ?? '', String(mail.html), ...mail.attachments.map((a) => a.content.toString('utf8'))].join('\n');
    for (const form of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), encodeURIComponent(PASSWORD)]) {
      t.notOk(raw.includes(form), 'not in the raw message');
      t.notOk(decoded.includes(form), 'not in any decoded part');
    }
    t.match(mail.text, /also need a password/);
    const eml = join(dir, `pw-${Math.random().toString(36).slice(2)}.eml`);
    writeFileSync(eml, m.raw);
    const back = await readInvitationFromEml(eml);
    t.equal(back.passwordRequired, true);
    t.ok(await connectsAndSees(back, PASSWORD), 'with the password given another way, the helper connects');
  }
});

t.test('a server that refuses the login gives one clear sentence, and the invitation still works by file', async (t) => {
  const { host, invitation } = await setup(t);
  const server = await smtp(t, {
    authOptional: false,
    onAuth(_auth, _session, callback) {
      callback(new Error('5.7.8 authentication credentials invalid'));
    },
  });
  const err = await errorOf(sendInvitation(invitation, { to: 'helper@example.test', from: 'host@example.test', smtp: server.url, auth: { user: 'alice', pass: 's3cret-smtp-pass' } }));
  t.type(err, EmailError);
  const e = err as EmailError;
  t.equal(e.code, ErrorCode.EmailFailed);
  t.equal(e.field, 'auth');
  t.match(e.message, new RegExp(`^the mail server at 127\\.0\\.0\\.1:${server.port} refused the login: .*authentication credentials invalid`));
  t.notOk(e.message.includes('s3cret-smtp-pass'), 'no smtp password in the message');
  const shown = inspect(e, { depth: 10 });
  for (const form of ['s3cret-smtp-pass', Buffer.from('\0alice\0s3cret-smtp-pass').toString('base64'), Buffer.from('s3cret-smtp-pass').toString('base64')]) {
    t.notOk(shown.includes(form), 'no smtp password in the inspected error or its cause');
  }
  t.equal(server.messages.length, 0);

  t.equal(host.listInvitations().find((r) => r.id === invitation.id)?.revoked, false, 'the invitation is not revoked');
  const path = join(dir, 'after-auth-failure.tessera');
  invitation.toFile(path);
  t.ok(await connectsAndSees(path), 'the helper connects with the file');
});

t.test('credentials in the smtp url log in', async (t) => {
  const { invitation } = await setup(t);
  const server = await smtp(t, { authOptional: false });
  const sent = await sendInvitation(invitation, { to: 'helper@example.test', from: 'host@example.test', smtp: `smtp://bob:p%40ss@127.0.0.1:${server.port}` });
  t.same(server.logins, ['bob']);
  t.equal(sent.method, 'mailto', 'the default method is mailto');
  t.equal(server.messages.length, 1);
});

t.test('the policy chooses the method when none is given', async (t) => {
  const { invitation } = await setup(t);
  const server = await smtp(t);
  const policy = { solicited: { enabled: true, permit: 'control', maxTicketTime: { value: 6, units: 'hours' }, emailMethod: 'attachment', maxUses: 1 }, offer: { enabled: false, permit: 'view', helpers: [] } } as const;
  const sent = await sendInvitation(invitation.invitation, { to: 'helper@example.test', from: 'host@example.test', smtp: server.url, policy });
  t.equal(sent.method, 'attachment');
  const mail = await simpleParser(server.messages[0]!.raw);
  t.equal(mail.attachments[0]?.contentType, INVITATION_MIME_TYPE);
});

t.test('a refused recipient, a refused connection, missing STARTTLS and a silent server are clear errors', async (t) => {
  const { invitation } = await setup(t);
  const base = { from: 'host@example.test' };

  const rcpt = await smtp(t, {
    onRcptTo(_address, _session, callback) {
      callback(Object.assign(new Error('5.1.1 no such mailbox'), { responseCode: 550 }));
    },
  });
  const e1 = (await errorOf(sendInvitation(invitation, { ...base, to: 'nobody@example.test', smtp: rcpt.url }))) as EmailError;
  t.equal(e1.code, ErrorCode.EmailFailed);
  t.equal(e1.field, 'recipient');
  t.match(e1.message, new RegExp(`^the mail server at 127\\.0\\.0\\.1:${rcpt.port} refused the recipient: .*no such mailbox`));

  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const e2 = (await errorOf(sendInvitation(invitation, { ...base, to: 'helper@example.test', smtp: `smtp://127.0.0.1:${deadPort}` }))) as EmailError;
  t.equal(e2.code, ErrorCode.EmailFailed);
  t.equal(e2.field, 'connection');
  t.equal(e2.message, `the mail server at 127.0.0.1:${deadPort} refused the connection`);

  const plain = await smtp(t);
  const e3 = (await errorOf(sendInvitation(invitation, { ...base, to: 'helper@example.test', smtp: plain.url, requireTLS: true }))) as EmailError;
  t.equal(e3.code, ErrorCode.EmailFailed);
  t.equal(e3.field, 'tls');
  t.match(e3.message, /does not offer STARTTLS/);
  t.equal(plain.messages.length, 0, 'nothing was sent in the clear');

  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => {
    // Accepts and never greets.
    sockets.push(socket);
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const silentPort = (silent.address() as AddressInfo).port;
  const e4 = (await errorOf(sendInvitation(invitation, { ...base, to: 'helper@example.test', smtp: `smtp://127.0.0.1:${silentPort}`, timeouts: { greetingMs: 150 } }))) as EmailError;
  t.equal(e4.code, ErrorCode.EmailFailed);
  t.equal(e4.field, 'timeout');
  t.match(e4.message, new RegExp(`^the mail server at 127\\.0\\.0\\.1:${silentPort} did not answer in time`));

  const ac = new AbortController();
  const pending = errorOf(sendInvitation(invitation, { ...base, to: 'helper@example.test', smtp: `smtp://127.0.0.1:${silentPort}`, signal: ac.signal }));
  setTimeout(() => ac.abort(), 20);
  t.type(await pending, AbortError, 'an abort rejects with AbortError');

  const path = join(dir, 'after-errors.tessera');
  (invitation as HostInvitation).toFile(path);
  t.ok(await connectsAndSees(path), 'the invitation still works after every failure');
});

t.test('bad options are ConfigErrors before any connection', async (t) => {
  const { invitation } = await setup(t);
  for (const [smtpUrl, to] of [['http://127.0.0.1:25', 'a@b.test'], ['smtp://127.0.0.1:25/path', 'a@b.test'], ['smtp://127.0.0.1:25', 'not-an-address'], ['smtp://127.0.0.1:25', 'a@b.test\r\nBcc: x@y.test']]) {
    const err = (await errorOf(sendInvitation(invitation, { to: to!, from: 'host@example.test', smtp: smtpUrl! }))) as { code?: string };
    t.equal(err.code, ErrorCode.InvalidConfig, `${JSON.stringify(smtpUrl)} to ${JSON.stringify(to)}`);
  }
  const long = (await errorOf(sendInvitation(invitation, { to: 'a@b.test', smtp: 'smtp://127.0.0.1:25', note: 'x'.repeat(5000) }))) as { code?: string };
  t.equal(long.code, ErrorCode.InvalidConfig);
});
