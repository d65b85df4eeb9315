import type { Command } from '../main.js';
import { loadInvitation, describeInvitation } from '../../index.js';

export const runInspect: Command = {
  usage: `usage: tessera inspect FILE|URL [--json]

Shows what an invitation holds: host name, addresses, mode, password required, the host key's
fingerprint, creation and expiry in local time (and "expired" when it is). Never the secret.`,
  options: {},
  positionals: { min: 1, max: 1 },
  async run(_values, positionals, out) {
    // Read without the expiry check: inspecting an expired invitation is how one learns it expired.
    const inv = loadInvitation(positionals[0]!, { now: 0 });
    const expired = inv.expiresMs <= Date.now();
    out.event('invitation', { ...(inv.toJSON() as Record<string, unknown>), expired });
    out.say(describeInvitation(inv));
    out.say(`created: ${new Date(inv.createdMs).toLocaleString()}`);
    out.say(`expires: ${new Date(inv.expiresMs).toLocaleString()}${expired ? ' (expired)' : ''}`);
    return 0;
  },
};
