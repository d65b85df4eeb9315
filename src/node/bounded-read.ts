import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Reads at most `max` bytes of a file. A larger file is refused before anything is read, unless `prefixOnly`
 * asks for just its first `max` bytes (to sniff a format). Failures go through `fail(why, cause)` so each caller
 * reports them in its own words and error class.
 */
export function readFileBounded(
  path: string,
  max: number,
  fail: (why: string, cause?: unknown) => Error,
  options: { what?: string; prefixOnly?: boolean } = {},
): Uint8Array {
  const what = options.what ?? 'file';
  let fd: number | undefined;
  let refused: Error | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (!options.prefixOnly && size > max) {
      refused = fail(`the ${what} is larger than ${max} bytes`);
      throw refused;
    }
    const want = Math.min(size, max);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const n = readSync(fd, buf, got, want - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (err) {
    if (err === refused) throw err;
    const code = (err as { code?: unknown }).code;
    throw fail(`cannot read the ${what}${typeof code === 'string' ? ` (${code})` : ''}`, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
