/** Human or JSON-lines output for the tessera command. */
export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  #statusShown = false;
  readonly #tty: boolean;

  constructor(options: { json: boolean; debug: boolean }) {
    this.json = options.json;
    this.debug = options.debug;
    this.#tty = Boolean(process.stderr.isTTY);
  }

  /** A machine-readable event (JSON mode only): one JSON object per line with an `event` field. */
  event(event: string, fields: Record<string, unknown> = {}): void {
    if (this.json) process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
  }

  /** A line for people (human mode only). */
  say(line: string): void {
    if (this.json) return;
    this.#clearStatus();
    process.stdout.write(line + '\n');
  }

  /** A warning for people, on stderr in both modes. */
  warn(line: string): void {
    this.#clearStatus();
    process.stderr.write(`warning: ${line}\n`);
  }

  /** A live one-line status on stderr (TTY only, human mode). */
  status(line: string): void {
    if (this.json || !this.#tty) return;
    process.stderr.write(`\r\x1b[2K${line}`);
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
