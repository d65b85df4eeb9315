import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { askPassword } from '../terminal.js';

/** The environment variable a script can set instead of --password-file. */
export const PASSWORD_ENV = 'TESSERA_PASSWORD';

/** The three ways to give a password, for help texts and errors. */
export const PASSWORD_WAYS = `--password (asks on the terminal), --password-file F (first line of F) or the ${PASSWORD_ENV} environment variable`;

/**
 * The password a command was given: asked on the terminal for a bare --password, the first line of --password-file,
 * or the TESSERA_PASSWORD environment variable (ignored when empty); undefined when none. Never from the command
 * line itself, where other users can read it (main.ts refuses `--password VALUE` before this is called).
 * @throws {UsageError} both --password and --password-file, an empty or unreadable file, or no terminal to ask on
 */
export async function passwordFrom(values: Record<string, unknown>, prompt = 'password: '): Promise<string | undefined> {
  const file = values['password-file'];
  if (values.password === true && typeof file === 'string') throw new UsageError('give either --password or --password-file, not both');
  if (values.password === true) {
    const typed = await askPassword(prompt);
    if (!typed) throw new UsageError('the password is empty');
    return typed;
  }
  if (typeof file === 'string') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '';
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new UsageError(`--password-file ${file} could not be read${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (!text) throw new UsageError(`--password-file ${file} is empty`);
    return text;
  }
  const env = process.env[PASSWORD_ENV];
  return env ? env : undefined;
}

/**
 * The TLS certificate and key of --tls-cert F and --tls-key F (PEM), read once; undefined without them.
 * @throws {UsageError} only one of the two, or a file that cannot be read
 */
export function tlsFrom(values: Record<string, unknown>): { cert: Buffer; key: Buffer } | undefined {
  const certPath = values['tls-cert'];
  const keyPath = values['tls-key'];
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (typeof certPath !== 'string' || typeof keyPath !== 'string') return undefined;
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new UsageError(`${flag} ${path} could not be read${typeof code === 'string' ? ` (${code})` : ''}`);
    }
  };
  return { cert: read(certPath, '--tls-cert'), key: read(keyPath, '--tls-key') };
}

/** Sleeps for `ms`, or until `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves on the first SIGINT/SIGTERM (and aborts `controller`). */
export function onInterrupt(controller: AbortController): () => void {
  const handler = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
