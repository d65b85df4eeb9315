/**
 * `tessera conformance helper` as a command: it prints the invitation (an `invitation` event with --json), a
 * `waiting` event per probe, one `probe` event per probe and a summary, and exits 0 when a helper connecting in a
 * loop passes; usage errors exit 2.
 */
import t from 'tap';
import { Helper, readInvitation } from '../../src/index.js';
import { CliProcess, runCli } from '../helpers/cli.js';

t.test('json: invitation, waiting, probe and summary events; a tessera Helper in a loop passes; exit 0', async (t) => {
  const cli = new CliProcess(['conformance', 'helper', '--json', '--only', 'records,refuse-version,SES-4', '--wait', '20']);
  t.teardown(() => cli.stop());
  const inv = await cli.waitFor('invitation');
  t.match(inv.url, /^tessera:\/\//);
  t.equal(inv.probes, 3);
  const invitation = readInvitation(inv.url as string, { now: Date.now });
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        const helper = await Helper.connect(invitation, { signal: stop.signal });
        helper.on('error', () => {});
        if (helper.closed) continue;
        await new Promise<void>((resolve) => {
          helper.on('close', () => resolve());
          stop.signal.addEventListener('abort', () => helper.close(), { once: true });
        });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })();
  const code = await cli.exited;
  stop.abort();
  await loop;
  t.equal(code, 0);
  t.same(cli.events.filter((e) => e.event === 'waiting').map((e) => e.probe), [1, 2, 3]);
  const probes = cli.events.filter((e) => e.event === 'probe');
  t.same(probes.map((p) => p.probe), ['records', 'refuse-version', 'refuse-short-display']);
  t.ok(probes.every((p) => p.status === 'pass'), JSON.stringify(probes));
  t.same(cli.events.find((e) => e.event === 'summary'), { event: 'summary', passed: 3, failed: 0, notApplicable: 0 });
});

t.test('no helper connects: the probe fails with the wait in its reason and the exit code is 1', async (t) => {
  const r = await runCli(['conformance', 'helper', '--only', 'records', '--wait', '1'], { timeoutMs: 60_000 });
  t.equal(r.code, 1);
  t.match(r.stdout, /waiting for the helper to connect \(probe 1 of 1\)/);
  t.match(r.stdout, /FAIL .*no helper connected within 1 s/);
});

t.test('usage errors exit 2', async (t) => {
  const noProbe = await runCli(['conformance', 'helper', '--only', 'NOPE-1']);
  t.equal(noProbe.code, 2);
  t.match(noProbe.stderr, /selects no probe/);
  const extra = await runCli(['conformance', 'helper', 'tessera://x']);
  t.equal(extra.code, 2);
  const hostOption = await runCli(['conformance', 'host', 'tessera://x', '--port', '1']);
  t.equal(hostOption.code, 2);
});
