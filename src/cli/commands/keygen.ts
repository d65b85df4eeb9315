import { lstatSync } from 'node:fs';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { newIdentity } from './identity.js';
import { writeSecretFile } from '../../node/secret-file.js';
import { writeAuditorKeyFile } from '../../node/recording-file.js';

export const runKeygen: Command = {
  usage: `usage: tessera keygen --out FILE [--force] [--json]

Makes an Ed25519 identity for offering help (tessera offer --identity FILE).
The file holds the secret key: it is written atomically with mode 0600, never through a symbolic link.
Give the host only the public key it prints, for its helpers directory: { "users": { "NAME": ["<public key>"] } }.

With --auditor: makes an X25519 key pair for reading session recordings instead. Give the host the public key
(tessera host --record-sessions DIR --record-to KEY); keep the file to play them (tessera play FILE --key FILE).`,
  options: { out: { type: 'string' }, force: { type: 'boolean' }, auditor: { type: 'boolean' } },
  async run(values, _positionals, out) {
    const path = values.out;
    if (typeof path !== 'string') throw new UsageError('keygen needs --out FILE');
    if (exists(path) && !values.force) throw new UsageError(`${path} exists; pass --force to replace it`);
    if (values.auditor) {
      const publicKey = writeAuditorKeyFile(path);
      out.event('keygen', { path, kind: 'auditor', publicKey });
      out.say(`auditor key written to ${path} (mode 0600)`);
      out.say(`public key (for tessera host --record-to): ${publicKey}`);
      return 0;
    }
    const { file } = newIdentity();
    // Atomic, mode 0600 even over an existing file, and never through a symbolic link.
    writeSecretFile(path, JSON.stringify(file, null, 2) + '\n');
    out.event('keygen', { path, publicKey: file.publicKey });
    out.say(`identity written to ${path} (mode 0600)`);
    out.say(`public key: ${file.publicKey}`);
    return 0;
  },
};

/** True when anything, a dangling symbolic link included, is at `path`. */
function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
