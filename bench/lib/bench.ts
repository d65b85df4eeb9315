/**
 * A tiny shared helper for bench/*.bench.ts: runs benchmark.js suites, prints the environment
 * (Node version, CPU model), per-case ops/s and MB/s, and ratios against a baseline measured in the
 * same run; `--json` prints one machine-readable JSON document instead. Never used by tests.
 */
import Benchmark from 'benchmark';
import { cpus } from 'node:os';

/** One benchmark case. */
export interface BenchCase {
  /** Unique name, e.g. 'encodeFrame 64 B'. */
  readonly name: string;
  /** The work of one operation. */
  readonly fn: () => void;
  /** Bytes processed per operation, for MB/s; omit when not meaningful. */
  readonly bytesPerOp?: number;
  /** Items (frames, tiles, …) per operation, for items/s. Default 1. */
  readonly itemsPerOp?: number;
  /** Name of the case this one is compared with (ratio = this ops/s ÷ baseline ops/s). */
  readonly baseline?: string;
}

/** Result of one case. */
export interface BenchResult {
  readonly name: string;
  readonly opsPerSec: number;
  readonly rmePercent: number;
  readonly samples: number;
  readonly itemsPerSec: number;
  readonly mbPerSec: number | undefined;
  readonly baseline: string | undefined;
  /** This case's speed relative to its baseline (1 = same; 0.5 = half as fast). */
  readonly ratio: number | undefined;
}

/** The environment a run was measured on. */
export interface BenchEnvironment {
  readonly node: string;
  readonly v8: string;
  readonly cpu: string;
  readonly cpus: number;
  readonly platform: string;
  readonly date: string;
}

/** True when the command line asks for JSON output. */
export function wantsJson(argv: readonly string[] = process.argv): boolean {
  return argv.includes('--json');
}

/** Describes the machine and runtime. */
export function environment(): BenchEnvironment {
  const list = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Options of runBench. */
export interface RunBenchOptions {
  /** Seconds each case runs at least (benchmark.js minTime). Default 0.5; BENCH_MIN_TIME overrides. */
  readonly minTimeSec?: number;
  /** Print JSON instead of text. Default: `--json` on the command line. */
  readonly json?: boolean;
}

/**
 * Runs the cases one after another (synchronously) and prints the report.
 * @returns the results, for callers that post-process them
 */
export function runBench(title: string, cases: readonly BenchCase[], options: RunBenchOptions = {}): BenchResult[] {
  const json = options.json ?? wantsJson();
  const envMin = Number(process.env['BENCH_MIN_TIME']);
  const minTime = Number.isFinite(envMin) && envMin > 0 ? envMin : (options.minTimeSec ?? 0.5);
  const env = environment();
  if (!json) {
    console.log(`# ${title}`);
    console.log(`node ${env.node} (v8 ${env.v8}), ${env.cpu} x${env.cpus}, ${env.platform}`);
  }
  const raw = new Map<string, { hz: number; rme: number; samples: number }>();
  for (const c of cases) {
    const bench = new Benchmark(c.name, c.fn, { minTime, async: false });
    bench.run();
    if (bench.error) throw bench.error;
    raw.set(c.name, { hz: bench.hz, rme: bench.stats.rme, samples: bench.stats.sample.length });
  }
  const results: BenchResult[] = cases.map((c) => {
    const r = raw.get(c.name)!;
    const base = c.baseline !== undefined ? raw.get(c.baseline) : undefined;
    return {
      name: c.name,
      opsPerSec: r.hz,
      rmePercent: r.rme,
      samples: r.samples,
      itemsPerSec: r.hz * (c.itemsPerOp ?? 1),
      mbPerSec: c.bytesPerOp !== undefined ? (r.hz * c.bytesPerOp) / 1e6 : undefined,
      baseline: c.baseline,
      ratio: base !== undefined ? r.hz / base.hz : undefined,
    };
  });
  if (json) {
    console.log(JSON.stringify({ title, environment: env, results }));
  } else {
    const width = Math.max(...results.map((r) => r.name.length));
    for (const r of results) {
      const parts = [
        r.name.padEnd(width),
        `${fmt(r.itemsPerSec).padStart(12)} items/s`,
        r.mbPerSec !== undefined ? `${r.mbPerSec.toFixed(1).padStart(9)} MB/s` : ''.padStart(14),
        `±${r.rmePercent.toFixed(1)}%`,
        r.ratio !== undefined ? `  ${r.ratio.toFixed(2)}x of ${r.baseline}` : '',
      ];
      console.log(parts.join('  '));
    }
  }
  return results;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}
