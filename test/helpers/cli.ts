/** Runs the real tessera command as a child process, for CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/tessera.js');

/**
 * Whether dist/ holds a build of exactly today's sources: a compiled file for every source file, each written
 * after the newest source was changed. Then the spawned commands run it (TESSERA_USE_DIST, bin/tessera.js) and
 * skip the TypeScript loader, about 0.8 s per command; otherwise they run the sources, so a stale build is never tested.
 */
function distIsFresh(): boolean {
  const src = join(ROOT, 'src');
  let newestSource = 0;
  let oldestBuild = Infinity;
  const walk = (dir: string): boolean => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!walk(path)) return false;
        continue;
      }
      if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const built = join(ROOT, 'dist', relative(ROOT, path).replace(/\.ts$/, '.js'));
      if (!existsSync(built)) return false;
      newestSource = Math.max(newestSource, statSync(path).mtimeMs);
      oldestBuild = Math.min(oldestBuild, statSync(built).mtimeMs);
    }
    return true;
  };
  try {
    return walk(src) && newestSource < oldestBuild;
  } catch {
    return false;
  }
}

const USE_DIST = process.env.TESSERA_USE_DIST ?? (distIsFresh() ? '1' : '0');

/**
 * The environment of a spawned command: the given one (or this process's) plus TESSERA_USE_DIST, without the
 * process-tracking module tap puts in NODE_OPTIONS for its children (about 1.4 s of start-up per command, for
 * coverage this suite does not collect).
 */
export function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...(env ?? process.env), TESSERA_USE_DIST: USE_DIST };
  const options = (out.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && !o.includes('@tapjs/processinfo'));
  if (options.length > 0) out.NODE_OPTIONS = options.join(' ');
  else delete out.NODE_OPTIONS;
  return out;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON lines (lines that are not JSON are skipped). */
  readonly events: Array<Record<string, unknown>>;
}

/** Runs `tessera ARGS` to completion (killed after timeoutMs). */
export function runCli(args: string[], options: { timeoutMs?: number; input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, events: parseEvents(stdout) });
    });
  });
}

function parseEvents(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not an event line.
    }
  }
  return out;
}

/** A long-running tessera process (a host) whose JSON events are read as they come. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  /** Everything written to stdout so far, human lines included. */
  stdout = '';
  readonly #waiters: Array<{ pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], options: { keepStdinOpen?: boolean; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(options.env) });
    if (!options.keepStdinOpen) this.child.stdin!.end();
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.child.stdout!.on('data', (d) => (this.stdout += d));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      this.events.push(ev);
      for (const w of [...this.#waiters]) {
        if (w.pred(ev)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(ev);
        }
      }
    });
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }

  /** Resolves with the first event (past or future) named `name` that matches `pred`; rejects after timeoutMs. */
  waitFor(name: string, pred: (e: Record<string, unknown>) => boolean = () => true, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const match = (e: Record<string, unknown>) => e.event === name && pred(e);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${name}' event within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.#waiters.push({ pred: match, resolve: (e) => (clearTimeout(timer), resolvePromise(e)) });
    });
  }

  /** Resolves with the first match of `re` in stdout (human output); rejects after timeoutMs. */
  waitForOutput(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return this.#waitForText(() => this.stdout, re, timeoutMs);
  }

  /** Resolves with the first match of `re` in stderr (warnings arrive on their own pipe, after or before stdout's events). */
  waitForStderr(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return this.#waitForText(() => this.stderr, re, timeoutMs);
  }

  async #waitForText(text: () => string, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    for (let waited = 0; waited <= timeoutMs; waited += 20) {
      const m = text().match(re);
      if (m) return m;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no output matching ${re} within ${timeoutMs} ms; stdout: ${this.stdout}; stderr: ${this.stderr}`);
  }

  /** Writes a line to the process's stdin. */
  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
