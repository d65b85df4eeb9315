import { readFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { ConfigError } from '../../core/index.js';

/** The identity file `tessera keygen` writes: an Ed25519 key pair for offering help. */
export interface IdentityFile {
  readonly type: 'tessera-identity';
  readonly version: 1;
  readonly publicKey: string;
  readonly secretKey: string;
}

export function newIdentity(): { file: IdentityFile; publicKey: Uint8Array } {
  const kp = nacl.sign.keyPair();
  return {
    file: { type: 'tessera-identity', version: 1, publicKey: Buffer.from(kp.publicKey).toString('base64'), secretKey: Buffer.from(kp.secretKey).toString('base64') },
    publicKey: kp.publicKey,
  };
}

/** Reads and checks an identity file. */
export function readIdentity(path: string): { publicKey: Uint8Array; secretKey: Uint8Array } {
  let v: Partial<IdentityFile>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Partial<IdentityFile>;
  } catch (err) {
    throw new ConfigError(`identity file ${path} could not be read as JSON`, { cause: err });
  }
  const pub = typeof v.publicKey === 'string' ? Buffer.from(v.publicKey, 'base64') : undefined;
  const sec = typeof v.secretKey === 'string' ? Buffer.from(v.secretKey, 'base64') : undefined;
  if (v.type !== 'tessera-identity' || v.version !== 1 || !pub || pub.byteLength !== 32 || !sec || sec.byteLength !== 64) {
    throw new ConfigError(`identity file ${path} is not a tessera identity (make one with 'tessera keygen --out FILE')`);
  }
  const derived = nacl.sign.keyPair.fromSecretKey(new Uint8Array(sec));
  if (!Buffer.from(derived.publicKey).equals(pub)) throw new ConfigError(`identity file ${path}: the public key does not match the secret key`);
  return { publicKey: new Uint8Array(pub), secretKey: new Uint8Array(sec) };
}
