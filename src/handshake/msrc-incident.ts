/**
 * Windows Remote Assistance invitation files (`*.MsRcIncident`), as specified by [MS-RAI] §6
 * "Appendix A: Remote Assistance Invitation File Format", with the Connection String 1 of [MS-RAI] §2.2.1
 * carried in its RCTICKET attribute.
 *
 * tessera reads these files to show what they hold (`tessera inspect`); it does not connect to Windows hosts.
 * The parser is pure, bounded and total: it takes an already-decoded string (src/node decodes UTF-8 and UTF-16),
 * accepts exactly the small XML shape of the format through its own strict tokenizer (no XML library, no DTDs,
 * no external entities), and turns every malformed input into an InvitationError with code
 * TESSERA_ERR_INVALID_INVITATION naming what is wrong.
 *
 * Real files differ from a textbook XML document in ways the parser accepts on purpose (each kept as a file in test/fixtures/msrc/variants):
 * attribute values wrapped across lines (whitespace inside RCTICKET and LHTICKET is dropped), whitespace
 * around `=` (`PassStub= "…"`), attributes with no whitespace between them, leading whitespace before the
 * XML declaration, any attribute order, and a byte-order mark.
 *
 * [MS-RAI]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rai/ac87f4ab-859e-4eb9-a05e-7bbf7f1bc868
 */
import { ErrorCode, INSPECT } from '../core/index.js';
import { InvitationError } from './invitation.js';

/** Most characters accepted (a type 2 file with many addresses is a few KiB). */
export const MAX_MSRC_INCIDENT_CHARS = 65_536;
/** Most attributes on one element. */
export const MAX_MSRC_ATTRIBUTES = 32;
/** Most addresses in the RCTICKET machine address list. */
export const MAX_MSRC_ADDRESSES = 32;
/** Longest DtLength accepted, in minutes: one year (the Windows UI allows at most 99 days). */
export const MAX_MSRC_LENGTH_MINUTES = 525_600;
/** Connection String 1 ProtocolVersion ([MS-RAI] §2.2.1: MUST be 65538). */
export const MSRC_PROTOCOL_VERSION = 65_538;
/** Connection String 1 protocolType ([MS-RAI] §2.2.1: MUST be 1). */
export const MSRC_PROTOCOL_TYPE = 1;

const CONTEXT = 'msrc-incident';
const NAME_START_RE = /[A-Za-z_:]/;
const NAME_CHAR_RE = /[A-Za-z0-9_:.-]/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX_RE = /^[0-9A-Fa-f]*$/;
const DIGITS_RE = /^[0-9]{1,10}$/;
// Machine names, IPv4, and IPv6 (with an optional %zone); brackets are stripped before the check.
const MACHINE_RE = /^[A-Za-z0-9_.%:-]{1,253}$/;
const MAX_FIELD_CHARS = 1024;

/** One `host:port` pair of the RCTICKET machine address list. */
export interface MsRcAddress {
  readonly host: string;
  readonly port: number;
}

/** RCTICKET: Remote Assistance Connection String 1 ([MS-RAI] §2.2.1). */
export interface MsRcTicket {
  /** ProtocolVersion (always 65538). */
  readonly protocolVersion: number;
  /** protocolType (always 1). */
  readonly protocolType: number;
  /** machineAddressList, in order: the expert tries each and the first TCP connection wins. */
  readonly addresses: readonly MsRcAddress[];
  /** RASessionID, base64. */
  readonly sessionId: string;
  /** protocolSpecificParms: in practice KH, base64(SHA-1(the novice's RDP public key blob)), a key pin. */
  readonly protocolSpecificParms: string;
  /** Bytes of protocolSpecificParms once base64-decoded (20 for a SHA-1 key hash). */
  readonly keyHashBytes: number;
}

/** The fields of a Windows Remote Assistance invitation file. */
export interface MsRcIncidentFields {
  /** 1: Windows XP / Server 2003 (RCTICKET only); 2: Vista and later (adds LHTICKET). */
  readonly type: 1 | 2;
  /** The `encoding` of the XML declaration, if there is one (Windows writes "Unicode"). */
  readonly declaredEncoding: string | undefined;
  /** USERNAME: the novice computer or user name (display only). */
  readonly username: string | undefined;
  readonly ticket: MsRcTicket;
  /** RCTICKETENCRYPTED = 1: the ticket is password-protected. */
  readonly ticketEncrypted: boolean;
  /** DtStart: creation time. */
  readonly start: Date;
  /** DtLength, in minutes. */
  readonly lengthMinutes: number;
  /** DtStart + DtLength: after this the novice closes the invitation. */
  readonly end: Date;
  /** Bytes of LHTICKET (the encrypted Connection String 2), or undefined when absent (type 1). */
  readonly lhTicketBytes: number | undefined;
  /** L: true = modem, false = high-speed, undefined = absent. */
  readonly modem: boolean | undefined;
  /** Names of attributes of UPLOADDATA that this parser does not interpret (for example URA). */
  readonly otherAttributes: readonly string[];
}

/**
 * A parsed `.MsRcIncident` file. The PassStub (the encrypted novice password) is held privately:
 * util.inspect and toJSON show only whether it is present, and describeMsRcIncident never prints it.
 */
export class MsRcIncident implements MsRcIncidentFields {
  readonly type: 1 | 2;
  readonly declaredEncoding: string | undefined;
  readonly username: string | undefined;
  readonly ticket: MsRcTicket;
  readonly ticketEncrypted: boolean;
  readonly start: Date;
  readonly lengthMinutes: number;
  readonly end: Date;
  readonly lhTicketBytes: number | undefined;
  readonly modem: boolean | undefined;
  readonly otherAttributes: readonly string[];
  readonly #passStub: string | undefined;

  /** @internal built by parseMsRcIncident */
  constructor(fields: MsRcIncidentFields, passStub: string | undefined) {
    this.type = fields.type;
    this.declaredEncoding = fields.declaredEncoding;
    this.username = fields.username;
    this.ticket = fields.ticket;
    this.ticketEncrypted = fields.ticketEncrypted;
    this.start = fields.start;
    this.lengthMinutes = fields.lengthMinutes;
    this.end = fields.end;
    this.lhTicketBytes = fields.lhTicketBytes;
    this.modem = fields.modem;
    this.otherAttributes = fields.otherAttributes;
    this.#passStub = passStub;
    Object.freeze(this);
  }

  /** True when the file carries a PassStub. */
  get hasPassStub(): boolean {
    return this.#passStub !== undefined;
  }

  /** True when the file carries LHTICKET. */
  get hasLhTicket(): boolean {
    return this.lhTicketBytes !== undefined;
  }

  /** True when `now` (ms) is at or past the end of the validity window. */
  isExpired(nowMs: number): boolean {
    return !(nowMs < this.end.getTime());
  }

  /** The PassStub itself: a secret (the encrypted password); never log or print it. */
  revealPassStub(): string | undefined {
    return this.#passStub;
  }

  /** A JSON view without the PassStub. */
  toJSON(): object {
    return {
      type: this.type,
      declaredEncoding: this.declaredEncoding,
      username: this.username,
      ticket: { ...this.ticket, addresses: this.ticket.addresses.map((a) => ({ ...a })) },
      ticketEncrypted: this.ticketEncrypted,
      start: isoSeconds(this.start.getTime()),
      lengthMinutes: this.lengthMinutes,
      end: isoSeconds(this.end.getTime()),
      lhTicketBytes: this.lhTicketBytes,
      passStub: this.hasPassStub ? 'present' : 'absent',
      modem: this.modem,
      otherAttributes: this.otherAttributes,
    };
  }

  [INSPECT](): string {
    return `MsRcIncident ${JSON.stringify(this.toJSON(), null, 2)}`;
  }
}

/**
 * Parses the text of a `.MsRcIncident` file ([MS-RAI] §6), strictly but accepting the real-file quirks listed
 * in the module comment. Does not check the expiry (see MsRcIncident.isExpired).
 * @param text the decoded file (a leading byte-order mark is ignored)
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION with `field` naming the element or attribute at fault
 */
export function parseMsRcIncident(text: string): MsRcIncident {
  if (typeof text !== 'string') throw invalid('input must be a string');
  if (text.length > MAX_MSRC_INCIDENT_CHARS) {
    throw invalid(`file is longer than ${MAX_MSRC_INCIDENT_CHARS} characters`, { field: 'file', expected: MAX_MSRC_INCIDENT_CHARS, received: text.length });
  }
  const doc = new Tokenizer(text).document();
  return interpret(doc);
}

/**
 * A printable, multi-line summary of a parsed file (never the PassStub), saying whether it has expired at `nowMs`.
 */
export function describeMsRcIncident(incident: MsRcIncident, nowMs: number): string {
  const t = incident.ticket;
  const expired = incident.isExpired(nowMs);
  const lines = [
    `Windows Remote Assistance invitation (type ${incident.type}, ${incident.type === 1 ? 'Windows XP / Server 2003' : 'Windows Vista or later'})`,
    `  user:         ${incident.username === undefined ? '(none)' : JSON.stringify(incident.username)}`,
    `  addresses:    ${t.addresses.map(formatMsRcAddress).join(', ')}`,
    `  protocol:     ${t.protocolVersion} (connection string 1, protocol type ${t.protocolType})`,
    `  session id:   ${t.sessionId}`,
    `  key hash:     ${t.protocolSpecificParms} (${t.keyHashBytes} bytes)`,
    `  encrypted:    ${incident.ticketEncrypted ? 'yes (password-protected)' : 'no'}`,
    `  LHTICKET:     ${incident.lhTicketBytes === undefined ? 'absent' : `${incident.lhTicketBytes} bytes (encrypted connection string 2)`}`,
    `  PassStub:     ${incident.hasPassStub ? 'present (hidden: it is the encrypted password)' : 'absent'}`,
    `  link:         ${incident.modem === undefined ? 'not stated' : incident.modem ? 'modem' : 'high-speed'}`,
    `  created:      ${isoSeconds(incident.start.getTime())}`,
    `  valid for:    ${incident.lengthMinutes} minute${incident.lengthMinutes === 1 ? '' : 's'}`,
    `  expires:      ${isoSeconds(incident.end.getTime())} (${expired ? 'expired' : 'not expired'})`,
  ];
  if (incident.otherAttributes.length > 0) lines.push(`  other fields: ${incident.otherAttributes.join(', ')}`);
  lines.push('  tessera reads this file but cannot connect to Windows hosts.');
  return lines.join('\n');
}

/** "host:port", with brackets around IPv6 hosts. */
export function formatMsRcAddress(a: MsRcAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

// ---------------------------------------------------------------------------------------------------------
// Tokenizer: exactly the shape of the format.
//   document := ws? xmldecl? misc* element misc* EOF
//   xmldecl  := '<?xml' attrs ws? '?>'
//   misc     := ws | comment
//   element  := '<' Name attrs ws? ( '/>' | '>' content '</' Name ws? '>' )
//   content  := ( ws | comment | element )*      (no character data other than whitespace)
// Nesting is at most two levels deep (UPLOADINFO > UPLOADDATA), so there is no recursion to bound.

interface Attribute {
  readonly name: string;
  readonly value: string;
  readonly offset: number;
}

interface Element {
  readonly name: string;
  readonly offset: number;
  readonly attributes: readonly Attribute[];
  readonly children: readonly Element[];
}

interface Document {
  readonly declaration: readonly Attribute[] | undefined;
  readonly root: Element;
}

class Tokenizer {
  #pos = 0;
  readonly #s: string;

  constructor(text: string) {
    this.#s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  document(): Document {
    this.#ws();
    let declaration: Attribute[] | undefined;
    if (this.#s.startsWith('<?xml', this.#pos) && !NAME_CHAR_RE.test(this.#s[this.#pos + 5] ?? '')) {
      this.#pos += 5;
      declaration = this.#attributes('xml declaration');
      this.#ws();
      this.#expect('?>', 'xml declaration');
    }
    this.#misc();
    if (this.#s.startsWith('<!DOCTYPE', this.#pos) || this.#s.startsWith('<!ENTITY', this.#pos)) {
      throw this.#fail('document type declarations are not allowed', 'file');
    }
    if (this.#s.startsWith('<?', this.#pos)) throw this.#fail('processing instructions are not allowed', 'file');
    if (this.#pos >= this.#s.length) throw this.#fail('file holds no UPLOADINFO element', 'UPLOADINFO');
    if (this.#s[this.#pos] !== '<') throw this.#fail('expected "<UPLOADINFO" but found text', 'UPLOADINFO');
    const root = this.#element(0);
    this.#misc();
    if (this.#pos < this.#s.length) throw this.#fail(`unexpected content after </${root.name}>`, 'file');
    return { declaration, root };
  }

  /** Parses an element starting at '<'; depth 0 is the root, depth 1 its children (no deeper nesting). */
  #element(depth: number): Element {
    const offset = this.#pos;
    this.#pos++; // '<'
    const name = this.#name('element name');
    const attributes = this.#attributes(name);
    this.#ws();
    if (this.#s.startsWith('/>', this.#pos)) {
      this.#pos += 2;
      return { name, offset, attributes, children: [] };
    }
    this.#expect('>', name);
    const children: Element[] = [];
    for (;;) {
      this.#misc();
      if (this.#pos >= this.#s.length) throw this.#fail(`<${name}> is not closed`, name);
      if (this.#s.startsWith('</', this.#pos)) {
        this.#pos += 2;
        const closing = this.#name('closing tag');
        if (closing !== name) throw this.#fail(`</${closing}> does not close <${name}>`, name);
        this.#ws();
        this.#expect('>', name);
        return { name, offset, attributes, children };
      }
      if (this.#s[this.#pos] !== '<') throw this.#fail(`<${name}> holds text; only elements are allowed`, name);
      if (this.#s.startsWith('<!', this.#pos) || this.#s.startsWith('<?', this.#pos)) {
        throw this.#fail(`<${name}> holds a declaration or instruction, which is not allowed`, name);
      }
      if (depth >= 1) throw this.#fail(`elements nest too deeply inside <${name}>`, name);
      if (children.length >= 4) throw this.#fail(`<${name}> has too many child elements`, name);
      children.push(this.#element(depth + 1));
    }
  }

  /** Attributes up to (not including) '>', '/>' or '?>'. Whitespace between attributes is optional (real files omit it). */
  #attributes(owner: string): Attribute[] {
    const out: Attribute[] = [];
    for (;;) {
      this.#ws();
      const c = this.#s[this.#pos];
      if (c === undefined) throw this.#fail(`<${owner}> is not closed`, owner);
      if (c === '>' || c === '/' || c === '?') return out;
      if (!NAME_START_RE.test(c)) throw this.#fail(`unexpected character ${JSON.stringify(c)} in <${owner}>`, owner);
      const offset = this.#pos;
      const name = this.#name('attribute name');
      this.#ws();
      if (this.#s[this.#pos] !== '=') throw this.#fail(`attribute ${name} has no "=" and value`, name);
      this.#pos++;
      this.#ws();
      const value = this.#value(name);
      if (out.some((a) => a.name === name)) throw this.#fail(`attribute ${name} appears twice`, name);
      if (out.length >= MAX_MSRC_ATTRIBUTES) throw this.#fail(`<${owner}> has more than ${MAX_MSRC_ATTRIBUTES} attributes`, owner);
      out.push({ name, value, offset });
    }
  }

  /** A quoted attribute value with the five predefined entities and character references decoded. */
  #value(name: string): string {
    const quote = this.#s[this.#pos];
    if (quote !== '"' && quote !== "'") throw this.#fail(`attribute ${name} value must be quoted`, name);
    const end = this.#s.indexOf(quote, this.#pos + 1);
    if (end < 0) throw this.#fail(`attribute ${name} value has no closing quote`, name);
    const raw = this.#s.slice(this.#pos + 1, end);
    if (raw.includes('<')) throw this.#fail(`attribute ${name} value contains "<"`, name);
    this.#pos = end + 1;
    // XML attribute-value normalization: each tab, carriage return or line feed becomes a space.
    const normalized = raw.replace(/[\t\r\n]/g, ' ');
    if (!normalized.includes('&')) return normalized;
    return normalized.replace(/&([^;&]{0,10});?/g, (whole: string, ref: string) => {
      if (!whole.endsWith(';')) throw this.#fail(`attribute ${name} has an unterminated "&" reference`, name);
      const decoded = decodeReference(ref);
      if (decoded === undefined) throw this.#fail(`attribute ${name} has an unknown reference "&${ref};"`, name);
      return decoded;
    });
  }

  #name(what: string): string {
    const start = this.#pos;
    if (!NAME_START_RE.test(this.#s[this.#pos] ?? '')) throw this.#fail(`expected a ${what}`, what);
    this.#pos++;
    while (this.#pos < this.#s.length && this.#pos - start < 64 && NAME_CHAR_RE.test(this.#s[this.#pos]!)) this.#pos++;
    if (this.#pos - start >= 64) throw this.#fail(`${what} is longer than 64 characters`, what);
    return this.#s.slice(start, this.#pos);
  }

  /** Whitespace and comments. */
  #misc(): void {
    for (;;) {
      this.#ws();
      if (!this.#s.startsWith('<!--', this.#pos)) return;
      const end = this.#s.indexOf('-->', this.#pos + 4);
      if (end < 0) throw this.#fail('comment is not closed', 'comment');
      this.#pos = end + 3;
    }
  }

  #ws(): void {
    while (this.#pos < this.#s.length) {
      const c = this.#s.charCodeAt(this.#pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.#pos++;
    }
  }

  #expect(token: string, field: string): void {
    if (!this.#s.startsWith(token, this.#pos)) {
      const found = this.#s[this.#pos];
      throw this.#fail(`expected "${token}" in <${field}> but found ${found === undefined ? 'the end of the file' : JSON.stringify(found)}`, field);
    }
    this.#pos += token.length;
  }

  #fail(why: string, field: string): InvitationError {
    return invalid(why, { field, offset: this.#pos });
  }
}

function decodeReference(ref: string): string | undefined {
  switch (ref) {
    case 'amp': return '&';
    case 'lt': return '<';
    case 'gt': return '>';
    case 'quot': return '"';
    case 'apos': return "'";
  }
  const m = /^#(?:([0-9]{1,7})|x([0-9A-Fa-f]{1,6}))$/.exec(ref);
  if (!m) return undefined;
  const cp = m[1] !== undefined ? Number(m[1]) : parseInt(m[2]!, 16);
  if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
  return String.fromCodePoint(cp);
}

// ---------------------------------------------------------------------------------------------------------
// Interpretation of the two elements ([MS-RAI] §6) and of Connection String 1 ([MS-RAI] §2.2.1).

function interpret(doc: Document): MsRcIncident {
  const root = doc.root;
  if (root.name !== 'UPLOADINFO') throw invalid(`root element must be UPLOADINFO, not ${root.name}`, { field: 'UPLOADINFO', offset: root.offset });
  const uploadType = attr(root, 'TYPE');
  if (uploadType === undefined) throw invalid('UPLOADINFO has no TYPE attribute', { field: 'TYPE', offset: root.offset });
  if (uploadType !== 'Escalated') throw invalid('UPLOADINFO TYPE must be "Escalated"', { field: 'TYPE', offset: root.offset });
  for (const a of root.attributes) if (a.name !== 'TYPE') throw invalid(`UPLOADINFO has an unknown attribute ${a.name}`, { field: a.name, offset: a.offset });
  if (root.children.length !== 1) throw invalid(`UPLOADINFO must hold exactly one UPLOADDATA element, found ${root.children.length}`, { field: 'UPLOADDATA', offset: root.offset });
  const data = root.children[0]!;
  if (data.name !== 'UPLOADDATA') throw invalid(`UPLOADINFO must hold UPLOADDATA, not ${data.name}`, { field: 'UPLOADDATA', offset: data.offset });
  if (data.children.length !== 0) throw invalid('UPLOADDATA must be empty', { field: 'UPLOADDATA', offset: data.offset });

  let declaredEncoding: string | undefined;
  if (doc.declaration !== undefined) {
    const version = doc.declaration.find((a) => a.name === 'version');
    if (!version || !/^1\.[0-9]$/.test(version.value)) throw invalid('xml declaration must have version="1.x"', { field: 'version' });
    for (const a of doc.declaration) {
      if (a.name !== 'version' && a.name !== 'encoding' && a.name !== 'standalone') throw invalid(`xml declaration has an unknown attribute ${a.name}`, { field: a.name });
    }
    declaredEncoding = doc.declaration.find((a) => a.name === 'encoding')?.value;
  }

  const rcTicket = attr(data, 'RCTICKET');
  if (rcTicket === undefined) throw invalid('UPLOADDATA has no RCTICKET attribute', { field: 'RCTICKET', offset: data.offset });
  const ticket = parseConnectionString1(rcTicket);

  const username = attr(data, 'USERNAME');
  if (username !== undefined && username.length > 256) throw invalid('USERNAME is longer than 256 characters', { field: 'USERNAME' });

  const encrypted = attr(data, 'RCTICKETENCRYPTED');
  if (encrypted !== undefined && encrypted.trim() !== '0' && encrypted.trim() !== '1') throw invalid('RCTICKETENCRYPTED must be 0 or 1', { field: 'RCTICKETENCRYPTED' });

  const dtStart = attr(data, 'DtStart');
  if (dtStart === undefined) throw invalid('UPLOADDATA has no DtStart attribute', { field: 'DtStart' });
  if (!DIGITS_RE.test(dtStart.trim()) || Number(dtStart.trim()) > 0xffffffff) throw invalid('DtStart must be seconds since 1970 (a whole number up to 4294967295)', { field: 'DtStart' });
  const startSeconds = Number(dtStart.trim());

  const dtLength = attr(data, 'DtLength');
  if (dtLength === undefined) throw invalid('UPLOADDATA has no DtLength attribute', { field: 'DtLength' });
  const lengthMinutes = Number(dtLength.trim());
  if (!DIGITS_RE.test(dtLength.trim()) || lengthMinutes < 1 || lengthMinutes > MAX_MSRC_LENGTH_MINUTES) {
    throw invalid(`DtLength must be a whole number of minutes from 1 to ${MAX_MSRC_LENGTH_MINUTES}`, { field: 'DtLength' });
  }

  const lhTicket = attr(data, 'LHTICKET');
  let lhTicketBytes: number | undefined;
  if (lhTicket !== undefined) {
    const hex = lhTicket.replace(/\s+/g, '');
    if (hex.length === 0) throw invalid('LHTICKET is empty', { field: 'LHTICKET' });
    if (!HEX_RE.test(hex)) throw invalid('LHTICKET must be hexadecimal digits', { field: 'LHTICKET' });
    if (hex.length % 2 !== 0) throw invalid('LHTICKET has an odd number of hex digits', { field: 'LHTICKET' });
    lhTicketBytes = hex.length / 2;
    if (lhTicketBytes % 16 !== 0) throw invalid(`LHTICKET must be whole 16-byte AES blocks, found ${lhTicketBytes} bytes`, { field: 'LHTICKET' });
  }

  const passStub = attr(data, 'PassStub');
  // The value is a secret: errors about it say what is wrong, never what it is.
  if (passStub !== undefined && (passStub.length === 0 || passStub.length > 256)) throw invalid('PassStub must be 1 to 256 characters', { field: 'PassStub' });

  const link = attr(data, 'L');
  if (link !== undefined && link.trim() !== '0' && link.trim() !== '1') throw invalid('L must be 0 or 1', { field: 'L' });

  const known = new Set(['USERNAME', 'RCTICKET', 'RCTICKETENCRYPTED', 'DtStart', 'DtLength', 'LHTICKET', 'PassStub', 'L']);
  const startMs = startSeconds * 1000;
  return new MsRcIncident(
    {
      type: lhTicket === undefined ? 1 : 2,
      declaredEncoding,
      username: username?.trim(),
      ticket,
      ticketEncrypted: encrypted?.trim() === '1',
      start: new Date(startMs),
      lengthMinutes,
      end: new Date(startMs + lengthMinutes * 60_000),
      lhTicketBytes,
      modem: link === undefined ? undefined : link.trim() === '1',
      otherAttributes: Object.freeze(data.attributes.filter((a) => !known.has(a.name)).map((a) => a.name)),
    },
    passStub,
  );
}

/** RCTICKET = `<ProtocolVersion>,<protocolType>,<machineAddressList>,<assistantAccountPwd>,<RASessionID>,<RASessionName>,<RASessionPwd>,<protocolSpecificParms>`. */
function parseConnectionString1(value: string): MsRcTicket {
  // Whitespace cannot occur in any of the eight fields; in real files it comes from line wrapping.
  const s = value.replace(/\s+/g, '');
  const fail = (why: string) => invalid(`RCTICKET ${why}`, { field: 'RCTICKET' });
  if (s.length === 0) throw fail('is empty');
  if (s.length > MAX_FIELD_CHARS * 4) throw fail(`is longer than ${MAX_FIELD_CHARS * 4} characters`);
  const parts = s.split(',');
  if (parts.length !== 8) throw fail(`must have 8 comma-separated fields, found ${parts.length}`);
  const [version, type, addressList, accountPwd, sessionId, sessionName, sessionPwd, specific] = parts as [string, string, string, string, string, string, string, string];
  if (version !== String(MSRC_PROTOCOL_VERSION)) throw fail(`protocol version must be ${MSRC_PROTOCOL_VERSION}`);
  if (type !== String(MSRC_PROTOCOL_TYPE)) throw fail(`protocol type must be ${MSRC_PROTOCOL_TYPE}`);
  if (accountPwd !== '*') throw fail('assistant account password field must be "*"');
  if (sessionName !== '*') throw fail('session name field must be "*"');
  if (sessionPwd !== '*') throw fail('session password field must be "*"');
  const addresses = parseAddressList(addressList);
  if (sessionId.length === 0 || sessionId.length > MAX_FIELD_CHARS || !BASE64_RE.test(sessionId)) throw fail('session id must be base64');
  if (specific.length === 0 || specific.length > MAX_FIELD_CHARS || !BASE64_RE.test(specific) || specific.length % 4 !== 0) {
    throw fail('protocol-specific parameters (the key hash) must be base64');
  }
  const padding = specific.endsWith('==') ? 2 : specific.endsWith('=') ? 1 : 0;
  return Object.freeze({
    protocolVersion: MSRC_PROTOCOL_VERSION,
    protocolType: MSRC_PROTOCOL_TYPE,
    addresses,
    sessionId,
    protocolSpecificParms: specific,
    keyHashBytes: (specific.length / 4) * 3 - padding,
  });
}

function parseAddressList(list: string): readonly MsRcAddress[] {
  const fail = (why: string) => invalid(`RCTICKET address list ${why}`, { field: 'RCTICKET' });
  if (list.length === 0) throw fail('is empty');
  const items = list.split(';').filter((x) => x.length > 0);
  if (items.length === 0) throw fail('is empty');
  if (items.length > MAX_MSRC_ADDRESSES) throw fail(`has more than ${MAX_MSRC_ADDRESSES} addresses`);
  return Object.freeze(
    items.map((item, i) => {
      const at = item.lastIndexOf(':');
      if (at <= 0) throw fail(`entry ${i + 1} must be host:port`);
      let host = item.slice(0, at);
      const portText = item.slice(at + 1);
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      if (!MACHINE_RE.test(host)) throw fail(`entry ${i + 1} has an invalid host`);
      if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw fail(`entry ${i + 1} port must be 1 to 65535`);
      return Object.freeze({ host, port: Number(portText) });
    }),
  );
}

function attr(el: Element, name: string): string | undefined {
  return el.attributes.find((a) => a.name === name)?.value;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function invalid(why: string, detail: { field?: string; offset?: number; expected?: number; received?: number } = {}): InvitationError {
  return new InvitationError(ErrorCode.InvalidInvitation, `invalid remote assistance invitation: ${why}`, { context: CONTEXT, ...detail });
}
