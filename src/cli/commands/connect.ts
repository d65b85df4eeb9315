import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatBytes, type Output } from '../output.js';
import {
  CloseReason, Helper, HandshakeError, TesseraError, ErrorCode, encodePng, loadInvitationAny, compositeCursor, defaultDownloadsDir,
  type Framebuffer, type Invitation, type HelperConnectOptions, type TransferProgress, type TransferResult,
} from '../../index.js';
import { TransferReporter } from '../transfer-output.js';
import { describeError } from '../errors.js';
import { parseKey } from '../../handshake/index.js';
import { passwordFrom, onInterrupt, sleep, PASSWORD_WAYS } from './common.js';
import { readIdentity } from './identity.js';
import { printable } from '../printable.js';

/** Most characters of a close message shown in one line. */
const CLOSE_MESSAGE_CHARS = 300;

const VIEW_OPTIONS = {
  'request-control': { type: 'boolean' },
  record: { type: 'string' },
  snapshot: { type: 'string' },
  cursor: { type: 'boolean' },
  frames: { type: 'string' },
  duration: { type: 'string' },
  timeout: { type: 'string' },
  'refuse-recorded': { type: 'boolean' },
  send: { type: 'string', multiple: true },
  downloads: { type: 'string' },
  accept: { type: 'string' },
} as const;

const VIEW_USAGE = `  --request-control    ask the host user for control at once
  --record DIR         write every complete frame received as DIR/000001.png, DIR/000002.png, ...
  --snapshot FILE.png  write the last frame when the session ends
  --refuse-recorded    leave at once if the host records the session (it says so in its Welcome; exit 3, refused)
  --cursor             draw the host's pointer (sent on its own channel) into --record and --snapshot PNGs
  --frames N           leave after N frames
  --duration S         leave after S seconds
  --timeout S          give up after S seconds without a session, the host user's decision included
                       (default: 10 s to reach the host, then up to 90 s for the host user to answer)
  --send FILE          send FILE to the host once connected (repeatable); the host user accepts or refuses it.
                       The session then ends once every file is through, unless --frames or --duration is given
  --downloads DIR      where files from the host are saved (default: a tessera folder in your Downloads)
  --accept ask|auto    ask before saving a file from the host (default; refused without a terminal), or save every one
  --json               one JSON object per line: connected, control-changed, transfer-progress, transfer, stats,
                       closed, refused`;

export const runConnect: Command = {
  usage: `usage: tessera connect INVITATION|URL|FILE.eml [options]

Joins a host with an invitation: a .tessera file, a tessera:// URL, or a saved email (.eml) that carries one.
  --password           ask for the invitation's password on the terminal
  --password-file F    the password is the first line of F (for scripts; or set TESSERA_PASSWORD)
                       a password is never taken on the command line (--password VALUE is refused)
${VIEW_USAGE}

The invitation's direct addresses are tried first and its relay, if it names one, a moment later; the first to reach
the host is used ("path" in the connected event: direct or relay).

Exit codes: 0 the session ended (host ended it, or --frames/--duration reached), 3 refused (the code is named),
4 connection failed or --timeout reached, 5 invitation invalid or expired (here, or TICKET_EXPIRED from the host),
6 a file given with --send was refused or failed.`,
  options: { ...VIEW_OPTIONS, password: { type: 'boolean' }, 'password-file': { type: 'string' } },
  positionals: { min: 1, max: 1 },
  async run(values, positionals, out) {
    const target = positionals[0]!;
    // Read without the local expiry check: the host's clock decides (TICKET_EXPIRED); a local check only explains
    // a failed connection below.
    const invitation = await loadInvitationForConnect(target);
    const password = await passwordFrom(values);
    if (invitation.passwordRequired && password === undefined) throw new UsageError(`this invitation needs a password: give it with ${PASSWORD_WAYS}`);
    const controller = new AbortController();
    const stopSignals = onInterrupt(controller);
    try {
      let helper: Helper;
      try {
        helper = await waitForSession(values, out, controller.signal, (o) =>
          Helper.connect(invitation, { ...(password !== undefined ? { password } : {}), requestControl: Boolean(values['request-control']), refuseRecorded: values['refuse-recorded'] === true, ...fileOptions(values, out), ...o }),
        );
      } catch (err) {
        if (!(err instanceof HandshakeError) && invitation.expiresMs <= Date.now()) {
          throw new TesseraError(ErrorCode.InvitationExpired, `the invitation expired at ${new Date(invitation.expiresMs).toLocaleString()} and the host could not be reached`, { cause: err });
        }
        throw err;
      }
      return await view(helper, values, out, controller.signal);
    } finally {
      stopSignals();
    }
  },
};

export const runOffer: Command = {
  usage: `usage: tessera offer [HOST[:PORT]] --identity FILE --host-key KEY [--relay URL] [options]

Offers help to a host that did not invite you. The host's policy must allow offers and list your
identity (by user or group) in its helpers directory, and the host user must accept.
  --identity FILE      your identity from 'tessera keygen'
  --host-key KEY       the host key, as 'tessera host' prints it ("host key (for offers)", 43 characters;
                       also 64 hex digits or padded base64); the connection is refused unless the host proves
                       it holds this key. A fingerprint is not enough: the whole key is needed
  --relay URL          reach the host through a relay where it keeps a standing registration
                       (tessera host --relay URL with offers allowed); with HOST too, both are tried
                       (HOST first) and the first to reach the host is kept
${VIEW_USAGE}`,
  options: { ...VIEW_OPTIONS, identity: { type: 'string' }, 'host-key': { type: 'string' }, relay: { type: 'string' } },
  positionals: { min: 0, max: 1 },
  async run(values, positionals, out) {
    if (typeof values.identity !== 'string') throw new UsageError('offer needs --identity FILE (make one with tessera keygen)');
    if (typeof values['host-key'] !== 'string') throw new UsageError('offer needs --host-key KEY (tessera host prints it)');
    const relay = typeof values.relay === 'string' ? values.relay : undefined;
    if (positionals.length === 0 && relay === undefined) throw new UsageError('offer needs HOST[:PORT] or --relay URL');
    if (relay !== undefined && !/^wss?:\/\//.test(relay)) throw new UsageError('--relay must be a ws:// or wss:// url');
    const hostKey = parseHostKey(values['host-key']);
    const identity = readIdentity(values.identity);
    const controller = new AbortController();
    const stopSignals = onInterrupt(controller);
    try {
      const helper = await waitForSession(values, out, controller.signal, (o) =>
        Helper.offer(positionals[0], { identity, hostKey, ...(relay !== undefined ? { relay } : {}), requestControl: Boolean(values['request-control']), refuseRecorded: values['refuse-recorded'] === true, ...fileOptions(values, out), ...o }),
      );
      return await view(helper, values, out, controller.signal);
    } finally {
      stopSignals();
    }
  },
};

/** The helper's side of file transfer from the options: where files from the host go, and who says yes. */
function fileOptions(values: Record<string, unknown>, out: Output): Pick<HelperConnectOptions, 'downloads' | 'acceptFiles'> {
  const accept = values.accept ?? 'ask';
  if (accept !== 'ask' && accept !== 'auto') throw new UsageError('--accept must be ask or auto');
  const downloads = typeof values.downloads === 'string' ? resolve(values.downloads) : defaultDownloadsDir();
  if (accept === 'auto') return { downloads, acceptFiles: 'auto' };
  return {
    downloads,
    acceptFiles: async (request, signal) => {
      out.event('file-offer', { name: request.name, savedName: request.savedName, size: request.size, sha256: request.sha256 });
      if (!process.stdin.isTTY) {
        out.warn(`the host offers ${printable(request.name, 80)}; refused (no terminal to ask; use --accept auto to save files from the host)`);
        return false;
      }
      return askYesNo(
        `the host sends a file: ${printable(request.name, 80)} (${formatBytes(request.size)}, sha256 ${request.sha256.slice(0, 16)}…); save it as ${printable(request.savedName, 80)} in ${printable(downloads, 300)}? [y/n] `,
        signal,
      );
    },
  };
}

/** One y/n question on the terminal; no answer before `signal` aborts is no. */
async function askYesNo(question: string, signal: AbortSignal): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question, { signal });
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

/** What waitForSession hands the Helper: the deadlines, the cancellation and the consent notice. */
interface WaitOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly consentTimeoutMs?: number;
  readonly onAwaitingConsent: () => void;
}

/**
 * Runs connect or offer so that the helper is never left guessing: once the host has proved its key and asks its
 * user, a 'waiting' event and a ticking line ("waiting for the host user to accept… 12 s"); with --timeout, one
 * deadline over the whole wait, the host user's decision included (TESSERA_ERR_TIMEOUT, exit 4).
 */
async function waitForSession(values: Record<string, unknown>, out: Output, signal: AbortSignal, start: (o: WaitOptions) => Promise<Helper>): Promise<Helper> {
  const timeoutS = numberOption(values.timeout, 'timeout', { min: 1, max: 3600 });
  const deadline = new AbortController();
  const onAbort = (): void => deadline.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = timeoutS !== undefined ? setTimeout(() => ((timedOut = true), deadline.abort()), timeoutS * 1000) : undefined;
  let waitingSince: number | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    return await start({
      signal: deadline.signal,
      timeoutMs: (timeoutS ?? 10) * 1000,
      ...(timeoutS !== undefined ? { consentTimeoutMs: timeoutS * 1000 } : {}),
      onAwaitingConsent: () => {
        waitingSince = Date.now();
        out.event('waiting', { for: 'consent', timeoutS: timeoutS ?? null });
        out.say(`the host proved its key and is asking its user; waiting for them to accept${timeoutS !== undefined ? ` (giving up after ${timeoutS} s in all)` : ''}…`);
        const tick = (): void => out.status(`waiting for the host user to accept… ${Math.round((Date.now() - waitingSince!) / 1000)} s`);
        tick();
        ticker = setInterval(tick, 1000);
        ticker.unref();
      },
    });
  } catch (err) {
    if (timedOut) {
      const what = waitingSince !== undefined ? 'the host user did not answer' : 'the host could not be reached';
      throw new TesseraError(ErrorCode.Timeout, `gave up after ${timeoutS} s: ${what}`, { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    if (waitingSince !== undefined) out.endStatus();
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Reads --host-key in any form tessera prints or stores the host key: the 43 base64url characters of
 * 'tessera host' ("host key (for offers)"), `hostKey` in --json events, `inspect` and the invitation's host-key
 * line, the padded base64 of an older host-key.json, or 64 hex digits. A fingerprint (20 hex digits in groups of
 * four, as inspect and invitation emails showed before) is a hash: it checks a key but cannot stand for one, since
 * the helper needs the whole key before its first message (spec/handshake.md §4), so it is refused with where to
 * find the key.
 */
export function parseHostKey(text: string): Uint8Array {
  const trimmed = text.trim();
  const key = parseKey(trimmed);
  if (key) return key;
  const where = "'tessera host' prints the key as \"host key (for offers)\", 43 characters";
  const digits = trimmed.replace(/[\s:-]/g, '');
  if (/^[0-9a-fA-F]{8,40}$/.test(digits)) {
    throw new UsageError(`--host-key needs the whole host key, not a fingerprint: a fingerprint only checks a key and cannot be turned back into one (${where})`);
  }
  throw new UsageError(`--host-key is not a host key (${where})`);
}

function loadInvitationForConnect(target: string): Promise<Invitation> {
  return loadInvitationAny(target, { now: 0 });
}

/** Watches a connected session until the host ends it, --frames or --duration is reached, or Ctrl-C. */
async function view(helper: Helper, values: Record<string, unknown>, out: Output, signal: AbortSignal): Promise<number> {
  const maxFrames = numberOption(values.frames, 'frames', { min: 1 });
  const durationS = numberOption(values.duration, 'duration', { min: 0.1, max: 86_400, integer: false });
  const recordDir = typeof values.record === 'string' ? values.record : undefined;
  const snapshot = typeof values.snapshot === 'string' ? values.snapshot : undefined;
  if (recordDir) mkdirSync(recordDir, { recursive: true });
  // With --cursor the host's pointer (spec/session.md §6.9) is blended into each PNG at its position less its hotspot.
  const withCursor = values.cursor === true;
  const picture = (fb: Framebuffer): Framebuffer => (withCursor ? compositeCursor(fb, helper.cursor) : { width: fb.width, height: fb.height, data: fb.data.slice() });
  out.event('connected', { mode: helper.mode, width: helper.width, height: helper.height, session: helper.sessionId, remote: helper.remote, path: helper.path, ...(helper.holderFingerprint ? { helperKey: helper.holderFingerprint } : {}) });
  out.say(`connected to ${printable(helper.remote, 80)}${helper.path === 'relay' ? ' through the relay' : ''} (${helper.width}x${helper.height}), ${helper.mode === 'control' ? 'in control' : 'viewing'}`);
  if (helper.holderFingerprint) out.say(`your helper key for this invitation: ${helper.holderFingerprint} (the host's prompt shows it; kept in memory only)`);
  if (helper.recorded) {
    out.event('recorded', { refused: values['refuse-recorded'] === true });
    out.say('this session is recorded by the host');
    // spec/recording.md §1: the protocol has no decline after Welcome; a helper who will not be recorded leaves.
    if (values['refuse-recorded'] === true) {
      await helper.close(CloseReason.HelperLeft, 'the helper declined a recorded session');
      out.say('leaving: you asked not to be recorded (--refuse-recorded)');
      return ExitCode.Refused;
    }
  }

  let recorded = 0;
  let writes: Promise<void> = Promise.resolve();
  const record = (fb: Framebuffer) => {
    const copy = picture(fb);
    const n = ++recorded;
    writes = writes.then(async () => {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(recordDir!, `${String(n).padStart(6, '0')}.png`), await encodePng(copy, 1));
    });
  };

  const done = new AbortController();
  const finish = () => done.abort();
  signal.addEventListener('abort', finish, { once: true });
  let frames = 0;
  helper.on('frame', () => {
    frames++;
    if (recordDir) record(helper.framebuffer);
    if (maxFrames !== undefined && frames >= maxFrames) finish();
  });
  helper.on('control', ({ mode, paused }: { mode: string; paused: boolean }) => {
    out.event('control-changed', { mode, paused });
    out.say(paused ? 'the host paused your input' : mode === 'control' ? 'you are in control' : 'you are viewing (no control)');
  });
  helper.on('chat', (text: string) => {
    out.event('chat', { text });
    out.say(`host: ${printable(text)}`);
  });
  const files = new TransferReporter(out);
  helper.on('transfer-progress', (p: TransferProgress) => files.progress(p, helper.remote));
  helper.on('transfer', (r: TransferResult) => files.result(r, helper.remote));
  const toSend = (values.send as string[] | undefined) ?? [];
  let sendFailed = false;
  if (toSend.length > 0) {
    void (async () => {
      if (!helper.canTransfer) {
        out.warn('this host takes no files (it offered no file transfer); nothing was sent');
        sendFailed = true;
      }
      for (const path of helper.canTransfer ? toSend : []) {
        if (done.signal.aborted) break;
        try {
          const r = await helper.sendFile(resolve(path));
          if (!r.ok) sendFailed = true;
        } catch (err) {
          sendFailed = true;
          out.event('transfer-error', { path, code: (err as { code?: string }).code ?? null, message: (err as Error).message });
          out.warn(`could not send ${printable(path, 300)}: ${printable(describeError(err as Error))}`);
        }
      }
      // The files were what this session was for, unless the options keep it open.
      if (maxFrames === undefined && durationS === undefined) finish();
    })();
  }
  helper.on('close', finish);
  // The session may have ended before connect resolved (a host that closes at once): then there is nothing to wait for.
  if (helper.closed) finish();
  if (durationS !== undefined) setTimeout(finish, durationS * 1000).unref();

  const started = Date.now();
  const stats = setInterval(() => {
    const s = helper.stats;
    const secs = (Date.now() - started) / 1000;
    out.status(`frames ${s.frames} (${(s.frames / secs).toFixed(1)}/s)  received ${formatBytes(s.bytesReceived)}  rtt ${s.rttMs ?? '-'} ms  ${helper.mode}`);
  }, 500);
  stats.unref();
  await sleep(2 ** 31 - 1, done.signal);
  clearInterval(stats);
  out.endStatus();

  const closedByHost = helper.closed;
  const info = closedByHost ? await helper.closedPromise() : await helper.close();
  await writes;
  if (snapshot) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(snapshot, await encodePng(picture(helper.framebuffer), 6));
    out.say(`last frame written to ${printable(snapshot)}`);
  }
  const s = helper.stats;
  out.event('stats', { frames: s.frames, bytesReceived: s.bytesReceived, bytesSent: s.bytesSent, rttMs: s.rttMs ?? null, recorded });
  out.event('closed', { reason: info.reason, code: info.error?.code ?? null, message: info.message ?? null, frames: s.frames, bytesReceived: s.bytesReceived, bytesSent: s.bytesSent });
  out.say(`session closed (${printable(info.reason)}${info.message ? `: ${printable(info.message, CLOSE_MESSAGE_CHARS)}` : ''}); ${s.frames} frames, ${formatBytes(s.bytesReceived)} received${recordDir ? `, ${recorded} frames recorded in ${recordDir}` : ''}`);
  if (info.error && info.reason === 'protocol-error') return 1;
  return sendFailed ? 6 : 0;
}

