/**
 * Attacker child process for test/attack/load.test.ts and `npm run soak`: waves of concurrent handshakes with wrong
 * proofs (a real invitation with a tampered secret, a wrong password, an unknown ticket) from its own loopback
 * address, until `durationMs` has passed (at least one wave) and, with `untilAddressFailures`, until that many
 * attempts were refused in a way the host counts against the address (BAD_PROOF, TICKET_UNKNOWN; bounded by
 * `maxDurationMs`), so a loaded machine that fits fewer waves in the window still reaches the address throttle. Prints one JSON line: attempts and refusals by code.
 * Usage: node --import tsx test/attack/wrong-ticket-client.ts '<json options>'
 */
import { connect } from 'node:net';
import { Invitation, readInvitation, type HandshakeError } from '../../src/index.js';
import { connectHandshake } from '../../src/transport/handshake-io.js';

interface Options {
  port: number;
  /** Each attempt uses one of these, in turn. */
  targets: { url: string; password?: string; tamper?: 'secret' | 'ticket' }[];
  concurrency: number;
  durationMs: number;
  /** Keep going after durationMs until this many failures counted against the address, for at most maxDurationMs. */
  untilAddressFailures?: number;
  maxDurationMs?: number;
  localAddress: string;
}
const o = JSON.parse(process.argv[2]!) as Options;

function tampered(url: string, how: 'secret' | 'ticket' | undefined): Invitation {
  const inv = readInvitation(url, { now: Date.now() });
  if (!how) return inv;
  const flip = (b: Uint8Array) => {
    const c = b.slice();
    c[0] = c[0]! ^ 0xff;
    return c;
  };
  return new Invitation({ ...inv, ...(how === 'secret' ? { secret: flip(inv.secret) } : { ticketId: flip(inv.ticketId) }) });
}

const invitations = o.targets.map((t) => ({ invitation: tampered(t.url, t.tamper), password: t.password }));
const byCode: Record<string, number> = {};
let attempts = 0;
let next = 0;

async function attempt(): Promise<void> {
  const target = invitations[next++ % invitations.length]!;
  attempts++;
  const socket = connect({ host: '127.0.0.1', port: o.port, localAddress: o.localAddress });
  socket.on('error', () => {});
  let code: string;
  try {
    await connectHandshake(socket, { invitation: target.invitation, requestMode: 'view', timeoutMs: 20_000, ...(target.password !== undefined ? { password: target.password } : {}) });
    code = 'ACCEPTED';
  } catch (err) {
    code = (err as HandshakeError).refusal ?? (err as { code?: string }).code ?? 'ERROR';
  }
  socket.destroy();
  byCode[code] = (byCode[code] ?? 0) + 1;
}

const started = Date.now();
let waves = 0;
do {
  await Promise.all(Array.from({ length: o.concurrency }, attempt));
  waves++;
} while (
  Date.now() - started < o.durationMs ||
  ((byCode['BAD_PROOF'] ?? 0) + (byCode['TICKET_UNKNOWN'] ?? 0) < (o.untilAddressFailures ?? 0) && Date.now() - started < (o.maxDurationMs ?? 30_000))
);
process.stdout.write(JSON.stringify({ attempts, waves, byCode, ms: Date.now() - started }) + '\n');
