/**
 * The codec vectors of spec/vectors/codec.json, read from the package's spec folder: the helper probes send their
 * updates as they are (valid sessions of every record type) and the `reject-*` ones as the hostile updates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex } from '../core/index.js';

/** One vector: a session of updates; with `error`, its last update must be refused with that code. */
export interface CodecVector {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly updates: readonly { readonly bytes: Uint8Array; readonly keyFrame: boolean; readonly error?: string }[];
}

let loaded: ReadonlyMap<string, CodecVector> | undefined;

/**
 * The vectors by name, read once from spec/vectors/codec.json above this file.
 * @throws {Error} when the file cannot be found or read
 */
export function codecVectors(): ReadonlyMap<string, CodecVector> {
  if (loaded) return loaded;
  let dir = dirname(fileURLToPath(import.meta.url));
  let file: string | undefined;
  for (let i = 0; i < 6 && !file; i++) {
    const candidate = join(dir, 'spec', 'vectors', 'codec.json');
    if (existsSync(candidate)) file = candidate;
    dir = dirname(dir);
  }
  if (!file) throw new Error('spec/vectors/codec.json not found above src/conformance');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { vectors: { name: string; width: number; height: number; updates: { hex: string; keyFrame: boolean; error?: string }[] }[] };
  const map = new Map<string, CodecVector>();
  for (const v of json.vectors) {
    map.set(v.name, {
      name: v.name,
      width: v.width,
      height: v.height,
      updates: v.updates.map((u) => ({ bytes: fromHex(u.hex)!, keyFrame: u.keyFrame, ...(u.error !== undefined ? { error: u.error } : {}) })),
    });
  }
  loaded = map;
  return map;
}

/**
 * One vector by name.
 * @throws {Error} when it is not in the file
 */
export function codecVector(name: string): CodecVector {
  const v = codecVectors().get(name);
  if (!v) throw new Error(`spec/vectors/codec.json has no vector '${name}'`);
  return v;
}
