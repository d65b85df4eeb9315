import { existsSync, writeFileSync, chmodSync } from 'node:fs';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { newIdentity } from './identity.js';

export const runKeygen: Command = {
  usage: `usage: tessera keygen --out FILE [--force] [--json]

Makes an Ed25519 identity for offering help (tessera offer --identity FILE).
The file (mode 0600) holds the secret key; give the host only the public key it prints,
for its helpers directory: { "users": { "NAME": ["<public key>"] } }.`,
  options: { out: { type: 'string' }, force: { type: 'boolean' } },
  async run(values, _positionals, out) {
    const path = values.out;
    if (typeof path !== 'string') throw new UsageError('keygen needs --out FILE');
    if (existsSync(path) && !values.force) throw new UsageError(`${path} exists; pass --force to replace it`);
    const { file } = newIdentity();
    writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    out.event('keygen', { path, publicKey: file.publicKey });
    out.say(`identity written to ${path} (mode 0600)`);
    out.say(`public key: ${file.publicKey}`);
    return 0;
  },
};
