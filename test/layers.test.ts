/**
 * Enforces the layer map of ARCHITECTURE.md: every src/<layer>/**\/*.ts (and web/**\/*.ts) may import
 * only from the layers the table below allows, and pure layers import no node:* module, no Node
 * built-in and no package outside their allow-list. LAYERS is the single source of truth.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

interface LayerRule {
  /** Source layers this layer may import (itself always allowed). */
  readonly imports: readonly string[];
  /** Pure layers: no node:*, no Node built-ins, packages only from `packages`. */
  readonly pure: boolean;
  /** npm packages a pure layer may import (ignored for impure layers, which may import any). */
  readonly packages: readonly string[];
}

const PURE_BELOW_SESSION = ['core', 'framing', 'handshake', 'codec', 'input'];

/**
 * The layer table (ARCHITECTURE.md draws it). Order: core < framing < handshake < {codec, input} < session < driver
 * < adapters < transport < node < api (and conformance, beside it) < cli. codec and input are siblings that import only core. The pure layers
 * (core to driver) are the protocol, browser-safe and sans-IO except the driver, which owns timers; `adapters`,
 * `transport` and `node` are Node platform glue; `api` is what an app embeds (Host, Helper); `index` is
 * src/index.ts, the public surface; the CLI is built on that (it imports index, never the reverse); `web` is the
 * browser viewer, on the pure layers only.
 */
export const LAYERS: Readonly<Record<string, LayerRule>> = {
  core: { imports: [], pure: true, packages: [] },
  framing: { imports: ['core'], pure: true, packages: ['tweetnacl', '@msgpack/msgpack'] },
  handshake: { imports: ['core', 'framing'], pure: true, packages: ['tweetnacl', '@msgpack/msgpack'] },
  codec: { imports: ['core'], pure: true, packages: ['fflate'] },
  input: { imports: ['core'], pure: true, packages: [] },
  // The session layer is pure and browser-safe; it may use the browser-safe packages of the layers below.
  session: { imports: PURE_BELOW_SESSION, pure: true, packages: ['tweetnacl', '@msgpack/msgpack', 'fflate'] },
  // The one connection driver: pure and browser-safe, over the Link interface that transports implement.
  driver: { imports: [...PURE_BELOW_SESSION, 'session'], pure: true, packages: ['tweetnacl', '@msgpack/msgpack', 'fflate'] },
  // Session recordings (spec/recording.md): the pure, browser-safe writer and reader; files are in node.
  recording: { imports: ['core', 'handshake', 'input', 'codec', 'session'], pure: true, packages: ['tweetnacl', '@msgpack/msgpack'] },
  adapters: { imports: [...PURE_BELOW_SESSION, 'session'], pure: false, packages: [] },
  transport: { imports: [...PURE_BELOW_SESSION, 'session', 'driver', 'adapters'], pure: false, packages: [] },
  node: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'adapters', 'transport'], pure: false, packages: [] },
  // The relay (spec/relay.md): server, host registration, helper dial; Node glue at the level of node. Its pure
  // message codec and registration proof live in handshake (src/handshake/relay.ts), so the browser can use them.
  relay: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'transport', 'node'], pure: false, packages: [] },
  api: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'adapters', 'transport', 'node', 'relay'], pure: false, packages: [] },
  // The conformance probes (spec/conformance.md, "Probing another implementation"): a helper or host that breaks the
  // rules on purpose, on the protocol layers, the driver and Node transports; at the level of api.
  conformance: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'adapters', 'transport', 'node'], pure: false, packages: [] },
  cli: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'adapters', 'transport', 'node', 'relay', 'api', 'conformance', 'index'], pure: false, packages: [] },
  index: { imports: [...PURE_BELOW_SESSION, 'recording', 'session', 'driver', 'adapters', 'transport', 'node', 'relay', 'api'], pure: false, packages: [] },
  web: { imports: [...PURE_BELOW_SESSION, 'session', 'driver'], pure: true, packages: ['tweetnacl', '@msgpack/msgpack', 'fflate'] },
};

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** Extracts module specifiers from static imports, re-exports, side-effect imports and dynamic import(). */
export function importSpecifiers(source: string): string[] {
  // Drop comments so commented-out imports do not count (strings containing comment markers are rare in imports).
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The layer a repository file belongs to, or undefined when outside src/ and web/. */
export function layerOf(absPath: string): string | undefined {
  const rel = relative(ROOT, absPath).split(sep);
  if (rel[0] === 'web') return 'web';
  if (rel[0] !== 'src') return undefined;
  if (rel.length === 2) return rel[1] === 'index.ts' || rel[1] === 'index.js' ? 'index' : undefined;
  return rel[1];
}

/** The package name of a bare specifier ('@scope/name/sub' -> '@scope/name'). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Why importing `spec` from `file` (in `layer`) breaks the table, or undefined when allowed. */
export function checkImport(layer: string, file: string, spec: string): string | undefined {
  const rule = LAYERS[layer];
  if (rule === undefined) return `file is in unknown layer '${layer}'; add it to LAYERS`;
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = resolve(dirname(file), spec);
    const targetLayer = layerOf(target);
    if (targetLayer === undefined) return `imports '${spec}', outside src/`;
    if (targetLayer === layer) return undefined;
    if (!rule.imports.includes(targetLayer)) return `layer '${layer}' imports layer '${targetLayer}' via '${spec}'; allowed: ${rule.imports.join(', ') || 'none'}`;
    return undefined;
  }
  const isNode = spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(packageName(spec));
  if (rule.pure) {
    if (isNode) return `pure layer '${layer}' imports Node module '${spec}'`;
    if (!rule.packages.includes(packageName(spec))) {
      return `pure layer '${layer}' imports package '${spec}'; allowed: ${rule.packages.join(', ') || 'none'}`;
    }
  }
  return undefined;
}

function listTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (/\.(ts|mts|tsx)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

t.test('the checker itself catches each kind of violation', async (t) => {
  const f = (layer: string, path: string) => join(ROOT, path);
  t.equal(checkImport('framing', f('framing', 'src/framing/x.ts'), '../core/index.js'), undefined);
  t.match(checkImport('core', f('core', 'src/core/x.ts'), '../framing/index.js'), /layer 'core' imports layer 'framing'/);
  t.match(checkImport('codec', f('codec', 'src/codec/x.ts'), '../input/events.js'), /imports layer 'input'/, 'siblings stay apart');
  t.match(checkImport('input', f('input', 'src/input/x.ts'), '../codec/x.js'), /imports layer 'codec'/);
  t.match(checkImport('session', f('session', 'src/session/x.ts'), '../transport/tcp.js'), /imports layer 'transport'/);
  t.match(checkImport('handshake', f('handshake', 'src/handshake/x.ts'), '../index.js'), /imports layer 'index'/);
  t.match(checkImport('framing', f('framing', 'src/framing/x.ts'), 'node:crypto'), /Node module/);
  t.match(checkImport('codec', f('codec', 'src/codec/x.ts'), 'zlib'), /Node module/, 'bare built-in names count too');
  t.match(checkImport('codec', f('codec', 'src/codec/x.ts'), 'sharp'), /imports package 'sharp'/);
  t.match(checkImport('input', f('input', 'src/input/x.ts'), 'fflate'), /imports package 'fflate'/);
  t.equal(checkImport('codec', f('codec', 'src/codec/x.ts'), 'fflate'), undefined);
  t.equal(checkImport('node', f('node', 'src/node/x.ts'), 'sharp'), undefined);
  t.equal(checkImport('transport', f('transport', 'src/transport/x.ts'), '../session/index.js'), undefined);
  t.match(checkImport('web', f('web', 'web/x.ts'), '../src/transport/tcp.js'), /imports layer 'transport'/);
  t.same(
    importSpecifiers(`import a from 'x';\nimport type { B } from "../y.js";\nexport * from './z.js';\nimport 'side';\nconst m = await import('dyn');\n// import nope from 'commented';\nimport {\n  c,\n  d,\n} from './multi.js';`).sort(),
    ['../y.js', './multi.js', './z.js', 'dyn', 'side', 'x'],
  );
});

t.test('every import in src/ and web/ follows the layer table', async (t) => {
  const files = [...listTs(SRC), ...listTs(join(ROOT, 'web'))];
  t.ok(files.length > 0, 'found source files');
  const violations: string[] = [];
  for (const file of files) {
    const layer = layerOf(file);
    const rel = relative(ROOT, file);
    if (layer === undefined) {
      violations.push(`${rel}: not inside a layer folder (src/<layer>/ or src/index.ts)`);
      continue;
    }
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      const why = checkImport(layer, file, spec);
      if (why !== undefined) violations.push(`${rel}: ${why}`);
    }
  }
  t.same(violations, [], violations.length === 0 ? 'no violations' : `layer violations:\n  ${violations.join('\n  ')}`);
});

/** Resolves a relative specifier of `file` to a source file, or undefined (packages, files outside src/ and web/). */
function resolveSource(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(file), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every import cycle among `files` (each as a list of files, the first repeated at the end), found by DFS. */
export function findCycles(files: readonly string[], importsOf: (file: string) => string[]): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'active');
    stack.push(file);
    for (const next of importsOf(file)) {
      const s = state.get(next);
      if (s === 'active') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}

t.test('the cycle finder finds a cycle and passes a tree', async (t) => {
  const graph: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a'], d: ['a'] };
  t.same(findCycles(Object.keys(graph), (f) => graph[f] ?? []), [['a', 'b', 'c', 'a']]);
  t.same(findCycles(['x', 'y'], (f) => (f === 'x' ? ['y'] : [])), []);
});

t.test('no import cycle in src/ and web/ (type-only imports count too)', async (t) => {
  const files = [...listTs(SRC), ...listTs(join(ROOT, 'web'))];
  const importsOf = (file: string): string[] =>
    importSpecifiers(readFileSync(file, 'utf8'))
      .map((spec) => resolveSource(file, spec))
      .filter((p, i, all): p is string => p !== undefined && all.indexOf(p) === i);
  const cycles = findCycles(files, importsOf).map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));
  t.same(cycles, [], cycles.length === 0 ? 'no cycles' : `import cycles:\n  ${cycles.join('\n  ')}`);
});
