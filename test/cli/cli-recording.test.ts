/**
 * Session recording from the command line (spec/recording.md): `tessera host --record-sessions DIR` writes one sealed
 * 0600 file per session that `tessera play --verify` accepts, and `tessera connect --refuse-recorded` leaves at once
 * (exit 3) before the host sends, or records, a single display update. One host serves both helpers at the same time,
 * so the file stays within a few CLI start-ups.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecordingFile } from '../../src/node/recording-file.js';
import { CliProcess, runCli } from '../helpers/cli.js';

t.test('host --record-sessions: a sealed 0600 file that play --verify accepts; connect --refuse-recorded exits 3 and nothing is shown to it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-cli-recording-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'rec');
  const host = new CliProcess(['host', '--screen', 'virtual', '--port', '0', '--accept', 'auto', '--uses', '2', '--record-sessions', dir, '--json']);
  t.teardown(() => host.stop());
  const recording = await host.waitFor('recording');
  t.match(recording, { dir, encrypted: false });
  const url = String((await host.waitFor('listening')).url);

  // Both helpers at once: one watches two frames, the other will not be recorded.
  const [watched, refused] = await Promise.all([
    runCli(['connect', url, '--frames', '2', '--json'], { timeoutMs: 20_000 }),
    runCli(['connect', url, '--refuse-recorded', '--json'], { timeoutMs: 20_000 }),
  ]);
  t.equal(watched.code, 0, watched.stderr);
  t.equal(refused.code, 3, `refused: ${refused.stdout} ${refused.stderr}`);
  t.match(refused.events.find((e) => e.event === 'recorded'), { refused: true }, 'says it left because of the recording');
  t.notOk(refused.events.some((e) => e.event === 'frame'), 'the refusing helper got no frame');

  // A session's file is sealed and renamed before the host reports it closed.
  const first = await host.waitFor('closed');
  const closed = [first, await host.waitFor('closed', (e) => e !== first)];
  t.match(closed.map((e) => e.message).join(' | '), /declined a recorded session/, 'the host hears why');
  const files = readdirSync(dir).sort();
  t.equal(files.length, 2, `one file per session: ${files.join(', ')}`);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the folder is 0700');
  const reports = files.map((f) => {
    t.match(f, /\.tsrec$/, `${f} is sealed (no .part left)`);
    t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
    return { file: join(dir, f), report: readRecordingFile(join(dir, f)) };
  });
  const updates = (r: (typeof reports)[number]): number => r.report.records.filter((e) => e.type === 'update').length;
  const shown = reports.filter((r) => updates(r) > 0);
  t.equal(shown.length, 1, 'one recording holds display updates');
  const declined = reports.find((r) => updates(r) === 0);
  t.ok(declined, 'the refusing helper\'s session recorded no update');
  t.equal(declined?.report.problem, undefined);
  t.same(declined?.report.records.map((e) => e.type), ['header', 'close', 'seal'], 'who came and the close, nothing shown');

  const verify = await runCli(['play', shown[0]!.file, '--verify', '--json'], { timeoutMs: 20_000 });
  t.equal(verify.code, 0, verify.stderr);
  t.match(verify.events.find((e) => e.event === 'verify'), { ok: true, sealed: true, encrypted: false });
});
