/**
 * The probe runner of `tessera conformance` (spec/conformance.md, "Probing another implementation"): each probe
 * checks one or more requirements of spec/conformance.md against a peer over the network and answers pass, fail
 * (with a reason) or not applicable (with a reason). Probes run one after the other, each under its own deadline.
 */
import { AbortError } from '../core/index.js';

/** The outcome of one probe. */
export type ProbeVerdict =
  | { readonly status: 'pass'; readonly detail?: string }
  | { readonly status: 'fail'; readonly reason: string }
  | { readonly status: 'n/a'; readonly reason: string };

/** Shorthands for a probe's answer. */
export const pass = (detail?: string): ProbeVerdict => (detail === undefined ? { status: 'pass' } : { status: 'pass', detail });
export const fail = (reason: string): ProbeVerdict => ({ status: 'fail', reason });
export const notApplicable = (reason: string): ProbeVerdict => ({ status: 'n/a', reason });

/** What a probe is given: the target and the probe's own deadline. */
export interface ProbeContext<T> {
  readonly target: T;
  /** Aborts when the probe's deadline passes (or the whole run is cancelled). */
  readonly signal: AbortSignal;
}

/** One probe: requirement ids (as in spec/conformance.md), a title, and what it does. */
export interface Probe<T> {
  /** A short stable name (`cipher-1`, `flow-control`). */
  readonly name: string;
  /** The requirement ids it checks, each a row of spec/conformance.md. */
  readonly ids: readonly string[];
  readonly title: string;
  /** Its own deadline, when longer or shorter than the run's. */
  readonly timeoutMs?: number;
  run(ctx: ProbeContext<T>): Promise<ProbeVerdict>;
}

/** A probe's result, as the runner reports it. */
export interface ProbeResult {
  readonly name: string;
  readonly ids: readonly string[];
  readonly title: string;
  readonly verdict: ProbeVerdict;
  readonly ms: number;
}

/** Options of runProbes. */
export interface RunProbesOptions {
  /** Run only the probes that check one of these ids (or have one of these names). */
  readonly only?: readonly string[];
  /** Default deadline of each probe. */
  readonly timeoutMs: number;
  /** Cancels the run: the probe running fails, the rest are not run. */
  readonly signal?: AbortSignal;
  /** Called before each probe, with its place among the selected ones (1-based) and their count. */
  readonly onStart?: (probe: Probe<unknown>, index: number, total: number) => void;
  /** Called after each probe (to print as the run goes). */
  readonly onResult?: (result: ProbeResult) => void;
  /** Milliseconds clock; default Date.now. */
  readonly clock?: () => number;
}

/** Whether a probe is selected by `only` (ids compare case-insensitively). */
export function probeSelected(probe: Probe<unknown>, only: readonly string[] | undefined): boolean {
  if (!only || only.length === 0) return true;
  const wanted = new Set(only.map((s) => s.trim().toUpperCase()));
  return wanted.has(probe.name.toUpperCase()) || probe.ids.some((id) => wanted.has(id.toUpperCase()));
}

/**
 * Runs the selected probes in order, each on its own deadline; a probe that throws or overruns fails.
 * @throws {AbortError} when `signal` aborts (results so far were reported through onResult)
 */
export async function runProbes<T>(probes: readonly Probe<T>[], target: T, o: RunProbesOptions): Promise<ProbeResult[]> {
  const clock = o.clock ?? Date.now;
  const results: ProbeResult[] = [];
  const selected = probes.filter((p) => probeSelected(p as Probe<unknown>, o.only));
  for (const probe of selected) {
    if (o.signal?.aborted) throw new AbortError(undefined, { cause: o.signal.reason });
    o.onStart?.(probe as Probe<unknown>, results.length + 1, selected.length);
    const started = clock();
    const verdict = await runOne(probe, target, probe.timeoutMs ?? o.timeoutMs, o.signal);
    if (o.signal?.aborted) throw new AbortError(undefined, { cause: o.signal.reason });
    const result: ProbeResult = { name: probe.name, ids: probe.ids, title: probe.title, verdict, ms: clock() - started };
    results.push(result);
    o.onResult?.(result);
  }
  return results;
}

async function runOne<T>(probe: Probe<T>, target: T, timeoutMs: number, outer: AbortSignal | undefined): Promise<ProbeVerdict> {
  const ctrl = new AbortController();
  const onOuter = (): void => ctrl.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeVerdict>((resolve) => {
    timer = setTimeout(() => {
      ctrl.abort(new Error('deadline'));
      resolve(fail(`no answer within the probe's deadline of ${Math.round(timeoutMs / 100) / 10} s`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      probe.run({ target, signal: ctrl.signal }).catch((err: unknown) => fail(`the probe failed: ${err instanceof Error ? err.message : String(err)}`)),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    // Whatever the probe still holds (sockets, timers) is released through its signal.
    ctrl.abort(new Error('probe finished'));
    outer?.removeEventListener('abort', onOuter);
  }
}

/**
 * Lets a probe wait for what the peer sends: `wait(ms)` resolves at the next `wake()` (the owner calls it after
 * each read from the peer) or after `ms`; `waitFor` checks a predicate after each wake, up to a deadline.
 */
export class Waker {
  #waiting: (() => void)[] = [];

  /** Resolves at the next wake() or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#waiting.push(done);
    });
  }

  /** Wakes every waiter. */
  wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w();
  }

  /** Waits until `predicate` holds (checked after each wake, and at least every 250 ms) or `ms` passes; true if it held. */
  async waitFor(predicate: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.wait(Math.min(left, 250));
    }
    return true;
  }
}
