/**
 * "Did you mean" for mistyped options and commands (src/cli/suggest.ts).
 */
import t from 'tap';
import { closest, editDistance } from '../../../src/cli/suggest.js';

const OPTIONS = ['timeout', 'duration', 'frames', 'record', 'snapshot', 'request-control', 'password', 'password-file', 'json', 'debug', 'help', 'mode', 'port'];

t.test('edit distance counts insertions, deletions, substitutions and swapped neighbours', async (t) => {
  t.equal(editDistance('timeout', 'timeout'), 0);
  t.equal(editDistance('tiemout', 'timeout'), 1, 'a swap is one edit');
  t.equal(editDistance('timout', 'timeout'), 1);
  t.equal(editDistance('timeoutt', 'timeout'), 1);
  t.equal(editDistance('tymeout', 'timeout'), 1);
  t.ok(editDistance('snapshot', 'json', 3) > 3, 'far words stop at the bound');
});

t.test('the closest option: typos, abbreviations; nothing for strangers or ties', async (t) => {
  t.equal(closest('tiemout', OPTIONS), 'timeout');
  t.equal(closest('snapsot', OPTIONS), 'snapshot');
  t.equal(closest('reqest-control', OPTIONS), 'request-control');
  t.equal(closest('dur', OPTIONS), 'duration', 'a unique prefix');
  t.equal(closest('jsno', OPTIONS), 'json');
  t.equal(closest('Mode', OPTIONS), 'mode', 'case does not matter');
  t.equal(closest('zebra', OPTIONS), undefined, 'nothing close');
  t.equal(closest('pass', OPTIONS), undefined, 'a prefix of two options is not guessed');
  t.equal(closest('x', OPTIONS), undefined);
  t.equal(closest('conect', ['connect', 'host', 'offer', 'inspect']), 'connect');
});
