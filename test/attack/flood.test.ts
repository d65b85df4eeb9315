/**
 * The invited helper gets in during a flood (spec/handshake.md §8, §9): idle sockets from 200 addresses
 * (127.0.x.y on loopback) and from the helper's own address fill every handshake slot, and the helper still connects
 * — silent connections are evicted for it and dropped after the first-byte deadline — while the audit trail stays
 * bounded: a burst of lines per code and interval, the rest counted in one summary line.
 */
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { Helper } from '../../src/index.js';
import { AUDIT_FLOOD_BURST } from '../../src/core/defaults.js';
import { closed, expectFrames, startHost } from './lib.js';

const ADDRESSES = 200;
const PER_ADDRESS = 2;
const OWN_ADDRESS = 20;
/** The helper's connect timeout, and the idle sockets' first-byte deadline, well past it. */
const HELPER_TIMEOUT_MS = 10_000;
const FIRST_BYTE_MS = 2 * HELPER_TIMEOUT_MS;

function idleSocket(port: number, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.on('error', () => resolve(undefined));
    s.resume();
    s.once('connect', () => resolve(s));
  });
}

t.test(`idle sockets from ${ADDRESSES} addresses and from the helper's own address do not keep the invited helper out`, async (t) => {
  // The host's real flood folding is on (no auditFlood override). The idle sockets' first-byte deadline is longer
  // than the helper's whole connect timeout, so no idle socket times out while the helper tries: if it gets in at all,
  // it got in because silent connections were evicted for it, not because the flood expired.
  const live = await startHost({ auditFlood: { burst: AUDIT_FLOOD_BURST, intervalMs: 60_000 }, firstByteTimeoutMs: FIRST_BYTE_MS });
  t.teardown(() => live.close());
  const sockets: Socket[] = [];
  const open = async (localAddress: string) => {
    const s = await idleSocket(live.port, localAddress);
    if (s) sockets.push(s);
  };
  const opening: Promise<void>[] = [];
  for (let i = 0; i < ADDRESSES; i++) {
    const address = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
    for (let k = 0; k < PER_ADDRESS; k++) opening.push(open(address));
  }
  for (let k = 0; k < OWN_ADDRESS; k++) opening.push(open('127.0.0.1'));
  await Promise.all(opening);
  t.ok(sockets.length >= (ADDRESSES * PER_ADDRESS + OWN_ADDRESS) * 0.9, `${sockets.length} idle sockets hold the host's slots`);

  // The invited helper, from 127.0.0.1 like twenty of the idle sockets.
  const started = performance.now();
  const helper = await Helper.connect(live.invitation.toURL(), { timeoutMs: HELPER_TIMEOUT_MS });
  const ms = performance.now() - started;
  t.teardown(() => helper.close());
  t.comment(`the helper connected in ${ms.toFixed(0)} ms during the flood`);
  const stillIdle = sockets.filter((s) => !s.closed).length;
  t.ok(stillIdle > 0, `the helper got in while ${stillIdle} idle sockets still held on (evicted for it, not expired)`);
  await expectFrames(helper, 2);

  // The idle sockets are all dropped: evicted for newcomers, or at the first-byte deadline.
  await Promise.all(sockets.map(closed));
  t.pass(`all ${sockets.length} idle sockets were dropped`);

  // The audit trail is bounded: per decision and code, a burst of single lines and one counted summary.
  await live.close();
  const flood = live.audit.filter((e) => e.ticketId === null && e.helper === null && (e.decision === 'refused' || e.decision === 'timeout' || e.decision === 'error'));
  const singles = flood.filter((e) => e.count === undefined);
  const summaries = flood.filter((e) => e.count !== undefined);
  const byCode = new Map<string, number>();
  for (const e of singles) byCode.set(`${e.decision}:${e.code}`, (byCode.get(`${e.decision}:${e.code}`) ?? 0) + 1);
  t.comment(`audit: ${singles.length} single lines ${JSON.stringify(Object.fromEntries(byCode))}, summaries ${JSON.stringify(summaries.map((e) => [e.decision, e.code, e.count]))}`);
  t.ok([...byCode.values()].every((n) => n <= AUDIT_FLOOD_BURST), `at most ${AUDIT_FLOOD_BURST} single lines per code`);
  t.ok(summaries.every((e) => e.peer === null && typeof e.count === 'number' && e.count > 0), 'summaries name no peer and carry a count');
  const accounted = singles.length + summaries.reduce((n, e) => n + (e.count ?? 0), 0);
  t.equal(accounted, sockets.length, `every dropped socket is accounted for, singly or in a count (${accounted})`);
  t.ok(flood.length <= byCode.size * (AUDIT_FLOOD_BURST + 1) + 2, `${flood.length} audit lines for ${sockets.length} dropped sockets`);
});
