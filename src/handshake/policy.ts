/**
 * Policy and helpers directory formats (spec/handshake.md §5): the two Windows Remote Assistance group-policy
 * settings as JSON, and the map of helper users to Ed25519 keys and groups. Pure and strict: unknown fields,
 * wrong types and out-of-range values are ConfigError naming the field.
 */
import { ConfigError, fromHex, equalBytes } from '../core/index.js';
import { DEFAULT_TRANSFER_MAX_BYTES } from '../core/defaults.js';
import { fromBase64 } from './crypto.js';
import type { Mode } from './constants.js';

/** Units of a ticket lifetime. */
export type TimeUnits = 'minutes' | 'hours' | 'days';

/** A duration as a value plus units. */
export interface Duration {
  readonly value: number;
  readonly units: TimeUnits;
}

/** The solicited-help setting (the host invites). */
export interface SolicitedPolicy {
  readonly enabled: boolean;
  readonly permit: Mode;
  readonly maxTicketTime: Duration;
  readonly emailMethod: 'mailto' | 'attachment';
  /** Most different helpers one invitation may admit (1..100); `--uses` is capped at this. */
  readonly maxUses: number;
}

/** The offered-help setting (a known helper offers). */
export interface OfferPolicy {
  readonly enabled: boolean;
  readonly permit: Mode;
  /** Entries "user:NAME" or "group:NAME". */
  readonly helpers: readonly string[];
}

/** Which way files may go (spec/transfer.md §6). */
export type TransferDirections = 'both' | 'to-host' | 'to-helper';

/** The file-transfer setting (spec/transfer.md §6). */
export interface TransferPolicy {
  readonly enabled: boolean;
  /** Largest file accepted or sent, in bytes (1 .. 2^53 − 1). */
  readonly maxBytes: number;
  readonly directions: TransferDirections;
}

/** Host policy. */
export interface Policy {
  readonly solicited: SolicitedPolicy;
  readonly offer: OfferPolicy;
  /** Session recording for audit (spec/recording.md); absent means off. */
  readonly recording?: RecordingPolicy;
  /** File transfer; absent means DEFAULT_POLICY's (on, both ways, 1 GiB). */
  readonly transfer?: TransferPolicy;
}

/**
 * Session recording (spec/recording.md): `off`, `optional` (record; a session that cannot be recorded goes on
 * unrecorded) or `required` (a session that cannot be recorded is not started), and how many days recordings are kept.
 */
export interface RecordingPolicy {
  readonly mode: 'off' | 'optional' | 'required';
  /** Recordings older than this many days are deleted when the host starts; absent: kept. */
  readonly retentionDays?: number;
}

/** The transfer setting of `policy`, its default when absent. */
export function transferPolicy(policy: Policy): TransferPolicy {
  return policy.transfer ?? DEFAULT_TRANSFER_POLICY;
}

/** Helpers directory: users with Ed25519 public keys, and groups of users. */
export interface Helpers {
  readonly users: ReadonlyMap<string, readonly Uint8Array[]>;
  readonly groups: ReadonlyMap<string, readonly string[]>;
}

/** Solicited on with control and a 6-hour cap, mailto; offer off. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  solicited: Object.freeze({ enabled: true, permit: 'control', maxTicketTime: Object.freeze({ value: 6, units: 'hours' }), emailMethod: 'mailto', maxUses: 10 }),
  offer: Object.freeze({ enabled: false, permit: 'control', helpers: Object.freeze([]) as readonly string[] }),
  transfer: Object.freeze({ enabled: true, maxBytes: DEFAULT_TRANSFER_MAX_BYTES, directions: 'both' }),
}) as Policy;
const DEFAULT_TRANSFER_POLICY: TransferPolicy = DEFAULT_POLICY.transfer!;

/** An empty helpers directory. */
export const EMPTY_HELPERS: Helpers = { users: new Map(), groups: new Map() };

const MS: Readonly<Record<TimeUnits, number>> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 };
/** Largest `solicited.maxUses` a policy may set. */
export const MAX_TICKET_USES = 100;
/** Longest ticket lifetime any policy may allow: 30 days. */
export const MAX_TICKET_MS = 30 * MS.days;
const NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const MAX_CONFIG_CHARS = 1024 * 1024;
const MAX_ENTRIES = 4096;

/** Milliseconds in a duration. */
export function durationMs(d: Duration): number {
  return d.value * MS[d.units];
}

/**
 * Validates a duration object.
 * @throws {ConfigError} naming `where` and the field
 */
export function parseDuration(v: unknown, where: string): Duration {
  const o = obj(v, where, ['value', 'units']);
  const value = o.value;
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= 1)) throw bad(`${where}.value must be a positive integer`, where);
  const units = o.units;
  if (units !== 'minutes' && units !== 'hours' && units !== 'days') throw bad(`${where}.units must be minutes, hours or days`, where);
  const d: Duration = { value, units };
  if (durationMs(d) > MAX_TICKET_MS) throw bad(`${where} must be at most 30 days`, where);
  return d;
}

/**
 * Parses a policy from JSON text or an already-parsed value; missing fields take the defaults.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG naming the field, e.g. "policy: solicited.permit must be view or control"
 */
export function parsePolicy(input: unknown): Policy {
  const root = obj(parseJson(input, 'policy'), 'policy', ['solicited', 'offer', 'recording', 'transfer']);
  const d = DEFAULT_POLICY;
  const s = root.solicited === undefined ? {} : obj(root.solicited, 'policy: solicited', ['enabled', 'permit', 'maxTicketTime', 'emailMethod', 'maxUses']);
  const o = root.offer === undefined ? {} : obj(root.offer, 'policy: offer', ['enabled', 'permit', 'helpers']);
  const solicited: SolicitedPolicy = {
    enabled: bool(s.enabled, 'policy: solicited.enabled', d.solicited.enabled),
    permit: mode(s.permit, 'policy: solicited.permit', d.solicited.permit),
    maxTicketTime: s.maxTicketTime === undefined ? d.solicited.maxTicketTime : parseDuration(s.maxTicketTime, 'policy: solicited.maxTicketTime'),
    emailMethod: oneOf(s.emailMethod, 'policy: solicited.emailMethod', ['mailto', 'attachment'] as const, d.solicited.emailMethod, 'mailto or attachment'),
    maxUses: s.maxUses === undefined ? d.solicited.maxUses : maxUses(s.maxUses),
  };
  let helpers: string[] = [];
  if (o.helpers !== undefined) {
    if (!Array.isArray(o.helpers) || o.helpers.length > MAX_ENTRIES) throw bad(`policy: offer.helpers must be an array of "user:NAME" or "group:NAME"`, 'offer.helpers');
    helpers = o.helpers.map((h, i) => {
      if (typeof h !== 'string' || !/^(user|group):/.test(h) || !NAME_RE.test(h.slice(h.indexOf(':') + 1))) {
        throw bad(`policy: offer.helpers[${i}] must be "user:NAME" or "group:NAME"`, `offer.helpers[${i}]`);
      }
      return h;
    });
  }
  const offer: OfferPolicy = {
    enabled: bool(o.enabled, 'policy: offer.enabled', d.offer.enabled),
    permit: mode(o.permit, 'policy: offer.permit', d.offer.permit),
    helpers: Object.freeze(helpers),
  };
  let recording: RecordingPolicy | undefined;
  if (root.recording !== undefined) {
    const r = obj(root.recording, 'policy: recording', ['mode', 'retentionDays']);
    const days = r.retentionDays;
    if (days !== undefined && !(typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= 36500)) {
      throw bad('policy: recording.retentionDays must be a whole number of days from 1 to 36500', 'recording.retentionDays');
    }
    recording = Object.freeze({
      mode: oneOf(r.mode, 'policy: recording.mode', ['off', 'optional', 'required'] as const, 'optional', 'off, optional or required'),
      ...(days !== undefined ? { retentionDays: days } : {}),
    });
  }
  const x = root.transfer === undefined ? {} : obj(root.transfer, 'policy: transfer', ['enabled', 'maxBytes', 'directions']);
  if (x.maxBytes !== undefined && !(typeof x.maxBytes === 'number' && Number.isSafeInteger(x.maxBytes) && x.maxBytes >= 1)) {
    throw bad('policy: transfer.maxBytes must be a positive integer (bytes)', 'transfer.maxBytes');
  }
  const transfer: TransferPolicy = {
    enabled: bool(x.enabled, 'policy: transfer.enabled', DEFAULT_TRANSFER_POLICY.enabled),
    maxBytes: (x.maxBytes as number | undefined) ?? DEFAULT_TRANSFER_POLICY.maxBytes,
    directions: oneOf(x.directions, 'policy: transfer.directions', ['both', 'to-host', 'to-helper'] as const, DEFAULT_TRANSFER_POLICY.directions, 'both, to-host or to-helper'),
  };
  return Object.freeze({ solicited: Object.freeze(solicited), offer: Object.freeze(offer), ...(recording ? { recording } : {}), transfer: Object.freeze(transfer) });
}

function maxUses(v: unknown): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_TICKET_USES)) {
    throw bad(`policy: solicited.maxUses must be an integer from 1 to ${MAX_TICKET_USES}`, 'solicited.maxUses');
  }
  return v;
}

/**
 * Parses a helpers directory: `{ "users": { "alice": ["<ed25519 key, hex or base64>", ...] }, "groups": { "support": ["alice"] } }`.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG naming the field
 */
export function parseHelpers(input: unknown): Helpers {
  const root = obj(parseJson(input, 'helpers'), 'helpers', ['users', 'groups']);
  const users = new Map<string, Uint8Array[]>();
  const usersObj = root.users === undefined ? {} : obj(root.users, 'helpers: users', undefined);
  const userNames = Object.keys(usersObj);
  if (userNames.length > MAX_ENTRIES) throw bad('helpers: users has too many entries', 'users');
  for (const name of userNames) {
    if (!NAME_RE.test(name)) throw bad(`helpers: users has an invalid user name (letters, digits, . _ @ - up to 64)`, 'users');
    const keys = usersObj[name];
    if (!Array.isArray(keys) || keys.length === 0 || keys.length > 64) throw bad(`helpers: users.${name} must be a non-empty array of ed25519 public keys`, `users.${name}`);
    users.set(
      name,
      keys.map((k, i) => {
        const key = typeof k === 'string' ? parseKey(k) : undefined;
        if (key === undefined) throw bad(`helpers: users.${name}[${i}] must be a 32-byte ed25519 public key in hex or base64`, `users.${name}[${i}]`);
        return key;
      }),
    );
  }
  const groups = new Map<string, string[]>();
  const groupsObj = root.groups === undefined ? {} : obj(root.groups, 'helpers: groups', undefined);
  const groupNames = Object.keys(groupsObj);
  if (groupNames.length > MAX_ENTRIES) throw bad('helpers: groups has too many entries', 'groups');
  for (const name of groupNames) {
    if (!NAME_RE.test(name)) throw bad(`helpers: groups has an invalid group name (letters, digits, . _ @ - up to 64)`, 'groups');
    const members = groupsObj[name];
    if (!Array.isArray(members) || members.length > MAX_ENTRIES) throw bad(`helpers: groups.${name} must be an array of user names`, `groups.${name}`);
    groups.set(
      name,
      members.map((m, i) => {
        if (typeof m !== 'string' || !users.has(m)) throw bad(`helpers: groups.${name}[${i}] must name a user listed in users`, `groups.${name}[${i}]`);
        return m;
      }),
    );
  }
  return { users, groups };
}

/** Parses an Ed25519 public key written as 64 hex digits or base64/base64url; undefined if it is neither. */
export function parseKey(text: string): Uint8Array | undefined {
  const bytes = /^[0-9a-fA-F]{64}$/.test(text) ? fromHex(text) : fromBase64(text);
  return bytes !== undefined && bytes.byteLength === 32 ? bytes : undefined;
}

/**
 * Finds the user owning `identityKey` and checks the offer allow-list ("user:NAME" or a "group:NAME" containing the user).
 * @returns the user name when the key is allowed to offer help, undefined otherwise
 */
export function allowedHelper(policy: Policy, helpers: Helpers, identityKey: Uint8Array): string | undefined {
  let user: string | undefined;
  for (const [name, keys] of helpers.users) {
    if (keys.some((k) => equalBytes(k, identityKey))) {
      user = name;
      break;
    }
  }
  if (user === undefined) return undefined;
  for (const entry of policy.offer.helpers) {
    if (entry === `user:${user}`) return user;
    if (entry.startsWith('group:') && helpers.groups.get(entry.slice(6))?.includes(user)) return user;
  }
  return undefined;
}

function parseJson(input: unknown, what: string): unknown {
  if (typeof input !== 'string') return input;
  if (input.length > MAX_CONFIG_CHARS) throw bad(`${what}: file is larger than 1 MiB`, undefined);
  try {
    return JSON.parse(input);
  } catch {
    throw bad(`${what}: not valid json`, undefined);
  }
}

function obj(v: unknown, where: string, allowed: readonly string[] | undefined): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${where} must be an object`, where);
  const o = v as Record<string, unknown>;
  if (allowed) {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw bad(`${where} has an unknown field ${JSON.stringify(k.slice(0, 40))}`, k.slice(0, 40));
    }
  }
  return o;
}

function bool(v: unknown, where: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw bad(`${where} must be true or false`, where);
  return v;
}

function mode(v: unknown, where: string, dflt: Mode): Mode {
  return oneOf(v, where, ['view', 'control'] as const, dflt, 'view or control');
}

function oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[], dflt: T, words: string): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw bad(`${where} must be ${words}`, where);
  return v as T;
}

function bad(message: string, field: string | undefined): ConfigError {
  return new ConfigError(message, field === undefined ? {} : { field });
}
