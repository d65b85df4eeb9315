/**
 * Locates and loads the shared screen corpus (../shared/corpus relative to the repo root).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Framebuffer } from '../../src/codec/framebuffer.js';
import { loadPng } from '../../src/node/png.js';

/** The repository root (two levels above test/helpers). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Default corpus folder: ../shared/corpus from the repo root. */
export const defaultCorpusDir = path.resolve(repoRoot, '../shared/corpus');

/** The corpus sequences (folders with PNG frames), or [] when the corpus is absent. */
export function corpusSequences(dir = defaultCorpusDir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && readdirSync(path.join(dir, e.name)).some((f) => f.endsWith('.png')))
    .map((e) => e.name)
    .sort();
}

/** Frame file paths of one sequence, in capture order. */
export function sequenceFrames(sequence: string, dir = defaultCorpusDir): string[] {
  const folder = path.join(dir, sequence);
  return readdirSync(folder).filter((f) => f.endsWith('.png')).sort().map((f) => path.join(folder, f));
}

/** Loads frames one at a time (keeps memory to a frame or two). */
export async function* loadSequence(sequence: string, dir = defaultCorpusDir): AsyncGenerator<Framebuffer> {
  for (const file of sequenceFrames(sequence, dir)) yield await loadPng(file);
}
