/** Conformance probes: `tessera conformance host` and `tessera conformance helper` (spec/conformance.md, "Probing another implementation"). */
import { newHolderKey, type Invitation } from '../handshake/index.js';
import { nodeRandom, scryptKdf } from '../transport/handshake-crypto.js';
import type { HostTarget } from './wire.js';

export { runProbes, probeSelected, pass, fail, notApplicable } from './probe.js';
export type { Probe, ProbeContext, ProbeResult, ProbeVerdict, RunProbesOptions } from './probe.js';
export { HOST_PROBES } from './host-probes.js';
export { HELPER_PROBES } from './helper-probes.js';
export { HelperTarget, ProbeHostSession, type HelperTargetOptions } from './helper-wire.js';
export type { HostTarget } from './wire.js';

/**
 * The target of the host probes: the invitation's first address and one fresh holder key for the whole run.
 * @throws {Error} when the invitation lists no direct address (the probes do not go through a relay)
 */
export function hostTarget(invitation: Invitation, o: { password?: string } = {}): HostTarget {
  const first = invitation.addresses[0];
  if (!first) throw new Error('the invitation lists no direct address; the probes do not go through a relay');
  return {
    invitation,
    host: first.host,
    port: first.port,
    ...(o.password !== undefined ? { password: o.password } : {}),
    kdf: scryptKdf,
    holder: newHolderKey(nodeRandom),
  };
}
