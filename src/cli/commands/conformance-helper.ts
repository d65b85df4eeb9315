/**
 * `tessera conformance helper`: acts as a host that the helper under test joins once per probe, and reports each
 * probe as `tessera conformance host` does (spec/conformance.md §5).
 */
import { isAbsolute, resolve } from 'node:path';
import { numberOption } from '../command.js';
import { ExitCode, UsageError } from '../errors.js';
import { HELPER_PROBES, HelperTarget, probeSelected, runProbes, type Probe, type ProbeResult } from '../../conformance/index.js';
import { writeSecretFile } from '../../node/secret-file.js';
import { onInterrupt } from './common.js';
import { printable } from '../printable.js';
import type { Output } from '../output.js';

/** How long each probe waits for the helper to connect, by default (seconds). */
const DEFAULT_WAIT_S = 120;

/** The usage lines of the helper half, shown in `tessera conformance --help`. */
export const HELPER_USAGE = `The helper half, 'tessera conformance helper', probes another implementation's helper over the network, acting
as a host: it listens, prints an invitation, and for each probe waits for the helper to connect with it, then
sends a scripted session: valid updates of every record type (solid, palette, indexed, pixels with every filter
incl. PREV and MED_RANGE, cache, lossy, copies), resizes, a codec seq that wraps, sixteen updates in flight; or
a malformed update (the reject-* vectors of spec/vectors/codec.json, a display seq that skips, a short display
payload, a bad version or flag). A valid update passes when it is acknowledged; a malformed one when the helper
closes with protocol-error and does not acknowledge it. The picture itself is not visible on the wire: exactness
is checked by acks only.

Run the helper under test again and again with the invitation (for tessera: a loop of 'tessera connect URL').
  --port N             port to listen on (default 0: a free one, printed)
  --bind ADDR          address to listen on, and the invitation's (default 127.0.0.1; for 0.0.0.0 or ::
                       the invitation lists 127.0.0.1: give the helper a copy with the right address)
  --invite FILE        also write the invitation to FILE (.tessera; mode 0600)
  --only ID,ID         run only the probes that check these requirement ids (or have these names)
  --timeout S          each probe's deadline once the helper connected, in seconds (default 15)
  --wait S             how long each probe waits for the helper to connect (default ${DEFAULT_WAIT_S})
  --rounds N           run the probes N times (default 1)
  --json               an 'invitation' object, one JSON object per probe, then a summary`;

/**
 * Runs the helper probes as the CLI asked, printing as they go.
 * @returns ExitCode.Ok when no probe failed, ExitCode.Failure otherwise
 */
export async function runHelperConformance(values: Record<string, unknown>, out: Output, report: (r: ProbeResult) => void): Promise<number> {
  const only = typeof values.only === 'string' ? values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : undefined;
  if (only && !HELPER_PROBES.some((p) => probeSelected(p, only))) throw new UsageError(`--only ${printable(values.only as string, 80)} selects no probe`);
  const timeoutMs = (numberOption(values.timeout, 'timeout', { min: 1, max: 600, integer: false }) ?? 15) * 1000;
  const waitMs = (numberOption(values.wait, 'wait', { min: 1, max: 3600, integer: false }) ?? DEFAULT_WAIT_S) * 1000;
  const rounds = numberOption(values.rounds, 'rounds', { min: 1, max: 100 }) ?? 1;
  const port = numberOption(values.port, 'port', { min: 0, max: 65535 }) ?? 0;
  const bind = typeof values.bind === 'string' ? values.bind : '127.0.0.1';
  const probes: Probe<HelperTarget>[] = [];
  for (let i = 0; i < rounds; i++) probes.push(...HELPER_PROBES);
  const selected = probes.filter((p) => probeSelected(p, only)).length;
  const target = await HelperTarget.start({ port, bind, connectWaitMs: waitMs, uses: selected });
  try {
    const url = target.invitation.toUrl();
    const invitePath = typeof values.invite === 'string' ? (isAbsolute(values.invite) ? values.invite : resolve(values.invite)) : undefined;
    if (invitePath) writeSecretFile(invitePath, target.invitation.toText());
    out.event('invitation', { url, port: target.port, host: bind, probes: selected, ...(invitePath ? { file: invitePath } : {}) });
    out.say(`tessera conformance helper: a probe host on ${bind}:${target.port}, ${selected} probe${selected === 1 ? '' : 's'}, one connection each`);
    out.say(`connect the helper under test with this invitation, again after each probe (e.g. a loop of 'tessera connect URL'):`);
    out.say(`  ${url}`);
    if (invitePath) out.say(`  written to ${invitePath}`);
    let index = 0;
    target.onWaiting = () => {
      out.event('waiting', { probe: index, of: selected });
      out.say(`waiting for the helper to connect (probe ${index} of ${selected})…`);
    };
    const controller = new AbortController();
    const stop = onInterrupt(controller);
    let results: ProbeResult[];
    try {
      results = await runProbes(probes, target, {
        // The deadline covers the wait for the connection too; the wait fails first with its own reason.
        timeoutMs: waitMs + timeoutMs,
        signal: controller.signal,
        ...(only ? { only } : {}),
        onStart: (_p, k) => void (index = k),
        onResult: report,
      });
    } finally {
      stop();
    }
    return summarize(results, out);
  } finally {
    await target.close();
  }
}

/** Prints the count of each verdict (a `summary` event with --json); exit 1 when a probe failed, else 0. */
export function summarize(results: readonly ProbeResult[], out: Output): number {
  const count = (status: string): number => results.filter((r) => r.verdict.status === status).length;
  const summary = { passed: count('pass'), failed: count('fail'), notApplicable: count('n/a') };
  out.event('summary', summary);
  out.say(`${summary.passed} passed, ${summary.failed} failed, ${summary.notApplicable} not applicable`);
  return summary.failed > 0 ? ExitCode.Failure : ExitCode.Ok;
}
