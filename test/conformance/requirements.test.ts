/**
 * Keeps the numbered requirements of spec/ and the table of spec/conformance.md in step (spec/conformance.md §3):
 * every id appears once in the spec files and once in the table, and every check a row names exists.
 */
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../src/core/index.js';
import { repoRoot } from '../helpers/codec-corpus.js';

/**
 * Requirements that nothing checks yet, each with the reason. A row marked `unchecked` in the table fails this
 * test unless its id is here; an id here whose row names a check fails too, so the list only shrinks.
 */
const UNCHECKED_ALLOWED: ReadonlyMap<string, string> = new Map<string, string>([]);

const SPEC = join(repoRoot, 'spec');
const ID = /\*\*\[([A-Z]+-\d+)\]\*\*/g;
const PREFIX: Readonly<Record<string, string>> = {
  'protocol.md': 'PROTO',
  'framing.md': 'FR',
  'handshake.md': 'HS',
  'codec.md': 'CODEC',
  'input.md': 'IN',
  'session.md': 'SES',
  'errors.md': 'ERR',
  'relay.md': 'RLY',
  'recording.md': 'REC',
  'transfer.md': 'XFER',
};

interface Row {
  readonly id: string;
  readonly roles: string;
  readonly checks: readonly string[];
}

/** Every `**[ID]**` in the spec files, with the file it is in. */
function specIds(): Array<{ id: string; file: string }> {
  const out: Array<{ id: string; file: string }> = [];
  for (const file of readdirSync(SPEC).filter((f) => f.endsWith('.md') && f !== 'conformance.md').sort()) {
    for (const m of readFileSync(join(SPEC, file), 'utf8').matchAll(ID)) out.push({ id: m[1]!, file });
  }
  return out;
}

/** The rows of conformance.md's requirement tables: `| id | roles | requirement | checked by |`. */
function tableRows(): Row[] {
  const rows: Row[] = [];
  for (const line of readFileSync(join(SPEC, 'conformance.md'), 'utf8').split('\n')) {
    const m = /^\| ([A-Z]+-\d+) \| ([^|]+) \| (?:[^|\\]|\\.)* \| (.+) \|$/.exec(line);
    if (m === null) continue;
    const cell = m[3]!.trim();
    const checks = cell === 'unchecked' ? ['unchecked'] : [...cell.matchAll(/`([^`]+)`/g)].map((c) => c[1]!);
    rows.push({ id: m[1]!, roles: m[2]!.trim(), checks });
  }
  return rows;
}

/** The `name`s of a vector file's entries at any depth, and its top-level keys. */
function vectorNames(file: string): Set<string> | undefined {
  const path = join(SPEC, 'vectors', file);
  if (!existsSync(path)) return undefined;
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const names = new Set(Object.keys(json));
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === 'object') {
      const name = (v as { name?: unknown }).name;
      if (typeof name === 'string') names.add(name);
      for (const x of Object.values(v)) walk(x);
    }
  };
  walk(json);
  return names;
}

/** Why a check reference does not resolve, or undefined when it does. */
function brokenCheck(ref: string): string | undefined {
  const vector = /^vectors\/([a-z-]+\.json)#(.+)$/.exec(ref);
  if (vector !== null) {
    const names = vectorNames(vector[1]!);
    if (names === undefined) return `no vector file spec/vectors/${vector[1]}`;
    return names.has(vector[2]!) ? undefined : `no vector named "${vector[2]}" in spec/vectors/${vector[1]}`;
  }
  const test = /^(test\/[\w./-]+\.ts)(?:::(.+))?$/.exec(ref);
  if (test === null) return `not a vector or test reference: ${ref}`;
  const path = join(repoRoot, test[1]!);
  if (!existsSync(path)) return `no test file ${test[1]}`;
  if (test[2] !== undefined && !readFileSync(path, 'utf8').includes(test[2])) return `no test titled "${test[2]}" in ${test[1]}`;
  return undefined;
}

const ids = specIds();
const rows = tableRows();

t.test('the spec files carry requirement ids, each once, with its file prefix', async (t) => {
  t.ok(ids.length >= 200, `${ids.length} requirements`);
  const seen = new Map<string, string>();
  for (const { id, file } of ids) {
    t.notOk(seen.has(id), `${id} in ${file} is also in ${seen.get(id) ?? ''}`);
    seen.set(id, file);
    t.equal(id.split('-')[0], PREFIX[file], `${id} has the prefix of ${file}`);
  }
});

t.test('conformance.md has one row per requirement id, and no row for an id the spec lacks', async (t) => {
  t.ok(rows.length > 0, 'the table parses');
  const inSpec = new Set(ids.map((x) => x.id));
  const inTable = new Set<string>();
  for (const row of rows) {
    t.notOk(inTable.has(row.id), `${row.id} has one row`);
    inTable.add(row.id);
    t.ok(inSpec.has(row.id), `${row.id} is a requirement in spec/`);
    t.match(row.roles, /^(host|helper|relay|reader)(, (host|helper|relay|reader))*$/, `${row.id} names its roles`);
  }
  for (const id of inSpec) t.ok(inTable.has(id), `${id} has a row in conformance.md`);
});

t.test('every check a row names exists', async (t) => {
  for (const row of rows) {
    t.ok(row.checks.length > 0, `${row.id} names a check or says unchecked`);
    for (const ref of row.checks) {
      if (ref === 'unchecked') continue;
      t.equal(brokenCheck(ref), undefined, `${row.id}: ${ref}`);
    }
  }
});

t.test('unchecked requirements are exactly those of the allow-list', async (t) => {
  for (const row of rows) {
    const unchecked = row.checks.includes('unchecked');
    if (unchecked) t.ok(row.checks.length === 1, `${row.id}: unchecked stands alone`);
    t.equal(unchecked, UNCHECKED_ALLOWED.has(row.id), `${row.id} is ${unchecked ? 'unchecked: add a check, or list it with a reason' : 'checked: drop it from the allow-list'}`);
  }
  for (const id of UNCHECKED_ALLOWED.keys()) t.ok(rows.some((r) => r.id === id), `allow-listed ${id} has a row`);
});

t.test('errors.md lists exactly the codes of ErrorCode', async (t) => {
  const text = readFileSync(join(SPEC, 'errors.md'), 'utf8');
  const listed = new Set([...text.matchAll(/^\| `(TESSERA_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  t.same([...listed].sort(), [...new Set(Object.values(ErrorCode))].sort());
});
