import type { Command } from '../command.js';
import { loadInvitationAny, describeInvitation, readMsRcIncidentFile, describeMsRcIncident } from '../../index.js';
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import type { Output } from '../output.js';
import { printable } from '../printable.js';

/** True for a Windows Remote Assistance invitation file (by name, or by its XML root element). */
function isMsRcIncident(path: string): boolean {
  if (/\.msrcincident$/i.test(path)) return true;
  if (!existsSync(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('utf8').replace(/\0/g, '');
    return /<UPLOADINFO\b/i.test(text);
  } finally {
    closeSync(fd);
  }
}

export const runInspect: Command = {
  usage: `usage: tessera inspect FILE|URL [--json]

Shows what an invitation holds: host name, addresses, relay (and a short hash of its rendezvous id), mode, password required, the host key
(in base64url, as 'tessera host' prints it and 'tessera offer --host-key' takes it), creation and expiry in local time (and "expired" when it is). Never the secret.
Also reads a saved email (.eml) that carries an invitation, and Windows Remote Assistance invitations
(.MsRcIncident): addresses and ports, start time and length, whether the ticket is encrypted, the session id.`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(_values, positionals, out) {
    const target = positionals[0]!;
    if (isMsRcIncident(target)) {
      const incident = readMsRcIncidentFile(target);
      out.event('msrc-incident', incident.toJSON() as Record<string, unknown>);
      sayEach(out, describeMsRcIncident(incident, Date.now()));
      return 0;
    }
    // Read without the expiry check: inspecting an expired invitation is how one learns it expired.
    const inv = await loadInvitationAny(target, { now: 0 });
    const expired = inv.expiresMs <= Date.now();
    out.event('invitation', { ...(inv.toJSON() as Record<string, unknown>), expired });
    sayEach(out, describeInvitation(inv));
    out.say(`created: ${new Date(inv.createdMs).toLocaleString()}`);
    out.say(`expires: ${new Date(inv.expiresMs).toLocaleString()}${expired ? ' (expired)' : ''}`);
    return 0;
  },
};

/**
 * Prints a multi-line description line by line, each escaped: the names and fields in it come from a file someone
 * sent. (The descriptions quote free text with JSON.stringify, so a field cannot carry a raw newline of its own.)
 */
function sayEach(out: Output, text: string): void {
  for (const line of text.split('\n')) out.say(printable(line));
}
