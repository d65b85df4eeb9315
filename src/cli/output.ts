import { printable, printableLines, terminalSafeJson } from './printable.js';

/**
 * Human or JSON-lines output for the tessera command. Fields a peer controls are passed through `printable` where
 * the line is composed; `say`, `warn` and `status` escape control characters once more as a second line of defence
 * (keeping only the newlines of a multi-line message), and JSON lines escape what JSON.stringify leaves raw (C1 and
 * bidirectional controls) as \uXXXX, which parses to the same value.
 */
export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  #statusShown = false;
  readonly #tty: boolean;
  #live: { clear(): void; redraw(): void } | undefined;

  constructor(options: { json: boolean; debug: boolean }) {
    this.json = options.json;
    this.debug = options.debug;
    this.#tty = Boolean(process.stderr.isTTY);
  }

  /** A machine-readable event (JSON mode only): one JSON object per line with an `event` field. */
  event(event: string, fields: Record<string, unknown> = {}): void {
    if (this.json) process.stdout.write(terminalSafeJson(JSON.stringify({ event, ...fields })) + '\n');
  }

  /** A line for people (human mode only). */
  say(line: string): void {
    if (this.json) return;
    this.#clearStatus();
    this.#live?.clear();
    process.stdout.write(printableLines(line) + '\n');
    this.#live?.redraw();
  }

  /** A warning for people, on stderr in both modes. */
  warn(line: string): void {
    this.#clearStatus();
    this.#live?.clear();
    process.stderr.write(`warning: ${printableLines(line)}\n`);
    this.#live?.redraw();
  }

  /**
   * A line the user is typing at the bottom of the terminal (the host's chat line), or undefined once it is done:
   * meanwhile lines are written above it (it is erased, then drawn again) and the status line is not shown.
   */
  setLiveLine(line: { clear(): void; redraw(): void } | undefined): void {
    this.#live = line;
  }

  /** A progress line for people on stderr, in both modes (the caller paces it); it clears the status line first. */
  progress(line: string): void {
    if (this.json) return;
    this.#clearStatus();
    this.#live?.clear();
    process.stderr.write(`${printable(line)}\n`);
    this.#live?.redraw();
  }

  /** A live one-line status on stderr (TTY only, human mode). */
  status(line: string): void {
    if (this.json || !this.#tty || this.#live) return;
    process.stderr.write(`\r\x1b[2K${printable(line)}`);
    this.#statusShown = true;
  }

  #clearStatus(): void {
    if (this.#statusShown) {
      process.stderr.write('\r\x1b[2K');
      this.#statusShown = false;
    }
  }

  /** Ends the status line so later output starts on a fresh line. */
  endStatus(): void {
    this.#clearStatus();
  }
}

/** Formats a byte count for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}
