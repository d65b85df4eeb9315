/**
 * sharp (libvips), loaded on first use: loading it costs about half a second, and most runs of the command
 * (a helper in a terminal, `inspect`, `keygen`) never decode or encode an image.
 */
import type sharpFn from 'sharp';

let loading: Promise<typeof sharpFn> | undefined;

/** The sharp function, imported once. */
export function loadSharp(): Promise<typeof sharpFn> {
  return (loading ??= import('sharp').then((m) => m.default));
}
