import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { ExitCode, UsageError } from '../errors.js';
import { loadInvitationAny } from '../../index.js';
import { HOST_PROBES, hostTarget, probeSelected, runProbes, type ProbeResult } from '../../conformance/index.js';
import { onInterrupt, passwordFrom, PASSWORD_WAYS } from './common.js';
import { printable } from '../printable.js';
import { HELPER_USAGE, runHelperConformance, summarize } from './conformance-helper.js';

/** Most characters of a probe's reason shown in one line (it may quote what the peer sent). */
const REASON_CHARS = 400;

export const runConformance: Command = {
  usage: `usage: tessera conformance host INVITATION|URL [options]
       tessera conformance helper [options]

Probes another implementation's host over the network, acting as a helper: a handshake with each cipher, the
refusals it can reach (wrong proof, another version), protocol-error probes (garbage and frames out of place
before the handshake, a tampered sealed frame, an ack for an update never sent), flow control, chat and input
without control. Prints one line per probe with the requirement ids of spec/conformance.md it checks:
pass, FAIL (with the reason) or n/a (with the reason).

Every probe is a connection of its own with the same holder key, so the invitation counts the run as one
returning helper; the host must accept each one: run the target as 'tessera host --accept auto --uses 1'
(or the equivalent). Every probe asks for view only. The wrong-proof probe counts towards the host's throttle.
  --password           ask for the invitation's password on the terminal
  --password-file F    the password is the first line of F (or set TESSERA_PASSWORD)
  --only ID,ID         run only the probes that check these requirement ids (or have these names)
  --timeout S          each probe's deadline in seconds (default 15; some probes take longer)
  --json               one JSON object per probe, then a summary


${HELPER_USAGE}

Exit codes: 0 no probe failed, 1 at least one failed, 2 usage, 5 invitation invalid.`,
  options: {
    'password-file': { type: 'string' },
    password: { type: 'boolean' },
    only: { type: 'string' },
    timeout: { type: 'string' },
    port: { type: 'string' },
    bind: { type: 'string' },
    invite: { type: 'string' },
    wait: { type: 'string' },
    rounds: { type: 'string' },
  },
  positionals: { min: 1, max: 2 },
  async run(values, positionals, out) {
    const [role, target] = positionals as [string, string | undefined];
    if (role === 'helper') {
      if (target !== undefined) throw new UsageError(`'tessera conformance helper' takes no invitation: it makes its own (got ${printable(target, 40)})`);
      return runHelperConformance(values, out, (r) => report(r, out));
    }
    if (role !== 'host') throw new UsageError(`conformance probes a host or a helper: 'tessera conformance host INVITATION' or 'tessera conformance helper' (got ${printable(role, 40)})`);
    if (target === undefined) throw new UsageError(`'tessera conformance host' needs the host's invitation (a file or a tessera:// URL)`);
    for (const name of ['port', 'bind', 'invite', 'wait', 'rounds']) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is an option of 'tessera conformance helper'`);
    }
    const invitation = await loadInvitationAny(target, { now: Date.now });
    const password = await passwordFrom(values);
    if (invitation.passwordRequired && password === undefined) throw new UsageError(`this invitation needs a password: give it with ${PASSWORD_WAYS}`);
    const only = typeof values.only === 'string' ? values.only.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : undefined;
    if (only && !HOST_PROBES.some((p) => probeSelected(p, only))) throw new UsageError(`--only ${printable(values.only as string, 80)} selects no probe`);
    const timeoutMs = (numberOption(values.timeout, 'timeout', { min: 1, max: 600, integer: false }) ?? 15) * 1000;
    let t;
    try {
      t = hostTarget(invitation, password !== undefined ? { password } : {});
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const controller = new AbortController();
    const stop = onInterrupt(controller);
    let results: ProbeResult[];
    try {
      results = await runProbes(HOST_PROBES, t, { timeoutMs, signal: controller.signal, ...(only ? { only } : {}), onResult: (r) => report(r, out) });
    } finally {
      stop();
    }
    return summarize(results, out);
  },
};

function report(r: ProbeResult, out: { say(line: string): void; event(name: string, fields: Record<string, unknown>): void }): void {
  const v = r.verdict;
  const reason = v.status === 'pass' ? v.detail : v.reason;
  out.event('probe', { probe: r.name, ids: r.ids, title: r.title, status: v.status, ...(reason !== undefined ? { [v.status === 'pass' ? 'detail' : 'reason']: reason } : {}), ms: r.ms });
  const word = v.status === 'pass' ? 'pass' : v.status === 'fail' ? 'FAIL' : 'n/a ';
  const tail = v.status === 'pass' ? '' : `: ${printable(v.reason, REASON_CHARS)}`;
  out.say(`${word} ${r.ids.join(' ')}  ${r.title}${tail}`);
}
