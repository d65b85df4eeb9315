/**
 * The helper side of test/attack/hostile-host.test.ts, one process per attack so its peak RSS is its own.
 * Reads a JSON job from argv[2] ({ url, maxWidth?, maxHeight?, deadlineMs }), connects a real Helper
 * (Helper.attach over TCP) and prints one JSON line on stdout when the session ends or the deadline passes:
 * { closed, reason, code, message, frames, maxRssMiB } (reason 'refused' when attach itself failed). A crash shows as a non-zero exit without that line.
 */
import { connect } from 'node:net';
import { Helper, readInvitation } from '../../src/index.js';

interface Job {
  readonly url: string;
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  readonly deadlineMs: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const invitation = readInvitation(job.url, { now: Date.now });
const address = invitation.addresses[0]!;
const socket = connect({ host: address.host, port: address.port });
await new Promise<void>((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('error', reject);
});
let helper: Helper;
try {
  helper = await Helper.attach(socket, {
    handshake: { invitation },
    ...(job.maxWidth !== undefined ? { maxWidth: job.maxWidth } : {}),
    ...(job.maxHeight !== undefined ? { maxHeight: job.maxHeight } : {}),
  });
} catch (err) {
  // Refused at the Welcome (a screen larger than this helper accepts): the connection never became a session.
  const e = err as { code?: string; message?: string };
  const report = { closed: true, reason: 'refused', code: e.code, message: e.message, frames: 0, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
helper.on('error', () => {});
let frames = 0;
helper.on('frame', () => frames++);
let timer: NodeJS.Timeout | undefined;
const outcome = await Promise.race([
  helper.closedPromise(),
  new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), job.deadlineMs))),
]);
clearTimeout(timer);
const report = {
  closed: outcome !== undefined,
  reason: outcome?.reason,
  code: outcome?.error?.code,
  message: outcome?.error?.message ?? outcome?.message,
  frames,
  maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
};
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
