/**
 * File transfer from the command line (spec/transfer.md): `tessera connect --send FILE` to a host that saves into
 * --downloads, and the host user's "/send PATH" to a helper that saves with --accept auto; progress and the end of
 * each file as JSON events.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess, runCli } from '../helpers/cli.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('connect --send FILE: the host saves it in --downloads; the host user sends one back with /send', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-transfer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = randomBytes(2 * 1024 * 1024 + 3);
  writeFileSync(join(dir, 'log.txt'), bytes);
  const host = new CliProcess(['host', '--port', '0', '--accept', 'auto', '--uses', '2', '--downloads', join(dir, 'host-dl'), '--json'], { keepStdinOpen: true });
  t.teardown(() => host.stop());
  const listening = await host.waitFor('listening');
  const url = String(listening.url);

  const sent = await runCli(['connect', url, '--send', join(dir, 'log.txt'), '--json'], { timeoutMs: 20_000 });
  t.equal(sent.code, 0, sent.stderr);
  const events = sent.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = events.find((e) => e.event === 'transfer');
  t.match(done, { direction: 'out', ok: true, name: 'log.txt', size: bytes.length, sha256: sha(bytes) });
  t.ok(events.some((e) => e.event === 'transfer-progress'), 'progress events');
  const saved = await host.waitFor('transfer', (e) => e.direction === 'in');
  t.match(saved, { ok: true, path: join(dir, 'host-dl', 'log.txt') });
  t.equal(sha(readFileSync(join(dir, 'host-dl', 'log.txt'))), sha(bytes));

  // The other way: a helper that stays, and the host user's /send.
  const back = randomBytes(50_000);
  writeFileSync(join(dir, 'fix.sh'), back);
  const helper = new CliProcess(['connect', url, '--accept', 'auto', '--downloads', join(dir, 'helper-dl'), '--duration', '20', '--json']);
  t.teardown(() => helper.stop());
  await helper.waitFor('connected');
  await host.waitFor('helper-joined', () => true);
  host.send(`/send ${join(dir, 'fix.sh')}`);
  const got = await helper.waitFor('transfer', (e) => e.direction === 'in');
  t.match(got, { ok: true, path: join(dir, 'helper-dl', 'fix.sh') });
  t.equal(sha(readFileSync(join(dir, 'helper-dl', 'fix.sh'))), sha(back));
  t.equal((await import('node:fs')).statSync(join(dir, 'helper-dl', 'fix.sh')).mode & 0o111, 0, 'a received script is not executable');
});
