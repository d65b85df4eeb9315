/**
 * What the viewer tells its user when a connection cannot start or ends: one screen per refusal code
 * (spec/handshake.md §6), per session close reason (spec/session.md §6), and per local problem.
 */
import type { Refusal } from '../src/handshake/refusal.js';
import type { CloseReason } from '../src/session/constants.js';

/** A full-window message: a title, what it means, what to do, and a tone for its colour. */
export interface ScreenMessage {
  /** Stable id for tests and styling, e.g. 'TICKET_EXPIRED' or 'closed:host-ended'. */
  readonly code: string;
  readonly title: string;
  readonly body: string;
  readonly tone: 'info' | 'warning' | 'danger';
  /** Whether connecting again with the same invitation could work. */
  readonly retry: boolean;
}

const ASK_AGAIN = 'Ask the person who invited you to send a new invitation.';

/** One screen per refusal a host can send, and HOST_KEY_MISMATCH, which the viewer decides itself. */
export const REFUSAL_SCREENS: Readonly<Record<Refusal, Omit<ScreenMessage, 'code'>>> = {
  TICKET_EXPIRED: { title: 'This invitation has expired', body: `Invitations work only for a limited time. ${ASK_AGAIN}`, tone: 'warning', retry: false },
  USER_DECLINED: { title: 'The host declined', body: 'The person at the other computer did not accept the connection, or did not answer in time.', tone: 'warning', retry: true },
  THROTTLED: { title: 'Too many attempts', body: 'The host refused because of too many failed attempts with this invitation or from this address. Wait a few minutes, then try again.', tone: 'warning', retry: true },
  BAD_PROOF: { title: 'The invitation was not accepted', body: `The host did not accept this invitation's secret or password. Check that you opened the whole link. ${ASK_AGAIN}`, tone: 'danger', retry: false },
  TICKET_REVOKED: { title: 'This invitation was revoked', body: `The host cancelled this invitation. ${ASK_AGAIN}`, tone: 'warning', retry: false },
  TICKET_UNKNOWN: { title: 'The host does not know this invitation', body: `It may be for a different computer, or the host's invitations were reset. ${ASK_AGAIN}`, tone: 'warning', retry: false },
  POLICY_DENIED: { title: 'Not allowed by policy', body: "The host's remote assistance policy does not allow this connection. Its administrator decides this setting.", tone: 'danger', retry: false },
  VERSION_MISMATCH: { title: 'Incompatible versions', body: 'The host runs a tessera version that does not speak this handshake version. Update one of the two.', tone: 'danger', retry: false },
  TICKET_IN_USE: { title: 'This invitation is already taken', body: `Another helper is using this invitation, or used it before you; it admits only the helpers it was made for. ${ASK_AGAIN}`, tone: 'warning', retry: false },
  HOST_KEY_MISMATCH: { title: 'The host could not prove its identity', body: 'The computer that answered does not hold the key named in the invitation. You may be talking to a different machine; do not continue. Ask the host to check its invitation.', tone: 'danger', retry: false },
};

const CLOSE_SCREENS: Readonly<Record<CloseReason, Omit<ScreenMessage, 'code'>>> = {
  'host-ended': { title: 'The host ended the session', body: 'The person you were helping closed the session.', tone: 'info', retry: true },
  'helper-left': { title: 'You left the session', body: 'You disconnected from the host.', tone: 'info', retry: true },
  normal: { title: 'The session ended', body: 'The session was closed.', tone: 'info', retry: true },
  timeout: { title: 'The connection timed out', body: 'Nothing arrived from the host for too long.', tone: 'warning', retry: true },
  'connection-lost': { title: 'The connection was lost', body: 'The connection to the host dropped.', tone: 'warning', retry: true },
  'protocol-error': { title: 'The session failed', body: 'The host sent something this viewer could not understand.', tone: 'danger', retry: true },
  'source-error': { title: "The host's screen is unavailable", body: 'The host could not capture its screen any more.', tone: 'warning', retry: true },
};

/**
 * The screen for a refusal. `authenticated` false (spec/handshake.md §3.5): the refusal came in the clear, before the
 * host proved its key, so it is shown as what it is, a refusal by something on the way or by a host that could not
 * prove its key, never as the host's word.
 */
export function refusalScreen(refusal: Refusal, authenticated = true): ScreenMessage {
  if (authenticated || refusal === 'HOST_KEY_MISMATCH') return { code: refusal, ...REFUSAL_SCREENS[refusal] };
  const said = REFUSAL_SCREENS[refusal].title;
  return {
    code: `unauthenticated:${refusal}`,
    title: 'Refused before the host proved itself',
    body: `The connection was refused ("${said}", ${refusal}) by something on the way, or by a host that could not prove its key. It is not the host's proven answer. Try again later; if it keeps happening, tell the person who invited you.`,
    tone: 'warning',
    retry: true,
  };
}

/** The screen for a session that closed. */
export function closeScreen(reason: CloseReason, message?: string): ScreenMessage {
  const base = CLOSE_SCREENS[reason] ?? CLOSE_SCREENS.normal;
  return { code: `closed:${reason}`, ...base, body: message && reason !== 'helper-left' ? `${base.body} (${message})` : base.body };
}

/** The screen for a local error, such as an unreachable host or a malformed message. */
export function errorScreen(code: string, message: string): ScreenMessage {
  if (code === 'TESSERA_ERR_INVITATION_EXPIRED') return { code: 'TICKET_EXPIRED', ...REFUSAL_SCREENS.TICKET_EXPIRED };
  if (code === 'TESSERA_ERR_INVALID_INVITATION' || code === 'TESSERA_ERR_UNSUPPORTED_VERSION') {
    return { code: 'invalid-invitation', title: 'This is not a valid invitation', body: `The link or text could not be read (${message}). Paste the whole tessera:// invitation.`, tone: 'danger', retry: false };
  }
  if (code === 'TESSERA_ERR_IO') return { code: 'unreachable', title: 'Could not reach the host', body: `Is the host still sharing? (${message})`, tone: 'warning', retry: true };
  if (code === 'TESSERA_ERR_HANDSHAKE_TIMEOUT') return { code: 'timeout', title: 'The host did not answer in time', body: 'The host stopped answering during the connection.', tone: 'warning', retry: true };
  return { code: 'error', title: 'The connection failed', body: `${message} (${code})`, tone: 'danger', retry: true };
}

/**
 * BAD_PROOF for an invitation with a password: most often the password was mistyped, so the page offers to ask
 * for it again (the host throttles repeated wrong proofs, spec/handshake.md §8).
 */
export function badPasswordScreen(): ScreenMessage {
  return {
    code: 'BAD_PROOF',
    title: 'The password or invitation was not accepted',
    body: `The host did not accept the password, or this invitation's secret. Check the password with the person who invited you and try again; if it still fails, ${ASK_AGAIN.charAt(0).toLowerCase()}${ASK_AGAIN.slice(1)}`,
    tone: 'danger',
    retry: true,
  };
}

/**
 * HOST_KEY_MISMATCH for an invitation that does not name the page's own host (web/toolbar.ts invitationNamesHost): the
 * page connects only to the host that served it, so a valid invitation for another host meets the wrong key here. That
 * is a wrong door, not an impostor; the impostor warning stays for an invitation that names this host.
 * @param name the invitation's host name
 * @param place where the invitation says its host is (addresses, relay)
 * @param here the page's own host (location.host)
 */
export function anotherHostScreen(name: string, place: string, here: string): ScreenMessage {
  return {
    code: 'another-host',
    title: 'This invitation is for another host',
    body: `It is for ${name} (${place}), but this viewer belongs to ${here}, which connects only to its own host. Open the invitation with that host's viewer, or run: tessera connect INVITATION.`,
    tone: 'info',
    retry: false,
  };
}
