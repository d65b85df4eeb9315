// Reading invitations from saved emails and from any form (loadInvitationAny), mailto: URIs, and the expiry in
// words. No SMTP here: messages are built with buildInvitationEml (nodemailer's stream transport) or by hand.
import t from 'tap';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../src/core/index.js';
import { createInvitation, dhKeyPair, readInvitation, InvitationError } from '../../src/handshake/index.js';
import { scryptKdf } from '../../src/node/crypto.js';
import {
  MAX_EML_BYTES,
  MAX_MAILTO_CHARS,
  buildInvitationEml,
  buildInvitationMessage,
  describeExpiry,
  loadInvitationAny,
  mailtoUri,
  readInvitationFromEml,
} from '../../src/node/email.js';

const NOW = Date.UTC(2026, 10, 25, 12, 5, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));
const hostKey = dhKeyPair(random(32)).publicKey;
const dir = mkdtempSync(join(tmpdir(), 'tessera-email-read-'));
const now = () => NOW;

function make(extra: Partial<Parameters<typeof createInvitation>[0]> = {}) {
  return createInvitation({ hostKey, addresses: ['192.0.2.7:4000', '[2001:db8::1]:5000'], expires: { value: 2, units: 'hours' }, name: "Alice's PC <home>", now, random, ...extra }).invitation;
}

async function rejects(p: Promise<unknown>, code: string): Promise<InvitationError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof InvitationError) || err.code !== code) throw new Error(`expected ${code}, got ${String(err)}`);
  return err;
}

t.test('describeExpiry states the expiry in words', async (t) => {
  const at = Date.UTC(2026, 10, 25, 14, 5, 0);
  t.equal(describeExpiry(at, at - 2 * 3600_000), 'expires in 2 hours, at 14:05 UTC on 25 November 2026');
  t.equal(describeExpiry(at, at - 90 * 60_000), 'expires in 1 hour 30 minutes, at 14:05 UTC on 25 November 2026');
  t.equal(describeExpiry(at, at - 60_000), 'expires in 1 minute, at 14:05 UTC on 25 November 2026');
  t.equal(describeExpiry(at, at - 10_000), 'expires in less than a minute, at 14:05 UTC on 25 November 2026');
  t.equal(describeExpiry(at, at - 26 * 3600_000), 'expires in 1 day 2 hours, at 14:05 UTC on 25 November 2026');
  t.equal(describeExpiry(at, at), 'expired at 14:05 UTC on 25 November 2026');
});

t.test('mailtoUri fills in subject and body with the link, well under 2,000 characters', async (t) => {
  const inv = make({ password: 'pw-never-in-mail', kdf: scryptKdf });
  const uri = mailtoUri(inv, { to: 'bob@example.com', note: 'Thanks for helping & see you soon', now });
  t.ok(uri.startsWith('mailto:bob@example.com?subject='));
  t.ok(uri.length < MAX_MAILTO_CHARS);
  t.notOk(/[\s"<>]/.test(uri), 'no raw whitespace, quotes or angle brackets');
  const query = new URLSearchParams(uri.slice(uri.indexOf('?') + 1));
  t.equal(query.get('subject'), 'Remote assistance invitation from Alice\'s PC <home>');
  const body = query.get('body')!;
  t.match(body, /Thanks for helping & see you soon/);
  t.match(body, /expires in 2 hours, at 14:05 UTC on 25 November 2026/);
  t.match(body, /also need a password/);
  t.notOk(uri.includes('pw-never-in-mail') || body.includes('pw-never-in-mail'));
  t.ok(body.includes('\r\n'), 'line breaks are CRLF (RFC 6068)');
  const link = /tessera:\/\/\S+?(?=')/.exec(body)![0];
  t.equal(readInvitation(link, { now }).toText(), inv.toText(), 'the link in the body is the invitation');
  t.ok(mailtoUri(inv).startsWith('mailto:?subject='), 'without a recipient the user picks one');
  const err = (() => { try { mailtoUri(inv, { note: 'x'.repeat(1500) }); return undefined; } catch (e) { return e as { code?: string; received?: number }; } })();
  t.equal(err?.code, ErrorCode.InvalidConfig, 'a note that makes the uri too long is refused');
  t.ok(err!.received! > MAX_MAILTO_CHARS);
});

t.test('the html body escapes the name and note', async (t) => {
  const m = buildInvitationMessage(make(), { note: '<script>alert(1)</script>', now });
  t.notOk(m.html.includes('<script>'));
  t.ok(m.html.includes('Alice&#39;s PC &lt;home&gt;'));
  t.equal(m.method, 'mailto');
});

t.test('readInvitationFromEml reads built messages of both methods, from a path or bytes', async (t) => {
  const inv = make();
  for (const method of ['mailto', 'attachment'] as const) {
    const eml = await buildInvitationEml(inv, { method, to: 'bob@example.com', now });
    t.equal((await readInvitationFromEml(eml, { now })).toText(), inv.toText(), `${method}: bytes`);
    const path = join(dir, `${method}.eml`);
    writeFileSync(path, eml);
    t.equal((await readInvitationFromEml(path, { now })).toText(), inv.toText(), `${method}: path`);
  }
});

t.test('links are found in forwarded text, in angle brackets, and in HTML-only messages', async (t) => {
  const inv = make();
  const link = inv.toUrl();
  const forwarded = `From: a@example.com\r\nTo: b@example.com\r\nSubject: Fwd: help\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n> Please connect: <${link}>.\r\n`;
  t.equal((await readInvitationFromEml(Buffer.from(forwarded), { now })).toText(), inv.toText());
  const htmlOnly = `From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p><a href="${link}">join</a></p>\r\n`;
  t.equal((await readInvitationFromEml(Buffer.from(htmlOnly), { now })).toText(), inv.toText());
});

t.test('a broken attachment falls back to a good link; clear errors otherwise', async (t) => {
  const inv = make();
  const boundary = 'b0undary';
  const withBoth = [
    'From: a@example.com', 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`, '',
    `--${boundary}`, 'Content-Type: text/plain', '', `link: ${inv.toUrl()}`,
    `--${boundary}`, 'Content-Type: application/x-tessera-invitation', 'Content-Disposition: attachment; filename="invitation.tessera"', '', 'tessera-invitation 1', 'name: broken',
    `--${boundary}--`, '',
  ].join('\r\n');
  t.equal((await readInvitationFromEml(Buffer.from(withBoth), { now })).toText(), inv.toText());

  const onlyBroken = withBoth.replace(`link: ${inv.toUrl()}`, 'no link here');
  const e1 = await rejects(readInvitationFromEml(Buffer.from(onlyBroken), { now }), ErrorCode.InvalidInvitation);
  t.match(e1.message, /\(in the attachment invitation\.tessera\)$/);

  const none = 'From: a@example.com\r\nSubject: hello\r\n\r\nJust saying hi.\r\n';
  const e2 = await rejects(readInvitationFromEml(Buffer.from(none), { now }), ErrorCode.InvalidInvitation);
  t.equal(e2.message, 'invalid invitation: the email holds no tessera invitation (no .tessera attachment and no tessera:// link)');

  await rejects(readInvitationFromEml(new Uint8Array(MAX_EML_BYTES + 1), { now }), ErrorCode.InvalidInvitation);
  const big = join(dir, 'big.eml');
  writeFileSync(big, Buffer.alloc(MAX_EML_BYTES + 1, 0x41));
  t.match((await rejects(readInvitationFromEml(big, { now }), ErrorCode.InvalidInvitation)).message, /larger than/);
  t.match((await rejects(readInvitationFromEml(join(dir, 'missing.eml'), { now }), ErrorCode.InvalidInvitation)).message, /ENOENT/);

  const eml = await buildInvitationEml(inv, { method: 'attachment', now });
  await rejects(readInvitationFromEml(eml, { now: inv.expiresMs }), ErrorCode.InvitationExpired);
});

t.test('loadInvitationAny takes a URL, text, .tessera path, .eml path, or a sniffed file', async (t) => {
  const inv = make();
  const same = async (input: string, what: string) => t.equal((await loadInvitationAny(input, { now })).toText(), inv.toText(), what);
  await same(inv.toUrl(), 'url');
  await same(inv.toText(), 'text');
  const tessera = join(dir, 'inv.tessera');
  writeFileSync(tessera, inv.toText());
  await same(tessera, '.tessera path');
  const eml = join(dir, 'inv.eml');
  writeFileSync(eml, await buildInvitationEml(inv, { method: 'attachment', now }));
  await same(eml, '.eml path');
  const emlNoExt = join(dir, 'saved-message');
  writeFileSync(emlNoExt, await buildInvitationEml(inv, { method: 'mailto', now }));
  await same(emlNoExt, 'email sniffed by its headers');
  const textNoExt = join(dir, 'invitation-file');
  writeFileSync(textNoExt, inv.toText());
  await same(textNoExt, 'text file sniffed by its first line');

  const fixtures = new URL('../fixtures/msrc/', import.meta.url);
  const msrc = join(dir, 'help.MsRcIncident');
  copyFileSync(new URL('ms-rai-type1.MsRcIncident', fixtures), msrc);
  t.match((await rejects(loadInvitationAny(msrc, { now }), ErrorCode.InvalidInvitation)).message, /Windows Remote Assistance invitation.*tessera inspect/);
  const msrcUtf16 = join(dir, 'ra-invitation');
  copyFileSync(new URL('variants/ms-rai-type2-utf16le-bom.MsRcIncident', fixtures), msrcUtf16);
  t.match((await rejects(loadInvitationAny(msrcUtf16, { now }), ErrorCode.InvalidInvitation)).message, /Windows Remote Assistance/);
  await rejects(loadInvitationAny(join(dir, 'nope'), { now }), ErrorCode.InvalidInvitation);
});
