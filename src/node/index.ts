/** Node-only glue: state folder, file ticket store, audit log, policy files, node:crypto suites. */
import { readFileSync, statSync } from 'node:fs';
import { ErrorCode } from '../core/index.js';
import type { Clock } from '../core/index.js';
import { auditEvent, type AuditEvent } from '../handshake/audit.js';
import type { Mode } from '../handshake/constants.js';
import { InvitationError, MAX_INVITATION_CHARS, createInvitation, readInvitation, type CreatedInvitation, type Invitation, type InvitationAddress } from '../handshake/invitation.js';
import type { Duration, Policy } from '../handshake/policy.js';
import type { TicketStore } from '../handshake/ticket.js';
import { rendezvousId } from '../handshake/relay.js';
import { nodeRandom, scryptKdf } from './crypto.js';
import type { HostKey } from './state-dir.js';

export * from './crypto.js';
export * from './state-dir.js';
export * from './ticket-store.js';
export * from './audit-log.js';
export * from './policy-file.js';

/** Options of issueInvitation. */
export interface IssueInvitationOptions {
  readonly hostKey: HostKey;
  /** Where the ticket is recorded (a FileTicketStore on a host). */
  readonly store: TicketStore;
  readonly addresses: readonly (string | InvitationAddress)[];
  readonly expires: Duration;
  readonly mode?: Mode;
  readonly password?: string;
  /** Most different helpers the invitation admits (default 1); capped by policy.solicited.maxUses. */
  readonly uses?: number;
  readonly name: string;
  readonly policy?: Policy;
  /** A relay where the host also waits; the invitation gets its URL and the ticket's rendezvous id (spec/relay.md). */
  readonly relayUrl?: string;
  /** Default Date.now. */
  readonly now?: Clock;
  /** Receives a 'created' audit event. */
  readonly audit?: (event: AuditEvent) => void;
}

/**
 * Creates an invitation on the host: fresh ticket id and secret (node:crypto), password verifier via scrypt,
 * expiry and mode capped by policy, and the ticket (verifiers only) added to `store`.
 * @throws {ConfigError} when policy forbids solicited help or an option is invalid
 */
export function issueInvitation(o: IssueInvitationOptions): CreatedInvitation {
  const now = o.now ?? Date.now;
  const created = createInvitation({
    hostKey: o.hostKey.publicKey,
    addresses: o.addresses,
    expires: o.expires,
    name: o.name,
    now,
    random: nodeRandom,
    kdf: scryptKdf,
    ...(o.mode !== undefined ? { mode: o.mode } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.uses !== undefined ? { uses: o.uses } : {}),
    ...(o.policy !== undefined ? { policy: o.policy } : {}),
    ...(o.relayUrl !== undefined ? { relayUrl: o.relayUrl, relayId: (ticketId: Uint8Array) => rendezvousId(o.hostKey.secretKey, ticketId) } : {}),
  });
  o.store.add(created.ticket);
  o.audit?.(auditEvent(now(), { decision: 'created', ticketId: created.ticket.id, mode: created.ticket.mode }));
  return created;
}

/**
 * Reads an invitation from a URL, the text form, or a path to a `*.tessera` file.
 * @throws {InvitationError} TESSERA_ERR_INVALID_INVITATION, TESSERA_ERR_UNSUPPORTED_VERSION, TESSERA_ERR_INVITATION_EXPIRED
 */
export function loadInvitation(input: string, options: { now?: number | Clock } = {}): Invitation {
  const now = options.now ?? Date.now;
  const t = input.trimStart();
  if (t.startsWith('tessera://') || t.startsWith('tessera-invitation')) return readInvitation(input, { now });
  return readInvitationFile(input, { now });
}

/** Reads a `*.tessera` file and parses it with readInvitation. */
export function readInvitationFile(path: string, options: { now?: number | Clock } = {}): Invitation {
  let text: string;
  try {
    if (statSync(path).size > MAX_INVITATION_CHARS * 4) throw new Error('too large');
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new InvitationError(ErrorCode.InvalidInvitation, `invalid invitation: cannot read the file${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
  return readInvitation(text, { now: options.now ?? Date.now });
}
