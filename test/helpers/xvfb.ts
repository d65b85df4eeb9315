/**
 * Test helper: a private Xvfb server per test file, plus small X11 utilities (run a client program, wait for a
 * window, read an `xwd` dump).
 *
 * `startXvfb()` lets the server pick a free display itself (`-displayfd`), which cannot race with other test
 * files doing the same; it starts with `-noreset` so the server keeps its state when the last client leaves.
 * Every process started through {@link XServer.spawn} runs in its own process group and is killed with the server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** True when an executable of that name is on PATH. */
export function hasProgram(name: string): boolean {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return true;
  }
  return false;
}

/**
 * Why X11 tests cannot run here, or undefined when they can: Xvfb and the given client programs must be installed.
 * Use as `t.test(name, { skip: xvfbMissing(['xwd']) }, ...)`.
 */
export function xvfbMissing(programs: readonly string[] = []): string | false {
  const missing = ['Xvfb', ...programs].filter((p) => !hasProgram(p));
  return missing.length === 0 ? false : `X11 test skipped: ${missing.join(', ')} not installed (Debian: xvfb, x11-apps, x11-utils, xterm, xdotool)`;
}

/** Options of {@link startXvfb}. */
export interface XvfbOptions {
  readonly width?: number;
  readonly height?: number;
  /** Colour depth (default 24). */
  readonly depth?: number;
  /** Startup deadline (default 10 s). */
  readonly timeoutMs?: number;
}

/** A running Xvfb. */
export interface XServer {
  /** The display name, e.g. ':12'. */
  readonly display: string;
  /** Environment for X clients of this server. */
  readonly env: NodeJS.ProcessEnv;
  /** Starts an X client on this display (extra environment in `env`); it is killed (with its process group) by `stop()`. */
  spawn(command: string, args?: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs an X client to completion and returns its stdout (throws on a non-zero exit). */
  run(command: string, args?: readonly string[], options?: { encoding?: 'utf8' | 'buffer'; timeoutMs?: number }): Buffer;
  /** Kills the clients started by `spawn`, then the server. */
  stop(): Promise<void>;
}

/** Starts Xvfb on a free display and waits until it accepts connections. */
export async function startXvfb(options: XvfbOptions = {}): Promise<XServer> {
  const width = options.width ?? 1024;
  const height = options.height ?? 768;
  const depth = options.depth ?? 24;
  const timeoutMs = options.timeoutMs ?? 10_000;
  // fd 3 receives the display number once the server is ready for connections.
  const server = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height}x${depth}`, '-noreset', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  const displayNumber = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => fail(new Error(`Xvfb did not start within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
    const fd3 = server.stdio[3] as NodeJS.ReadableStream | null;
    const fail = (err: Error) => {
      clearTimeout(timer);
      killGroup(server);
      reject(err);
    };
    server.once('error', (err) => fail(err));
    server.once('exit', (code) => fail(new Error(`Xvfb exited with ${code}: ${stderr.trim()}`)));
    fd3?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /^(\d+)\n/.exec(text);
      if (match) {
        clearTimeout(timer);
        server.removeAllListeners('exit');
        resolve(Number(match[1]));
      }
    });
  });
  const display = `:${displayNumber}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: display };
  delete env['XAUTHORITY'];
  const children = new Set<ChildProcess>();
  let stopped = false;
  return {
    display,
    env,
    spawn(command, args = [], extraEnv = {}) {
      const child = spawn(command, [...args], { env: { ...env, ...extraEnv }, stdio: 'ignore', detached: true });
      child.on('error', () => {});
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    run(command, args = [], runOptions = {}) {
      const result = spawnSync(command, [...args], { env, timeout: runOptions.timeoutMs ?? 10_000, maxBuffer: 256 * 1024 * 1024 });
      if (result.error) throw result.error;
      if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}: ${result.stderr.toString().trim()}`);
      return result.stdout;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const child of children) killGroup(child);
      const exited = new Promise<void>((resolve) => {
        if (server.exitCode !== null || server.signalCode !== null) resolve();
        else server.once('exit', () => resolve());
      });
      killGroup(server);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000).unref())]);
      if (server.exitCode === null && server.signalCode === null) killGroup(server, 'SIGKILL');
    },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An image read from an XWD dump, converted to RGBA. */
export interface XwdImage {
  readonly width: number;
  readonly height: number;
  /** RGBA, rows packed, alpha 255. */
  readonly data: Uint8Array;
}

const XWD_FILE_VERSION = 7;
const XWD_HEADER_FIELDS = 25; // 25 CARD32 fields, then the window name.
const XWD_COLOR_SIZE = 12; // pixel u32, red u16, green u16, blue u16, flags u8, pad u8.
const Z_PIXMAP = 2;

/**
 * Parses an XWD file (what `xwd -root -silent` writes) of a 24- or 32-bit TrueColor image into RGBA.
 * Header fields are big-endian CARD32s; the colormap entries follow the window name; then the pixels in the
 * server's image byte order, with the channel positions given by the header's red/green/blue masks.
 */
export function parseXwd(file: Uint8Array): XwdImage {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const field = (index: number): number => {
    if ((index + 1) * 4 > file.byteLength) throw new Error('xwd: truncated header');
    return view.getUint32(index * 4, false);
  };
  const headerSize = field(0);
  const version = field(1);
  if (version !== XWD_FILE_VERSION) throw new Error(`xwd: unsupported file version ${version}`);
  if (headerSize < XWD_HEADER_FIELDS * 4 || headerSize > file.byteLength) throw new Error('xwd: bad header size');
  const format = field(2);
  const width = field(4);
  const height = field(5);
  const byteOrder = field(7); // 0 LSBFirst, 1 MSBFirst.
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const redMask = field(14);
  const greenMask = field(15);
  const blueMask = field(16);
  const ncolors = field(19); // Colormap entries written after the name (field 18 is the visual's colormap size).
  if (format !== Z_PIXMAP) throw new Error(`xwd: unsupported format ${format}`);
  if (bitsPerPixel !== 32 && bitsPerPixel !== 24) throw new Error(`xwd: unsupported ${bitsPerPixel} bits per pixel`);
  const pixelsAt = headerSize + ncolors * XWD_COLOR_SIZE;
  const bytesPerPixel = bitsPerPixel / 8;
  if (pixelsAt + bytesPerLine * height > file.byteLength) throw new Error('xwd: truncated pixels');
  const shiftOf = (mask: number): number => {
    let shift = 0;
    while (shift < 32 && ((mask >>> shift) & 1) === 0) shift++;
    return shift;
  };
  const rs = shiftOf(redMask);
  const gs = shiftOf(greenMask);
  const bs = shiftOf(blueMask);
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    let src = pixelsAt + y * bytesPerLine;
    let dst = y * width * 4;
    for (let x = 0; x < width; x++) {
      let pixel = 0;
      if (byteOrder === 0) {
        for (let i = bytesPerPixel - 1; i >= 0; i--) pixel = pixel * 256 + file[src + i]!;
      } else {
        for (let i = 0; i < bytesPerPixel; i++) pixel = pixel * 256 + file[src + i]!;
      }
      out[dst] = ((pixel & redMask) >>> rs) & 0xff;
      out[dst + 1] = ((pixel & greenMask) >>> gs) & 0xff;
      out[dst + 2] = ((pixel & blueMask) >>> bs) & 0xff;
      out[dst + 3] = 255;
      src += bytesPerPixel;
      dst += 4;
    }
  }
  return { width, height, data: out };
}

/**
 * Starts `xterm -e sh -c 'cat > FILE'` in a UTF-8 locale on `server`, waits for its window and gives it the keyboard
 * focus; returns FILE, which holds each line typed into the terminal once it is complete. Removed at teardown.
 */
export async function startCatTerminal(t: { teardown(fn: () => unknown): void }, server: XServer): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'typed.txt');
  writeFileSync(file, '');
  const title = `tessera-cat-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  server.spawn('xterm', ['-title', title, '-geometry', '80x12+20+20', '-e', 'sh', '-c', `cat > '${file}'`], { LC_ALL: 'C.UTF-8' });
  await focusWindow(server, title);
  return file;
}

/**
 * Waits for the window titled `title` and gives it the input focus. No window manager runs on the test server, so
 * the focus is set directly (retried: the window may be found a moment before it is viewable, when SetInputFocus
 * fails with BadMatch).
 */
export async function focusWindow(server: XServer, title: string): Promise<void> {
  const wid = server.run('xdotool', ['search', '--sync', '--onlyvisible', '--name', title]).toString().trim().split('\n')[0]!;
  await waitUntil('the window to take the focus', () => {
    try {
      server.run('xdotool', ['windowfocus', '--sync', wid]);
      return true;
    } catch {
      return false;
    }
  }, 5_000, 50);
}
