/**
 * Invitations by email (README.md, "Invitations by email"), the two methods of the Windows Remote Assistance
 * policy `solicited.emailMethod`:
 * - `mailto`: a message whose body holds the `tessera://` link and how to use it;
 * - `attachment`: a message with the `.tessera` file attached (type application/x-tessera-invitation),
 *   the analogue of Windows RA's Simple MAPI attachment.
 * Sending goes through a real SMTP server with nodemailer; `mailtoUri` instead opens the user's own mail program.
 * `readInvitationFromEml` reads a saved message back (attachment first, else a link in the body), and
 * `loadInvitationAny` accepts a URL, the text, a `.tessera` path or a `.eml` path.
 *
 * No message ever holds the invitation password (the Invitation object does not know it); a message says that
 * a password is needed and that it comes another way. A failed send revokes nothing: the invitation stays valid.
 */
import { hostname } from 'node:os';
import { extname } from 'node:path';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { AbortError, ConfigError, ErrorCode, TesseraError, throwIfAborted, type Clock } from '../core/index.js';
import {
  Invitation,
  InvitationError,
  MAX_INVITATION_CHARS,
  readInvitation,
} from '../handshake/invitation.js';
import type { Policy } from '../handshake/policy.js';
import { relayViewerUrl } from '../handshake/relay.js';
import { toBase64Url } from '../handshake/crypto.js';
import { readInvitationFile } from './index.js';
import { readFileBounded } from './bounded-read.js';

/** How an invitation travels by email (policy `solicited.emailMethod`). */
/** nodemailer, loaded on first use: it is large, and most runs of the command send no email. */
async function loadNodemailer(): Promise<typeof import('nodemailer').default> {
  return (await import('nodemailer')).default;
}

export type EmailMethod = 'mailto' | 'attachment';

/** MIME type of an attached `.tessera` file. */
export const INVITATION_MIME_TYPE = 'application/x-tessera-invitation';
/** File name of the attached invitation. */
export const INVITATION_FILENAME = 'invitation.tessera';
/** Largest `.eml` file or buffer readInvitationFromEml accepts. */
export const MAX_EML_BYTES = 10 * 1024 * 1024;
/** Longest `mailto:` URI mailtoUri produces (mail programs and browsers cut near 2,000). */
export const MAX_MAILTO_CHARS = 1900;
/** Longest note accepted in a message. */
export const MAX_NOTE_CHARS = 2000;

const DEFAULT_TIMEOUTS = { connectionMs: 30_000, greetingMs: 30_000, socketMs: 60_000 } as const;
const LINK_RE = /tessera:\/\/[^\s<>"'`()]+/g;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** Error of sendInvitation: code TESSERA_ERR_EMAIL_FAILED, `field` one of connection, tls, auth, sender, recipient, timeout, message. */
export class EmailError extends TesseraError {}

/** SMTP timeouts in milliseconds (passed to nodemailer as connectionTimeout, greetingTimeout, socketTimeout). */
export interface SmtpTimeouts {
  /** Until the TCP (or TLS) connection is open; default 30 s. */
  readonly connectionMs?: number;
  /** Until the server's greeting after connecting; default 30 s. */
  readonly greetingMs?: number;
  /** Of inactivity on the socket; default 60 s. */
  readonly socketMs?: number;
}

/** What the message says; shared by sendInvitation, buildInvitationEml and mailtoUri. */
export interface InvitationMessageOptions {
  /** 'mailto' (the link in the body, default) or 'attachment' (the `.tessera` file attached). */
  readonly method?: EmailMethod;
  /** When `method` is not given, policy.solicited.emailMethod chooses it. */
  readonly policy?: Policy;
  /** A personal line from the host user, shown above the instructions (never put the password here). */
  readonly note?: string;
  /** Default "Remote assistance invitation from NAME". */
  readonly subject?: string;
  /** Clock for "expires in 2 hours" (default Date.now). */
  readonly now?: Clock;
  /**
   * A link a helper opens in a web browser with nothing installed: an http(s) viewer page with the invitation in the
   * fragment (never the path or query). Default: the relay's viewer (relayViewerUrl) when the invitation names a
   * relay; false: no browser link.
   */
  readonly viewerUrl?: string | false;
}

/** Options of sendInvitation. There is no password option: the password is given to the helper another way. */
export interface SendInvitationOptions extends InvitationMessageOptions {
  /** Recipient address(es). */
  readonly to: string | readonly string[];
  /** Sender address (default tessera@HOSTNAME); many servers require an address they accept. */
  readonly from?: string;
  /**
   * The mail server: `smtp://[user:pass@]HOST[:PORT]` (STARTTLS when offered, port 587 by default),
   * `smtps://…` (TLS from the start, port 465), or nodemailer SMTP transport options.
   */
  readonly smtp: string | SMTPTransportOptions;
  /** Refuse to send unless the server upgrades the connection with STARTTLS. */
  readonly requireTLS?: boolean;
  /** SMTP authentication. */
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly timeouts?: SmtpTimeouts;
  readonly signal?: AbortSignal;
}

/** What sendInvitation reports. */
export interface SentInvitation {
  readonly method: EmailMethod;
  /** "host:port" of the mail server. */
  readonly server: string;
  readonly messageId: string;
  /** Recipients the server accepted. */
  readonly accepted: readonly string[];
  /** Recipients the server refused (the message went to the others). */
  readonly rejected: readonly string[];
  /** The server's last reply. */
  readonly response: string;
}

/** The parts of an invitation message. */
export interface InvitationMessage {
  readonly method: EmailMethod;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The `.tessera` file (attachment method only). */
  readonly attachment: { readonly filename: string; readonly contentType: string; readonly content: string } | undefined;
}

/**
 * Sends an invitation by email through an SMTP server, by the mailto or the attachment method.
 * The invitation is not changed or revoked, whatever happens.
 * @throws {EmailError} TESSERA_ERR_EMAIL_FAILED when the server cannot be reached, refuses TLS, the login, the sender
 *   or every recipient, or times out; the message names the server ("the mail server at HOST:PORT refused the login: …")
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG for a bad smtp URL, address or note
 * @throws {AbortError} when `signal` aborts
 */
export async function sendInvitation(invitation: InvitationLike, options: SendInvitationOptions): Promise<SentInvitation> {
  throwIfAborted(options.signal);
  const inv = unwrap(invitation);
  const to = typeof options.to === 'string' ? [options.to] : [...options.to];
  if (to.length === 0 || to.length > 50) throw new ConfigError('email: give 1 to 50 recipients', { field: 'to' });
  for (const address of to) checkAddress(address, 'to');
  const from = options.from ?? `tessera@${hostname() || 'localhost'}`;
  checkAddress(from, 'from');
  const message = buildInvitationMessage(inv, options);
  const transportOptions = smtpOptions(options);
  const server = serverLabel(transportOptions);
  const transport = (await loadNodemailer()).createTransport(transportOptions);
  try {
    const info = await transport.sendMail({
      from,
      to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      ...(message.attachment ? { attachments: [{ ...message.attachment, contentDisposition: 'attachment' as const }] } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      method: message.method,
      server,
      messageId: info.messageId,
      accepted: info.accepted.map(String),
      rejected: info.rejected.map(String),
      response: oneLine(info.response),
    };
  } catch (err) {
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    throw emailError(err, server);
  } finally {
    transport.close();
  }
}

/**
 * Builds the subject, plain-text and HTML bodies, and (attachment method) the attached file of an invitation message.
 * @throws {ConfigError} when the note is too long
 */
export function buildInvitationMessage(invitation: InvitationLike, options: InvitationMessageOptions = {}): InvitationMessage {
  const inv = unwrap(invitation);
  const method = options.method ?? options.policy?.solicited.emailMethod ?? 'mailto';
  if (method !== 'mailto' && method !== 'attachment') throw new ConfigError('email: method must be mailto or attachment', { field: 'method' });
  const note = checkNote(options.note);
  const nowMs = (options.now ?? Date.now)();
  const subject = options.subject ?? `Remote assistance invitation from ${inv.name || 'a tessera host'}`;
  const who = inv.name || 'Someone';
  const expiry = describeExpiry(inv.expiresMs, nowMs);
  const can = inv.mode === 'control' ? 'see their screen and, if they allow it, control it' : 'see their screen (view only)';
  const password = inv.passwordRequired
    ? 'You will also need a password. The person who invited you will tell it to you another way (for example by phone); it is not in this email.'
    : undefined;
  const key = `Host key: ${toBase64Url(inv.hostKey)} (tessera checks it for you when it connects).`;
  const warning = 'Do not forward this email: until it expires, whoever has the invitation can ask to connect.';
  const intro = `${who} is asking for your help with their computer, using tessera remote assistance.`;
  const link = inv.toUrl();
  const viewer = viewerLink(inv, options.viewerUrl);

  const text: string[] = [intro, ''];
  const html: string[] = [`<p>${esc(intro)}</p>`];
  if (note) {
    text.push(note, '');
    html.push(`<p>${esc(note).replace(/\n/g, '<br>')}</p>`);
  }
  if (viewer !== undefined) {
    text.push('To help from your web browser, with nothing to install, open this link:', '', `  ${viewer}`, '', 'Or, with tessera installed:', '');
    html.push(
      '<p><b>To help from your web browser</b>, with nothing to install, open this link:</p>',
      `<p style="font-size:larger"><a href="${esc(viewer)}">Open the remote assistance viewer</a></p>`,
      `<p><small>${esc(viewer)}</small></p>`,
      '<p>Or, with tessera installed:</p>',
    );
  }
  if (method === 'mailto') {
    text.push('To connect, run:', '', `  tessera connect '${link}'`, '', 'or open this link in the tessera web viewer:', '', link, '');
    html.push(
      '<p>To connect, run:</p>',
      `<pre>tessera connect '${esc(link)}'</pre>`,
      `<p>or open this link in the tessera web viewer:<br><a href="${esc(link)}">${esc(link)}</a></p>`,
    );
  } else {
    text.push(
      `The invitation is attached as the file ${INVITATION_FILENAME}. To connect, save it and run:`,
      '',
      `  tessera connect ${INVITATION_FILENAME}`,
      '',
      'or save this whole email as a .eml file and run: tessera connect message.eml',
      `(You can also open ${INVITATION_FILENAME} in the tessera web viewer.)`,
      '',
    );
    html.push(
      `<p>The invitation is attached as the file <b>${INVITATION_FILENAME}</b>. To connect, save it and run:</p>`,
      `<pre>tessera connect ${INVITATION_FILENAME}</pre>`,
      '<p>or save this whole email as a .eml file and run: <code>tessera connect message.eml</code><br>',
      `(You can also open ${INVITATION_FILENAME} in the tessera web viewer.)</p>`,
    );
  }
  const facts = [`The invitation lets you ${can}.`, `It ${expiry}.`, ...(password ? [password] : []), key];
  text.push(...facts, '', warning, '');
  html.push(`<p>${facts.map(esc).join('<br>')}</p>`, `<p><small>${esc(warning)}</small></p>`);
  return {
    method,
    subject,
    text: text.join('\n'),
    html: `<!doctype html>\n<html><body>\n${html.join('\n')}\n</body></html>\n`,
    attachment: method === 'attachment' ? { filename: INVITATION_FILENAME, contentType: INVITATION_MIME_TYPE, content: inv.toText() } : undefined,
  };
}

/**
 * Builds the raw RFC 5322 message (a `.eml` file) without sending it, e.g. to save it or hand it to another program.
 */
export async function buildInvitationEml(
  invitation: InvitationLike,
  options: InvitationMessageOptions & { readonly to?: string | readonly string[]; readonly from?: string } = {},
): Promise<Buffer> {
  const message = buildInvitationMessage(invitation, options);
  const transport = (await loadNodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: options.from ?? `tessera@${hostname() || 'localhost'}`,
    ...(options.to !== undefined ? { to: typeof options.to === 'string' ? options.to : [...options.to] } : {}),
    subject: message.subject,
    text: message.text,
    html: message.html,
    ...(message.attachment ? { attachments: [{ ...message.attachment, contentDisposition: 'attachment' as const }] } : {}),
  });
  return info.message as Buffer;
}

/**
 * A `mailto:` URI that opens the user's own mail program with the invitation filled in: subject, and a short body
 * with the `tessera://` link, how to connect and the expiry (RFC 6068, UTF-8 percent-encoded, CRLF line breaks).
 * @throws {ConfigError} when the URI would exceed MAX_MAILTO_CHARS (shorten the note) or an address is invalid
 */
export function mailtoUri(
  invitation: InvitationLike,
  options: { readonly to?: string | readonly string[]; readonly subject?: string; readonly note?: string; readonly now?: Clock; readonly viewerUrl?: string | false } = {},
): string {
  const inv = unwrap(invitation);
  const to = options.to === undefined ? [] : typeof options.to === 'string' ? [options.to] : [...options.to];
  for (const address of to) checkAddress(address, 'to');
  const note = checkNote(options.note);
  const nowMs = (options.now ?? Date.now)();
  const subject = options.subject ?? `Remote assistance invitation from ${inv.name || 'a tessera host'}`;
  const link = inv.toUrl();
  const viewer = viewerLink(inv, options.viewerUrl);
  const body = [
    `${inv.name || 'Someone'} is asking for your help (tessera remote assistance).`,
    ...(note ? ['', note] : []),
    '',
    ...(viewer !== undefined ? ['Help from your web browser, nothing to install:', viewer, '', 'Or, with tessera installed:'] : []),
    `Connect with: tessera connect '${link}'`,
    ...(viewer === undefined ? ['or open the link in the tessera web viewer.'] : []),
    '',
    `It ${describeExpiry(inv.expiresMs, nowMs)}.`,
    ...(inv.passwordRequired ? ['You will also need a password, which you will get another way.'] : []),
  ].join('\r\n');
  const recipients = to.map((a) => encodeURIComponent(a).replace(/%40/g, '@')).join(',');
  const uri = `mailto:${recipients}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
  if (uri.length > MAX_MAILTO_CHARS) {
    throw new ConfigError(`email: the mailto: uri would be ${uri.length} characters (at most ${MAX_MAILTO_CHARS}); shorten the note or subject`, {
      field: 'note',
      expected: MAX_MAILTO_CHARS,
      received: uri.length,
    });
  }
  return uri;
}

/**
 * The browser link of a message: the one given, else the relay's viewer when the invitation names a relay.
 * @throws {ConfigError} a link that is not http(s), or that carries a query (the invitation goes in the fragment only)
 */
function viewerLink(inv: Invitation, given: string | false | undefined): string | undefined {
  if (given === false) return undefined;
  if (given === undefined) return inv.relay ? relayViewerUrl(inv.relay.url, inv.toUrl()) : undefined;
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new ConfigError('email: the viewer link is not a url', { field: 'viewerUrl' });
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search !== '' || u.username !== '' || u.password !== '' || /\s/.test(given)) {
    throw new ConfigError('email: the viewer link must be an http(s) url with the invitation in the fragment only', { field: 'viewerUrl' });
  }
  return given;
}

/**
 * The expiry in words: "expires in 2 hours, at 14:05 UTC on 25 November 2026", or "expired at …" when past.
 */
export function describeExpiry(expiresMs: number, nowMs: number): string {
  const d = new Date(expiresMs);
  const at = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC on ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  if (!(nowMs < expiresMs)) return `expired at ${at}`;
  return `expires in ${describeDuration(expiresMs - nowMs)}, at ${at}`;
}

/**
 * Reads an invitation from a saved email (`.eml`): the attached `.tessera` file (by MIME type or file name),
 * or else a `tessera://` link in the text or HTML body; then readInvitation applies (validation and expiry).
 * @param input a path to the `.eml` file, or its bytes
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION (too large, unreadable, no invitation found, malformed),
 *   TESSERA_ERR_INVITATION_EXPIRED, TESSERA_ERR_UNSUPPORTED_VERSION
 */
export async function readInvitationFromEml(input: string | Uint8Array, options: { now?: number | Clock } = {}): Promise<Invitation> {
  const now = options.now ?? Date.now;
  const bytes = typeof input === 'string' ? readBounded(input, MAX_EML_BYTES, 'email') : input;
  if (!(bytes instanceof Uint8Array)) throw invalid('email input must be a path or bytes');
  if (bytes.byteLength > MAX_EML_BYTES) throw invalid(`the email is larger than ${MAX_EML_BYTES} bytes`);
  const { simpleParser } = await import('mailparser');
  let parsed: Awaited<ReturnType<typeof simpleParser>>;
  try {
    parsed = await simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: MAX_EML_BYTES,
    });
  } catch (err) {
    throw invalid('the email could not be parsed', err);
  }
  const candidates: { what: string; text: string }[] = [];
  for (const a of parsed.attachments) {
    const type = (a.contentType || '').toLowerCase();
    const name = (a.filename ?? '').toLowerCase();
    if (type !== INVITATION_MIME_TYPE && !name.endsWith('.tessera')) continue;
    if (a.content.byteLength > MAX_INVITATION_CHARS * 4) {
      candidates.push({ what: `the attachment ${a.filename ?? ''}`.trimEnd(), text: '' });
      continue;
    }
    candidates.push({ what: `the attachment ${a.filename ?? INVITATION_FILENAME}`, text: a.content.toString('utf8') });
  }
  const bodies = [parsed.text ?? '', typeof parsed.html === 'string' ? parsed.html : ''];
  for (const body of bodies) {
    for (const m of body.matchAll(LINK_RE)) {
      if (candidates.length >= 16) break;
      // A link in HTML may carry entities or a trailing period from the sentence around it.
      const link = m[0].replace(/&amp;/g, '&').replace(/[.,;:!?]+$/, '');
      if (!candidates.some((c) => c.text === link)) candidates.push({ what: 'the tessera:// link in the email', text: link });
    }
  }
  if (candidates.length === 0) throw invalid('the email holds no tessera invitation (no .tessera attachment and no tessera:// link)');
  let first: unknown;
  for (const c of candidates) {
    try {
      if (c.text === '') throw invalid(`${c.what} is too large`);
      return readInvitation(c.text, { now });
    } catch (err) {
      first ??= err instanceof InvitationError ? annotate(err, c.what) : err;
    }
  }
  throw first;
}

/**
 * Reads an invitation from any form: a `tessera://` URL, the text of a `.tessera` file, a path to a `.tessera`
 * file, or a path to a saved email (`.eml` by extension, or recognized by its `From:`/`MIME-Version:` headers).
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION (also for a Windows `.MsRcIncident` file, which tessera
 *   cannot connect to), TESSERA_ERR_INVITATION_EXPIRED, TESSERA_ERR_UNSUPPORTED_VERSION
 */
export async function loadInvitationAny(input: string, options: { now?: number | Clock } = {}): Promise<Invitation> {
  const now = options.now ?? Date.now;
  if (typeof input !== 'string') throw invalid('input must be a string');
  const t = input.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('tessera://') || t.startsWith('tessera-invitation')) return readInvitation(input, { now });
  const ext = extname(input).toLowerCase();
  if (ext === '.eml') return readInvitationFromEml(input, { now });
  if (ext === '.tessera') return readInvitationFile(input, { now });
  if (ext === '.msrcincident') throw windowsInvitation();
  const headBytes = readBounded(input, 4096, 'file', true);
  const headText = new TextDecoder('utf-8').decode(headBytes).replace(/^\uFEFF/, '');
  if (headText.trimStart().startsWith('tessera-invitation')) return readInvitationFile(input, { now });
  if (looksLikeEmail(headText)) return readInvitationFromEml(input, { now });
  // Windows writes .MsRcIncident files in UTF-16, with or without a byte-order mark.
  const utf16 = (headBytes[0] === 0xff && headBytes[1] === 0xfe) || (headBytes[0] === 0xfe && headBytes[1] === 0xff) || headText.includes('U\u0000P\u0000L\u0000O\u0000A\u0000D');
  if (/<\s*UPLOADINFO\b/.test(headText) || utf16) throw windowsInvitation();
  return readInvitationFile(input, { now });
}

// ---------------------------------------------------------------------------------------------------------

/** An Invitation, or anything that carries one (the host's HostInvitation). */
export type InvitationLike = Invitation | { readonly invitation: Invitation };

function unwrap(invitation: InvitationLike): Invitation {
  if (invitation instanceof Invitation) return invitation;
  const inner = (invitation as { invitation?: unknown } | undefined)?.invitation;
  if (inner instanceof Invitation) return inner;
  throw new ConfigError('email: expected an Invitation or a HostInvitation', { field: 'invitation' });
}

function smtpOptions(o: SendInvitationOptions): SMTPTransportOptions {
  const base: SMTPTransportOptions = typeof o.smtp === 'string' ? parseSmtpUrl(o.smtp) : { ...o.smtp };
  if (typeof o.smtp !== 'string' && o.smtp.url !== undefined) Object.assign(base, parseSmtpUrl(o.smtp.url), { url: undefined });
  const timeouts = { ...DEFAULT_TIMEOUTS, ...o.timeouts };
  for (const [k, v] of Object.entries(timeouts)) {
    if (!(Number.isInteger(v) && v >= 1 && v <= 600_000)) throw new ConfigError(`email: timeouts.${k} must be 1 to 600000 ms`, { field: `timeouts.${k}` });
  }
  return {
    ...base,
    connectionTimeout: o.timeouts?.connectionMs ?? base.connectionTimeout ?? timeouts.connectionMs,
    greetingTimeout: o.timeouts?.greetingMs ?? base.greetingTimeout ?? timeouts.greetingMs,
    socketTimeout: o.timeouts?.socketMs ?? base.socketTimeout ?? timeouts.socketMs,
    ...(o.requireTLS !== undefined ? { requireTLS: o.requireTLS } : {}),
    ...(o.auth !== undefined ? { auth: { user: o.auth.user, pass: o.auth.pass } } : {}),
  };
}

/** Parses `smtp://[user:pass@]host[:port]` or `smtps://…`; the credentials never reach an error message. */
export function parseSmtpUrl(text: string): SMTPTransportOptions {
  const bad = () => new ConfigError('email: the smtp url must be smtp://[user:pass@]HOST[:PORT] or smtps://[user:pass@]HOST[:PORT]', { field: 'smtp' });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad();
  }
  if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') throw bad();
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: SMTPTransportOptions = { host, port: url.port === '' ? (secure ? 465 : 587) : Number(url.port), secure };
  if (url.username !== '') {
    try {
      options.auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
    } catch {
      throw bad();
    }
  }
  return options;
}

function serverLabel(o: SMTPTransportOptions): string {
  const host = o.host ?? 'localhost';
  const port = o.port ?? (o.secure ? 465 : 587);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Maps a nodemailer failure to one clear sentence naming the server. */
function emailError(err: unknown, server: string): EmailError {
  const e = (err ?? {}) as { code?: unknown; response?: unknown; responseCode?: unknown; message?: unknown; command?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const reply = typeof e.response === 'string' && e.response !== '' ? oneLine(e.response) : '';
  const text = typeof e.message === 'string' ? e.message : String(err);
  const at = `the mail server at ${server}`;
  const detail = { context: 'email', cause: err, ...(typeof e.responseCode === 'number' ? { received: e.responseCode } : {}) };
  const make = (field: string, message: string) => new EmailError(ErrorCode.EmailFailed, message, { ...detail, field });
  const sys = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ETIMEDOUT)\b/.exec(text)?.[1];
  switch (code) {
    case 'EAUTH':
    case 'ENOAUTH':
      return make('auth', `${at} refused the login: ${reply || oneLine(text)}`);
    case 'EENVELOPE': {
      const command = typeof e.command === 'string' ? e.command.toUpperCase() : '';
      if (command.startsWith('MAIL')) return make('sender', `${at} refused the sender address: ${reply || oneLine(text)}`);
      return make('recipient', `${at} refused the recipient: ${reply || oneLine(text)}`);
    }
    case 'ETLS':
      if (/STARTTLS/i.test(text) && /^5\d\d\b/.test(reply || String(e.responseCode ?? ''))) {
        return make('tls', `${at} does not offer STARTTLS, which requireTLS demands: ${reply}`);
      }
      return make('tls', `${at} could not secure the connection: ${oneLine(text)}`);
    case 'ETIMEDOUT':
      return make('timeout', `${at} did not answer in time (${/greeting/i.test(text) ? 'no greeting' : oneLine(text)})`);
    case 'EDNS':
      return make('connection', `could not find the mail server at ${server}: ${oneLine(text)}`);
    case 'ECONNECTION':
    case 'ESOCKET':
      if (/STARTTLS/i.test(text)) return make('tls', `${at} does not offer STARTTLS, which requireTLS demands`);
      if (sys === 'ECONNREFUSED') return make('connection', `${at} refused the connection`);
      if (sys === 'ENOTFOUND' || sys === 'EAI_AGAIN') return make('connection', `could not find the mail server at ${server}`);
      return make('connection', `could not talk to ${at}: ${oneLine(text)}`);
    case 'EMESSAGE':
    case 'EPROTOCOL':
      return make('message', `${at} refused the message: ${reply || oneLine(text)}`);
  }
  if (/STARTTLS/i.test(text)) return make('tls', `${at} does not offer STARTTLS, which requireTLS demands`);
  return make('connection', `sending through ${at} failed: ${oneLine(text)}`);
}

/** First line of a server reply or error text, without control characters, at most 200 characters. */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const line = s.split(/\r?\n/)[0]!.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function describeDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return 'less than a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (days > 0) return hours > 0 ? `${unit(days, 'day')} ${unit(hours, 'hour')}` : unit(days, 'day');
  if (hours > 0) return mins > 0 ? `${unit(hours, 'hour')} ${unit(mins, 'minute')}` : unit(hours, 'hour');
  return unit(mins, 'minute');
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function checkNote(note: string | undefined): string | undefined {
  if (note === undefined) return undefined;
  if (typeof note !== 'string' || note.length > MAX_NOTE_CHARS) throw new ConfigError(`email: the note must be at most ${MAX_NOTE_CHARS} characters`, { field: 'note' });
  // eslint-disable-next-line no-control-regex
  const clean = note.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  return clean === '' ? undefined : clean;
}

function checkAddress(address: string, field: string): void {
  // A light check: nodemailer parses addresses fully; this only keeps header injection and junk out.
  // eslint-disable-next-line no-control-regex
  if (typeof address !== 'string' || address.length > 320 || /[\u0000-\u001f\u007f]/.test(address) || !/@/.test(address)) {
    throw new ConfigError(`email: ${field} must be an email address`, { field });
  }
}

function looksLikeEmail(head: string): boolean {
  const firstLines = head.split(/\r?\n/, 40);
  let headers = 0;
  for (const line of firstLines) {
    if (line === '') break;
    if (/^(From|To|Subject|Date|MIME-Version|Message-ID|Received|Return-Path|Delivered-To|Content-Type|X-[A-Za-z0-9-]+) ?:/i.test(line)) headers++;
    else if (!/^[ \t]/.test(line) && !/^[A-Za-z0-9-]+:/.test(line)) return false;
  }
  return headers >= 1 && firstLines.some((l) => /^(From|MIME-Version):/i.test(l));
}

function windowsInvitation(): InvitationError {
  return invalid('this is a Windows Remote Assistance invitation (.MsRcIncident); tessera can describe it with "tessera inspect" but cannot connect to Windows hosts');
}

function annotate(err: InvitationError, what: string): InvitationError {
  return new InvitationError(err.code, `${err.message} (in ${what})`, {
    ...(err.context !== undefined ? { context: err.context } : {}),
    ...(err.field !== undefined ? { field: err.field } : {}),
    ...(err.expected !== undefined ? { expected: err.expected } : {}),
    cause: err,
  });
}

function readBounded(path: string, max: number, what: string, prefixOnly = false): Uint8Array {
  return readFileBounded(path, max, invalid, { what, prefixOnly });
}

function invalid(why: string, cause?: unknown): InvitationError {
  return new InvitationError(ErrorCode.InvalidInvitation, `invalid invitation: ${why}`, cause === undefined ? { context: 'email' } : { context: 'email', cause });
}
