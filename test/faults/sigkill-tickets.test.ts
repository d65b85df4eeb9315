/**
 * A host killed with SIGKILL while it writes tickets restarts with its tickets intact: a child host creates and
 * revokes invitations in a loop and says when each change is committed; it is killed at random moments (seeded),
 * restarted on the same state folder, killed again. Afterwards tickets.json parses, every committed ticket is there
 * and every committed revocation holds. (Temp files of writes cut short may remain; they are counted, never read.)
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTicketStore, loadOrCreateHostKey } from '../../src/index.js';
import { Prng, fuzzSeed } from '../helpers/prng.js';

const SEED = fuzzSeed();
const KILLS = Number(process.env['SIGKILL_ROUNDS'] ?? 4);
const WRITER = new URL('./ticket-writer.ts', import.meta.url).pathname;

/** Runs the writer until it has committed at least once, then kills it after `delayMs` more; returns its lines. */
function runAndKill(dir: string, delayMs: number): Promise<{ lines: string[]; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!armed && out.includes('\ncreated ')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ lines: out.split('\n').filter(Boolean), signal, stderr: err }));
  });
}

t.test(`SIGKILL during ticket writes, ${KILLS} times (seed ${SEED})`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rng = new Prng(SEED);
  const created = new Set<string>();
  const revoked = new Set<string>();
  for (let round = 0; round < KILLS; round++) {
    const { lines, signal, stderr } = await runAndKill(dir, rng.range(20, 400));
    t.equal(signal, 'SIGKILL', `round ${round}: killed (${lines.length} lines)`);
    t.match(lines[0] ?? '', /^ready \d+$/, `round ${round}: the host opened its state folder${stderr ? `: ${stderr.slice(0, 300)}` : ''}`);
    // A ticket may be written and the process killed before it said so: at least every reported one is there.
    const found = Number(lines[0]?.split(' ')[1]);
    t.ok(found >= created.size && found <= created.size + round, `round ${round}: it found every ticket committed before (${found} >= ${created.size})`);
    for (const l of lines.slice(1)) {
      const [what, id] = l.split(' ');
      if (what === 'created' && id) created.add(id);
      if (what === 'revoked' && id) revoked.add(id);
    }
  }
  t.ok(created.size >= KILLS, `${created.size} tickets committed, ${revoked.size} revocations`);

  const text = readFileSync(join(dir, 'tickets.json'), 'utf8');
  t.doesNotThrow(() => JSON.parse(text), 'tickets.json is whole JSON');
  const store = new FileTicketStore(dir);
  const stored = new Map(store.list().map((r) => [r.id, r]));
  t.same([...created].filter((id) => !stored.has(id)), [], 'no committed ticket is lost');
  t.same([...revoked].filter((id) => stored.get(id)?.revoked !== true), [], 'no committed revocation is lost');
  t.ok(stored.size <= created.size + KILLS, 'at most one ticket per kill beyond those reported (written, then killed before it was printed)');
  const lines = readFileSync(join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean);
  t.equal(lines.filter((l) => {
    try {
      JSON.parse(l);
      return false;
    } catch {
      return true;
    }
  }).length, 0, `every one of ${lines.length} audit lines is whole JSON (one write per line)`);
  t.doesNotThrow(() => loadOrCreateHostKey(dir), 'host-key.json is whole');
  const leftovers = readdirSync(dir).filter((f) => f.includes('.tmp-'));
  t.comment(`temp files left by writes cut short: ${leftovers.length} (${readdirSync(dir).join(', ')})`);
});
