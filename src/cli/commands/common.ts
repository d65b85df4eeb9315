import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** Reads a password from --password-file (first line) or --password. */
export function passwordFrom(values: Record<string, unknown>): string | undefined {
  if (typeof values['password-file'] === 'string') {
    const text = readFileSync(values['password-file'], 'utf8').split(/\r?\n/)[0] ?? '';
    if (!text) throw new UsageError(`--password-file ${values['password-file']} is empty`);
    return text;
  }
  return typeof values.password === 'string' ? values.password : undefined;
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
