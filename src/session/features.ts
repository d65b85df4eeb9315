/**
 * Session features: optional parts of a session (the pointer's channel, file transfer, ...) that both
 * sides switch on after the handshake; spec/session.md §6.8.
 *
 * The host names the features it offers in Welcome's capability map (spec/handshake.md §3.4.1), each as a
 * key whose value is the feature's version (an int ≥ 1). A helper that understands one or more of them
 * answers with one `features` control message, the first thing it sends, naming those it takes; only then
 * may either side use their channels and messages. A peer of an older version offers or takes nothing, so
 * nothing it does not know ever reaches it.
 */
import type { CodecCaps } from '../handshake/messages.js';

/** The features this version knows, with the version it speaks of each. */
export const FEATURES = {
  /** The pointer's position and shape on channel 6 (host → helper). */
  cursor: 1,
  /** File transfer: control messages and channel 7, both ways. */
  transfer: 1,
} as const;

/** The name of a feature. */
export type Feature = keyof typeof FEATURES;

/** Every feature name, in spec order. */
export const FEATURE_NAMES: readonly Feature[] = Object.freeze(Object.keys(FEATURES) as Feature[]);

/** Whether `name` is a feature this version knows. */
export function isFeature(name: string): name is Feature {
  return Object.hasOwn(FEATURES, name);
}

/**
 * The features a host offered in Welcome's capability map that this version knows: a key named after a
 * feature with an integer value of at least this version's. Other keys and values are ignored.
 */
export function offeredFeatures(caps: CodecCaps): Feature[] {
  const out: Feature[] = [];
  for (const name of FEATURE_NAMES) {
    const v = caps[name];
    if (typeof v === 'number' && Number.isInteger(v) && v >= FEATURES[name]) out.push(name);
  }
  return out;
}

/** The entries a host adds to Welcome's capability map to offer `features`. */
export function featureCaps(features: Iterable<Feature>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of features) out[f] = FEATURES[f];
  return out;
}
