/**
 * Key press to pixels, shared by the session, x11 and relay benchmarks: a key pressed at a helper, timed until the
 * pixels of an area of its framebuffer change; presses alternate typing a letter and Backspace so a field never fills.
 * Never used by tests.
 */
import type { Helper } from '../../src/index.js';

/** An area of the screen, in pixels. */
export interface Area {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A cheap signature of the red channel of `area` in the helper's latest picture. */
export function areaSignature(helper: Helper, area: Area): number {
  const fb = helper.framebuffer;
  let s = 0;
  for (let y = area.y; y < area.y + area.height; y++) {
    const row = (y * fb.width + area.x) * 4;
    for (let x = 0; x < area.width * 4; x += 4) s = (s * 31 + fb.data[row + x]!) | 0;
  }
  return s;
}

/** The key of press `i`: a letter on even presses, Backspace on odd ones. */
export function alternatingKey(i: number): string {
  return i % 2 === 0 ? ['KeyA', 'KeyB', 'KeyC', 'KeyD'][(i >> 1) % 4]! : 'Backspace';
}

/** Presses and releases `code` at the helper; resolves with the milliseconds until `area` changed at the helper. */
export async function timeKeyPress(helper: Helper, area: Area, code: string): Promise<number> {
  const before = areaSignature(helper, area);
  const changed = new Promise<void>((resolve) => {
    const onFrame = (): void => {
      if (areaSignature(helper, area) !== before) {
        helper.off('frame', onFrame);
        resolve();
      }
    };
    helper.on('frame', onFrame);
  });
  const t0 = performance.now();
  helper.key(code, true);
  helper.key(code, false);
  await changed;
  return performance.now() - t0;
}

/** The p-th percentile (0..100) of sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
