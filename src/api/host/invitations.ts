/**
 * The host's invitations (spec/handshake.md §2): creating one (a ticket in the host's store, capped by policy),
 * and the HostInvitation an app sends as a file, a URL or an email.
 */
import type { Clock } from '../../core/index.js';
import type { AuditEvent, Duration, Invitation, Mode, Policy, TicketStore } from '../../handshake/index.js';
import { issueInvitation } from '../../node/index.js';
import type { HostKey } from '../../node/state-dir.js';
import { parseExpires } from '../../node/expires.js';
import { writeSecretFile } from '../../node/secret-file.js';
import { sendInvitation, mailtoUri, type SendInvitationOptions, type SentInvitation, type InvitationMessageOptions } from '../../node/email.js';

/** Options of Host.createInvitation. */
export interface CreateInvitationOptions {
  /** Mode offered (default 'control'); policy may lower it. */
  readonly mode?: Mode;
  /** Lifetime: { value, units } or "30m", "2h", "1d"; capped by policy (default 1 hour). */
  readonly expires?: Duration | string;
  /** When set, the helper must also know this password (told to them another way). */
  readonly password?: string;
  /**
   * Most different helpers the invitation admits (default 1: one helper, who may reconnect); capped by
   * policy.solicited.maxUses (spec/handshake.md §2.5).
   */
  readonly uses?: number;
  /** Display name for this invitation (default: the host's name). */
  readonly name?: string;
  /** Addresses written into the invitation (default: the listening address; none when only a relay is in use). */
  readonly addresses?: readonly string[];
  /** The relay written into the invitation (default: the relay the host registered at with useRelay; false: none). */
  readonly relay?: string | false;
}

/** An invitation the host created, with the forms it can be sent in. */
export class HostInvitation {
  readonly invitation: Invitation;
  /** True when policy shortened the lifetime, lowered the mode or the uses. */
  readonly capped: boolean;

  /** Most different helpers it admits, after the policy cap. */
  readonly uses: number;

  constructor(invitation: Invitation, capped: boolean, uses = 1) {
    this.invitation = invitation;
    this.capped = capped;
    this.uses = uses;
  }

  /** The ticket id (hex): an identifier for listing and revoking, not a secret. */
  get id(): string {
    return this.invitation.ticketIdHex;
  }

  get expiresAt(): Date {
    return new Date(this.invitation.expiresMs);
  }

  get mode(): Mode {
    return this.invitation.mode;
  }

  /** The `tessera://` URL (carries the secret: send it only to the helper). */
  toURL(): string {
    return this.invitation.toUrl();
  }

  /** The text of a `.tessera` file (carries the secret). */
  toString(): string {
    return this.invitation.toText();
  }

  /** Writes the `.tessera` file atomically with mode 0600, whatever was there before, never through a symlink. */
  toFile(path: string): void {
    writeSecretFile(path, this.invitation.toText());
  }

  /** A printable summary without the secret. */
  describe(): string {
    return this.invitation.describe();
  }

  /**
   * Emails the invitation through an SMTP server: the link in the body ('mailto' method) or the `.tessera` file
   * attached ('attachment'). Never the password. A failure leaves the invitation valid (send it another way).
   * @throws {EmailError} TESSERA_ERR_EMAIL_FAILED with one clear sentence
   */
  send(options: SendInvitationOptions): Promise<SentInvitation> {
    return sendInvitation(this, options);
  }

  /** A `mailto:` URI that opens the user's own mail program with the message filled in. */
  mailtoUri(options: Pick<InvitationMessageOptions, 'note'> & { to?: string; subject?: string } = {}): string {
    return mailtoUri(this, options);
  }

  toJSON(): object {
    return this.invitation.toJSON();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `HostInvitation { id: '${this.id}', mode: '${this.mode}', expires: '${this.expiresAt.toISOString()}' }`;
  }
}

/** What creating an invitation needs of the host. */
export interface InvitationContext {
  readonly hostKey: HostKey;
  readonly tickets: TicketStore;
  readonly policy: Policy;
  readonly name: string;
  readonly clock: Clock;
  /** Where helpers reach the host when the options name no addresses (none: relay only). */
  readonly defaultAddresses: () => readonly string[];
  /** The relay the host waits at, if any. */
  readonly defaultRelay: () => string | undefined;
  readonly audit: (event: AuditEvent) => void;
}

/**
 * Creates an invitation: a fresh ticket in the host's store, its lifetime and mode capped by policy.
 * @throws {ConfigError} when policy forbids solicited help or an option is invalid
 */
export function createHostInvitation(ctx: InvitationContext, options: CreateInvitationOptions = {}): HostInvitation {
  const expires = options.expires === undefined ? { value: 1, units: 'hours' as const } : typeof options.expires === 'string' ? parseExpires(options.expires) : options.expires;
  const relay = options.relay === false ? undefined : (options.relay ?? ctx.defaultRelay());
  const created = issueInvitation({
    hostKey: ctx.hostKey,
    store: ctx.tickets,
    addresses: options.addresses ?? ctx.defaultAddresses(),
    expires,
    name: options.name ?? ctx.name,
    policy: ctx.policy,
    now: ctx.clock,
    audit: ctx.audit,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(relay !== undefined ? { relayUrl: relay } : {}),
    ...(options.uses !== undefined ? { uses: options.uses } : {}),
  });
  return new HostInvitation(created.invitation, created.capped, created.ticket.maxUses ?? 1);
}
