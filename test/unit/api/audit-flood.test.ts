import t from 'tap';
import { mkdtempSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEvent, type AuditEvent } from '../../../src/handshake/audit.js';
import { AuditFloodGate } from '../../../src/api/host/audit-flood.js';
import { AuditLog } from '../../../src/node/audit-log.js';

t.test('a flood of unauthenticated refusals becomes a burst of lines and one counted summary per code and interval', async (t) => {
  let now = 0;
  const out: AuditEvent[] = [];
  const gate = new AuditFloodGate({ clock: () => now, emit: (e) => out.push(e), intervalMs: 1_000, burst: 3 });
  for (let i = 0; i < 10; i++) gate.record(auditEvent(now, { decision: 'refused', peer: `192.0.2.${i}:1`, code: 'TOO_MANY_HANDSHAKES' }));
  for (let i = 0; i < 5; i++) gate.record(auditEvent(now, { decision: 'timeout', peer: `192.0.2.${i}:2`, code: 'TESSERA_ERR_HANDSHAKE_TIMEOUT' }));
  // Decisions about known tickets and sessions always pass.
  for (let i = 0; i < 5; i++) gate.record(auditEvent(now, { decision: 'refused', peer: 'x:1', ticketId: 'ab', code: 'BAD_PROOF' }));
  gate.record(auditEvent(now, { decision: 'accepted', peer: 'x:1', ticketId: 'ab' }));
  t.equal(out.filter((e) => e.code === 'TOO_MANY_HANDSHAKES').length, 3, 'a burst of three single lines');
  t.equal(out.filter((e) => e.code === 'BAD_PROOF').length, 5, 'refusals of a known ticket are never folded');
  t.equal(out.filter((e) => e.decision === 'accepted').length, 1);
  now = 1_000;
  gate.record(auditEvent(now, { decision: 'refused', peer: '192.0.2.99:1', code: 'TOO_MANY_HANDSHAKES' }));
  const summaries = out.filter((e) => e.count !== undefined);
  t.same(summaries.map((e) => [e.decision, e.code, e.count, e.peer]), [['refused', 'TOO_MANY_HANDSHAKES', 7, null], ['timeout', 'TESSERA_ERR_HANDSHAKE_TIMEOUT', 2, null]], 'the interval ended: one summary per code with the count');
  t.equal(out.at(-1)!.peer, '192.0.2.99:1', 'the next interval starts with single lines again');
  gate.flush();
  t.equal(out.filter((e) => e.count !== undefined).length, 2, 'nothing more to summarise');
});

t.test('a summary is written when the interval ends even if nothing else arrives', async (t) => {
  const out: AuditEvent[] = [];
  const gate = new AuditFloodGate({ clock: Date.now, emit: (e) => out.push(e), intervalMs: 50, burst: 1 });
  for (let i = 0; i < 4; i++) gate.record(auditEvent(Date.now(), { decision: 'error', peer: `p:${i}`, code: 'TESSERA_ERR_CLOSED' }));
  await new Promise((r) => setTimeout(r, 120));
  t.same(out.filter((e) => e.count !== undefined).map((e) => e.count), [3]);
});

t.test('the audit log rotates before it grows past its cap and keeps the newest files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
  const log = new AuditLog(dir, { maxBytes: 1_000, keep: 2 });
  for (let i = 0; i < 100; i++) log.append({ ...auditEvent(Date.UTC(2026, 0, 1), { decision: 'refused', peer: `192.0.2.1:${i}`, code: 'TOO_MANY_HANDSHAKES' }), count: i });
  t.ok(statSync(log.path).size <= 1_000, `audit.log stays under its cap (${statSync(log.path).size} bytes)`);
  t.ok(existsSync(`${log.path}.1`) && existsSync(`${log.path}.2`), 'two rotated files are kept');
  t.notOk(existsSync(`${log.path}.3`), 'older ones are dropped');
  t.equal(statSync(`${log.path}.1`).mode & 0o777, 0o600);
  const last = log.read().at(-1)!;
  t.same([last.peer, last.count], ['192.0.2.1:99', 99], 'the newest event is in the current file, with its count');
  t.ok(readFileSync(`${log.path}.1`, 'utf8').split('\n').filter(Boolean).every((l) => JSON.parse(l).decision === 'refused'), 'rotated files hold whole lines');
});
