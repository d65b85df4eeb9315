/** Loading policy and helpers-directory files (formats in spec/handshake.md §5). */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../core/index.js';
import { parseHelpers, parsePolicy, type Helpers, type Policy } from '../handshake/policy.js';

const MAX_BYTES = 1024 * 1024;

function readConfig(path: string, what: string): string {
  try {
    if (statSync(path).size > MAX_BYTES) throw new ConfigError(`${what}: file is larger than 1 MiB`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(`${what}: cannot read ${path}${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  }
}

/**
 * Reads and parses a policy file.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG naming the field
 */
export function loadPolicy(path: string): Policy {
  return parsePolicy(readConfig(path, 'policy'));
}

/**
 * Reads and parses a helpers directory file.
 * @throws {ConfigError} TESSERA_ERR_INVALID_CONFIG naming the field
 */
export function loadHelpers(path: string): Helpers {
  return parseHelpers(readConfig(path, 'helpers'));
}
