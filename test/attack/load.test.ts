/**
 * Load: waves of 50 concurrent handshakes with wrong proofs (tampered secret, wrong password, unknown ticket) from a
 * child process while a legitimate helper watches a replay at a fixed frame rate. The helper keeps getting frames
 * (its frame rate, unloaded and loaded, is reported here and checked within 20% by `npm run soak`; no timed assertion
 * here); every attempt is refused; THROTTLED appears as designed (5 wrong proofs per ticket, 20 per address, within
 * 10 minutes); no attempt is accepted; sockets and heap return to the baseline.
 */
import t from 'tap';
import { runLoad } from './load-lib.js';

t.test('50 concurrent wrong proofs while a replay streams', async (t) => {
  const f = await runLoad({ windowMs: 2_500, fps: 15, concurrency: 50 });
  t.comment(`frame rate: ${f.unloadedFps} fps unloaded, ${f.loadedFps} fps under ${f.attempts} wrong attempts in ${f.waves} waves of 50 (${f.framesDelivered} frames delivered)`);
  t.comment(`refusals seen by the attacker: ${JSON.stringify(f.refusals)}; audited: ${JSON.stringify(f.auditRefusals)}`);
  t.comment(`host: rss ${f.before.rssMiB} -> ${f.after.rssMiB} MiB, heap ${f.before.heapUsedMiB} -> ${f.after.heapUsedMiB} MiB, handles ${JSON.stringify(f.before.handles)} -> ${JSON.stringify(f.after.handles)}`);
  t.ok(f.attempts >= 50, `${f.attempts} attempts`);
  t.ok(f.loadedFps > 0, 'the legitimate helper keeps getting frames under load');
  t.equal(f.refusals['ACCEPTED'] ?? 0, 0, 'no wrong proof is accepted');
  t.equal(f.accepted, 0, 'and none is audited as accepted');
  t.ok((f.refusals['BAD_PROOF'] ?? 0) >= 1 && (f.refusals['BAD_PROOF'] ?? 0) <= 10, `BAD_PROOF at most 5 per ticket (${f.refusals['BAD_PROOF']})`);
  t.ok((f.refusals['THROTTLED'] ?? 0) > 0, `THROTTLED appears (${f.refusals['THROTTLED']})`);
  const failures = Object.values(f.auditRefusals).reduce((a, b) => a + b, 0);
  t.ok(failures >= f.attempts - 2, `every attempt is audited as refused or evicted (${failures} of ${f.attempts})`);
  t.equal(f.afterAttackFromOtherAddress, 'ACCEPTED', 'a helper on another address with its own ticket connects after the attack');
  t.equal(f.afterAttackFromAttackerAddress, 'THROTTLED', "the attacker's address is throttled even with a valid ticket (20 per address, by design)");
  t.ok((f.after.handles['TCPSocketWrap'] ?? 0) <= (f.before.handles['TCPSocketWrap'] ?? 0) + 2, 'sockets back to the baseline');
  t.ok(f.after.heapUsedMiB - f.before.heapUsedMiB < 32, 'heap bounded');
});
