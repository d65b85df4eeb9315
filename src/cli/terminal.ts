/**
 * The host's terminal: answers consent prompts (y/n), hotkeys (Esc revokes control, p pauses or resumes input,
 * x ends every session) and chat lines for the helpers. Raw keys on a TTY, where c starts a chat line; lines
 * otherwise ("y", "n", "revoke", "pause", "end", "/send PATH" sends a file, and any other line is chat).
 */
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from './errors.js';
import { printable, printableLines } from './printable.js';

export interface TerminalHandlers {
  onRevoke(): void;
  onPause(): void;
  onEnd(): void;
  onInterrupt(): void;
  /** A chat line the host user typed: not empty, at most `maxChatBytes` UTF-8 bytes. */
  onChat(text: string): void;
  /** "/send PATH" typed as a line (or as a chat line on a TTY): send that file to the helpers. */
  onSend?(path: string): void;
}

/** A typed line that sends a file: "/send PATH". */
const SEND_COMMAND = /^\/send\s+(.+)$/;

/** Options of HostTerminal. */
export interface HostTerminalOptions {
  /** Longest chat line in UTF-8 bytes (the session's chat cap, spec/session.md §1). */
  readonly maxChatBytes: number;
  /**
   * Told when a chat line is being typed on a TTY (and when it is no longer, with undefined), so that other output
   * clears the line first and draws it again after (Output.setLiveLine).
   */
  readonly onTyping?: (line: LiveLine | undefined) => void;
}

/** A line being edited at the bottom of the terminal, which other output goes around. */
export interface LiveLine {
  /** Erases the line (the cursor goes back to its start). */
  clear(): void;
  /** Draws the line again after other output. */
  redraw(): void;
}

/** What a TTY shows before the chat line being typed. */
const CHAT_PROMPT = 'message to the helper (Enter sends, Esc cancels): ';
const ERASE_LINE = '\r\x1b[2K';

export class HostTerminal implements LiveLine {
  readonly #handlers: TerminalHandlers;
  readonly #options: HostTerminalOptions;
  #pending: ((answer: boolean) => void) | undefined;
  #cleanup: (() => void) | undefined;
  /** The chat line being typed on a TTY; undefined when none is. */
  #draft: string | undefined;
  /** A question asked while a chat line was being typed: shown again once the line is sent or cancelled. */
  #deferred: string | undefined;

  constructor(handlers: TerminalHandlers, options: HostTerminalOptions) {
    this.#handlers = handlers;
    this.#options = options;
  }

  /** Whether a chat line is being typed. */
  get typing(): boolean {
    return this.#draft !== undefined;
  }

  start(): void {
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      stdin.resume();
      const decoder = new StringDecoder('utf8');
      const onData = (buf: Buffer) => this.#keys([...decoder.write(buf)]);
      stdin.on('data', onData);
      this.#cleanup = () => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
      };
    } else {
      const rl = createInterface({ input: stdin });
      rl.on('line', (line) => this.#line(line));
      this.#cleanup = () => rl.close();
    }
  }

  stop(): void {
    if (this.#draft !== undefined) this.#endChat('\n');
    this.#cleanup?.();
    this.#cleanup = undefined;
  }

  /**
   * Asks a yes/no question; resolves false after `timeoutMs` or on abort. Questions are asked one at a time:
   * a second helper's request waits until the first is answered (or is dropped if its requester gave up meanwhile).
   * A question that comes while a chat line is being typed waits for the line to be sent or cancelled: the keys
   * typed for the line never answer it.
   */
  ask(question: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const answer = this.#queue.then(() => (signal?.aborted ? false : this.#askNow(question, timeoutMs, signal)));
    this.#queue = answer.catch(() => false);
    return answer;
  }

  #queue: Promise<unknown> = Promise.resolve();

  #askNow(question: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    // The caller escaped the fields a peer controls; this keeps any that slipped through from sending escapes.
    const shown = printableLines(question);
    if (this.#draft !== undefined) {
      this.#deferred = shown;
      this.#print(`${shown}\n(send or cancel your message first, then answer)\n`);
    } else {
      process.stderr.write(shown);
    }
    return new Promise((resolve) => {
      const done = (answer: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#pending === finish) this.#pending = undefined;
        if (this.#deferred === shown) this.#deferred = undefined;
        resolve(answer);
      };
      const finish = (answer: boolean) => {
        process.stderr.write(answer ? 'yes\n' : 'no\n');
        done(answer);
      };
      const onAbort = () => {
        this.#print('(cancelled)\n');
        done(false);
      };
      const timer = setTimeout(() => {
        this.#print(`no (no answer in ${Math.round(timeoutMs / 1000)} s)\n`);
        done(false);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending = finish;
    });
  }

  /** Erases the chat line being typed (LiveLine). */
  clear(): void {
    if (this.#draft !== undefined) process.stderr.write(ERASE_LINE);
  }

  /** Draws the chat line being typed (LiveLine). */
  redraw(): void {
    if (this.#draft !== undefined) process.stderr.write(`${ERASE_LINE}${CHAT_PROMPT}${this.#draft}`);
  }

  /** Writes a line of ours on stderr, around the chat line being typed. */
  #print(text: string): void {
    this.clear();
    process.stderr.write(text);
    this.redraw();
  }

  #keys(chars: string[]): void {
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (this.#draft === undefined) {
        this.#key(ch);
        continue;
      }
      // Arrow and function keys (ESC [ ... or ESC O x) are not an Esc press while typing; they are dropped.
      if (ch === '\x1b' && (chars[i + 1] === '[' || chars[i + 1] === 'O')) {
        i += 2;
        while (i < chars.length && !/[@-~]/.test(chars[i]!)) i++;
        continue;
      }
      this.#chatKey(ch);
    }
  }

  #key(ch: string): void {
    if (ch === '\x03') return this.#handlers.onInterrupt(); // Ctrl-C
    const key = ch.toLowerCase();
    if (this.#pending && (key === 'y' || key === 'n')) return this.#pending(key === 'y');
    if (ch === '\x1b') return this.#handlers.onRevoke(); // Esc, as in Windows Remote Assistance
    if (key === 'p') return this.#handlers.onPause();
    if (key === 'x') return this.#handlers.onEnd();
    if (key === 'c') return this.#startChat();
  }

  #startChat(): void {
    this.#draft = '';
    this.#options.onTyping?.(this);
    this.redraw();
  }

  #chatKey(ch: string): void {
    const draft = this.#draft!;
    if (ch === '\x03') return this.#handlers.onInterrupt();
    if (ch === '\r' || ch === '\n') {
      this.#endChat('\n');
      const send = SEND_COMMAND.exec(draft.trim());
      if (send && this.#handlers.onSend) this.#handlers.onSend(send[1]!);
      else if (draft.trim() !== '') this.#handlers.onChat(draft);
      return this.#askAgain();
    }
    if (ch === '\x1b') {
      this.#endChat('\n(message cancelled; Esc again revokes control)\n');
      return this.#askAgain();
    }
    if (ch === '\x7f' || ch === '\b') {
      this.#draft = [...draft].slice(0, -1).join('');
      return this.redraw();
    }
    if (ch === '\x15') {
      // Ctrl-U: start the line again.
      this.#draft = '';
      return this.redraw();
    }
    // Printable characters only, within the session's chat cap.
    if (printable(ch) !== ch) return;
    if (Buffer.byteLength(draft + ch, 'utf8') > this.#options.maxChatBytes) return void process.stderr.write('\x07');
    this.#draft = draft + ch;
    process.stderr.write(ch);
  }

  #endChat(after: string): void {
    this.#draft = undefined;
    this.#options.onTyping?.(undefined);
    process.stderr.write(after);
  }

  /** Shows again the question that came while a chat line was being typed; now y or n answers it. */
  #askAgain(): void {
    if (this.#deferred === undefined) return;
    process.stderr.write(this.#deferred);
    this.#deferred = undefined;
  }

  #line(raw: string): void {
    const text = raw.trim();
    const line = text.toLowerCase();
    if (line === '') return;
    if (line === 'y' || line === 'yes' || line === 'n' || line === 'no') {
      if (this.#pending) return this.#pending(line.startsWith('y'));
      // A late answer is not a message for the helper.
      return void process.stderr.write('(no question is waiting for an answer; nothing was sent)\n');
    }
    if (line === 'revoke' || line === 'esc') return this.#handlers.onRevoke();
    if (line === 'pause') return this.#handlers.onPause();
    if (line === 'end') return this.#handlers.onEnd();
    const send = SEND_COMMAND.exec(text);
    if (send && this.#handlers.onSend) return this.#handlers.onSend(send[1]!);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#options.maxChatBytes) {
      return void process.stderr.write(`(not sent: a message is at most ${this.#options.maxChatBytes} bytes, this one has ${bytes})\n`);
    }
    this.#handlers.onChat(text);
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
