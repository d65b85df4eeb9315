/** What every command of the tessera CLI is, and the option helpers they share (src/cli/main.ts runs them). */
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';
import type { Output } from './output.js';

/** A command: its options and what it does. Returns the exit code. */
export interface Command {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly positionals?: { min: number; max: number };
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], out: Output): Promise<number>;
}

/** Reads a numeric option, or throws a UsageError naming it. */
export function numberOption(value: unknown, name: string, { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}
