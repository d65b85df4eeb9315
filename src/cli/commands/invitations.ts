import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { FileTicketStore } from '../../index.js';
import { printable } from '../printable.js';

export const runInvitations: Command = {
  usage: `usage: tessera invitations list --state DIR [--json]
       tessera invitations revoke ID --state DIR [--json]

Lists a host's invitations (no secrets: the host keeps only verifiers), or revokes one so that
later connections with it are refused with TICKET_REVOKED.`,
  options: { state: { type: 'string' } },
  positionals: { min: 1, max: 2 },
  async run(values, positionals, out) {
    const [action, id] = positionals;
    if (typeof values.state !== 'string') throw new UsageError('invitations needs --state DIR (the host\'s state folder)');
    const store = new FileTicketStore(values.state);
    if (action === 'list') {
      if (id !== undefined) throw new UsageError('invitations list takes no id');
      const now = Date.now();
      const rows = store.list().map((t) => ({
        id: t.id,
        name: t.name ?? null,
        mode: t.mode,
        created: new Date(t.createdMs).toISOString(),
        expires: new Date(t.expiresMs).toISOString(),
        status: t.revoked ? 'revoked' : t.expiresMs <= now ? 'expired' : 'valid',
        password: t.passwordVerifier !== undefined,
        uses: t.uses,
        helpers: t.holders?.length ?? 0,
        maxHelpers: t.maxUses ?? 1,
      }));
      for (const r of rows) out.event('invitation', r);
      if (rows.length === 0) out.say('no invitations');
      for (const r of rows) out.say(`${r.id}  ${r.status.padEnd(7)}  ${r.mode.padEnd(7)}  expires ${new Date(r.expires).toLocaleString()}  uses ${r.uses}  helpers ${r.helpers}/${r.maxHelpers}${r.password ? '  password' : ''}${r.name ? `  ${printable(r.name, 80)}` : ''}`);
      return 0;
    }
    if (action === 'revoke') {
      if (!id) throw new UsageError('invitations revoke needs the invitation id (see tessera invitations list)');
      if (!store.revoke(id)) throw new UsageError(`no invitation with id ${printable(id, 80)}`);
      out.event('revoked', { id });
      out.say(`revoked ${id}`);
      return 0;
    }
    throw new UsageError(`unknown action '${action}'; use list or revoke`);
  },
};
