import { ConfigError } from '../core/index.js';
import type { Duration } from '../handshake/index.js';

const UNITS: Readonly<Record<string, Duration['units']>> = {
  m: 'minutes', min: 'minutes', mins: 'minutes', minute: 'minutes', minutes: 'minutes',
  h: 'hours', hr: 'hours', hrs: 'hours', hour: 'hours', hours: 'hours',
  d: 'days', day: 'days', days: 'days',
};

/**
 * Parses an invitation lifetime such as "30m", "2h", "1d" or "90 minutes" into a Duration.
 * @throws {ConfigError} for anything else
 */
export function parseExpires(text: string): Duration {
  const m = /^\s*(\d{1,6})\s*([a-z]+)\s*$/i.exec(text);
  const units = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const value = m ? Number(m[1]) : NaN;
  if (!m || !units || !(value >= 1)) {
    throw new ConfigError(`expires must be a number and a unit, such as 30m, 2h or 1d; got ${JSON.stringify(text)}`, { field: 'expires' });
  }
  return { value, units };
}
