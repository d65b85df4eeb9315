/**
 * Child process of sigkill-tickets.test.ts (and `npm run soak`): a host on a state folder that creates invitations
 * (and revokes every third) as fast as it can, printing "created <id>" / "revoked <id>" once each change is
 * committed (FileTicketStore returned). The parent kills it with SIGKILL at random moments.
 * Usage: node --import tsx test/faults/ticket-writer.ts <stateDir>
 */
import { Host, VirtualScreen } from '../../src/index.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: ticket-writer <stateDir>');
  process.exit(2);
}
// Opening the host reads host-key.json and tickets.json: a torn file would throw here.
const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'view', stateDir: dir, name: 'writer' });
process.stdout.write(`ready ${host.listInvitations().length}\n`);
for (let i = 0; ; i++) {
  const inv = await host.createInvitation({ expires: '1d', addresses: ['127.0.0.1:3389'] });
  process.stdout.write(`created ${inv.id}\n`);
  if (i % 3 === 2) {
    const victim = host.listInvitations().find((r) => !r.revoked);
    if (victim && host.revokeInvitation(victim.id)) process.stdout.write(`revoked ${victim.id}\n`);
  }
}
