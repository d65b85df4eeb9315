/**
 * The host's terminal: answers consent prompts (y/n) and hotkeys (Esc revokes control, p pauses input,
 * x ends every session). Raw keys on a TTY; lines ("y", "n", "revoke", "pause", "end") otherwise.
 */
import { createInterface } from 'node:readline';
import { UsageError } from './errors.js';
import { printableLines } from './printable.js';

export interface TerminalHandlers {
  onRevoke(): void;
  onPause(): void;
  onEnd(): void;
  onInterrupt(): void;
}

export class HostTerminal {
  readonly #handlers: TerminalHandlers;
  #pending: ((answer: boolean) => void) | undefined;
  #cleanup: (() => void) | undefined;

  constructor(handlers: TerminalHandlers) {
    this.#handlers = handlers;
  }

  start(): void {
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.resume();
      const onData = (buf: Buffer) => {
        for (const byte of buf) this.#key(byte);
      };
      stdin.on('data', onData);
      this.#cleanup = () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
      };
    } else {
      const rl = createInterface({ input: stdin });
      rl.on('line', (line) => this.#line(line.trim().toLowerCase()));
      this.#cleanup = () => rl.close();
    }
  }

  stop(): void {
    this.#cleanup?.();
    this.#cleanup = undefined;
  }

  /**
   * Asks a yes/no question; resolves false after `timeoutMs` or on abort. Questions are asked one at a time:
   * a second helper's request waits until the first is answered (or is dropped if its requester gave up meanwhile).
   */
  ask(question: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const answer = this.#queue.then(() => (signal?.aborted ? false : this.#askNow(question, timeoutMs, signal)));
    this.#queue = answer.catch(() => false);
    return answer;
  }

  #queue: Promise<unknown> = Promise.resolve();

  #askNow(question: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    // The caller escaped the fields a peer controls; this keeps any that slipped through from sending escapes.
    process.stderr.write(printableLines(question));
    return new Promise((resolve) => {
      const done = (answer: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#pending === finish) this.#pending = undefined;
        resolve(answer);
      };
      const finish = (answer: boolean) => {
        process.stderr.write(answer ? 'yes\n' : 'no\n');
        done(answer);
      };
      const onAbort = () => {
        process.stderr.write('(cancelled)\n');
        done(false);
      };
      const timer = setTimeout(() => {
        process.stderr.write(`no (no answer in ${Math.round(timeoutMs / 1000)} s)\n`);
        done(false);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending = finish;
    });
  }

  #key(byte: number): void {
    if (byte === 3) return this.#handlers.onInterrupt(); // Ctrl-C
    const ch = String.fromCharCode(byte).toLowerCase();
    if (this.#pending && (ch === 'y' || ch === 'n')) return this.#pending(ch === 'y');
    if (byte === 27) return this.#handlers.onRevoke(); // Esc, as in Windows Remote Assistance
    if (ch === 'p') return this.#handlers.onPause();
    if (ch === 'x') return this.#handlers.onEnd();
  }

  #line(line: string): void {
    if (this.#pending && (line === 'y' || line === 'yes' || line === 'n' || line === 'no')) return this.#pending(line.startsWith('y'));
    if (line === 'revoke' || line === 'esc') return this.#handlers.onRevoke();
    if (line === 'pause') return this.#handlers.onPause();
    if (line === 'end') return this.#handlers.onEnd();
  }
}

/**
 * Reads a password from the terminal without echo.
 * @throws {UsageError} when stdin is not a terminal
 */
export async function askPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError('--password asks on a terminal and there is none; in scripts use --password-file F or the TESSERA_PASSWORD environment variable');
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          cleanup();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          cleanup();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    const cleanup = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}
