import t from 'tap';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

t.test("the README's API example runs as written", async (t) => {
  const root = resolve(import.meta.dirname, '..');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/api.ts'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /helper sees 1280x720, mode control/);
  t.match(r.stdout, /typed into the virtual desktop: hello/);
  t.match(r.stdout, /audit accepted/);
});
