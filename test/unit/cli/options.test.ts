/** The command line: a value that starts with a dash (a base64url host key, a negative number) is still a value. */
import t from 'tap';
import { dashValuesJoined } from '../../../src/cli/main.js';

const OPTIONS = { 'host-key': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, port: { type: 'string' } } as const;

t.test('a string option followed by a dash-led word that is no option takes it as its value', async (t) => {
  t.same(dashValuesJoined(['offer', '--host-key', '-Xb1_key', '--json'], OPTIONS), ['offer', '--host-key=-Xb1_key', '--json']);
  t.same(dashValuesJoined(['--port', '-1'], OPTIONS), ['--port=-1']);
});

t.test('options stay options, and everything else is left as it is', async (t) => {
  t.same(dashValuesJoined(['--host-key', '--json'], OPTIONS), ['--host-key', '--json'], 'a known option is not swallowed (the parser says the value is missing)');
  t.same(dashValuesJoined(['--host-key', '-h'], OPTIONS), ['--host-key', '-h'], 'nor a known short option');
  t.same(dashValuesJoined(['--host-key', '--'], OPTIONS), ['--host-key', '--']);
  t.same(dashValuesJoined(['--host-key', '-'], OPTIONS), ['--host-key', '-'], 'a lone dash is left to the parser');
  t.same(dashValuesJoined(['--json', '-x'], OPTIONS), ['--json', '-x'], 'a boolean takes no value');
  t.same(dashValuesJoined(['--host-key=-a', '-b'], OPTIONS), ['--host-key=-a', '-b']);
  t.same(dashValuesJoined(['--host-key', 'abc'], OPTIONS), ['--host-key', 'abc']);
});
