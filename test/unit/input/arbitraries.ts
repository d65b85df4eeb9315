// fast-check generators for input events, shared by the input tests.
import fc from 'fast-check';
import { KEY_CODES, type InputEvent } from '../../../src/input/index.js';

const coordinate = fc.integer({ min: 0, max: 16383 });

/** Any valid input event. */
export const inputEvent: fc.Arbitrary<InputEvent> = fc.oneof(
  fc.record({
    type: fc.constantFrom('keyDown' as const, 'keyUp' as const),
    code: fc.constantFrom(...KEY_CODES),
    modifiers: fc.integer({ min: 0, max: 0x3f }),
  }),
  fc.record({ type: fc.constant('text' as const), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) }),
  fc.record({ type: fc.constant('pointerMove' as const), x: coordinate, y: coordinate, buttons: fc.integer({ min: 0, max: 0x1f }) }),
  fc.record({
    type: fc.constantFrom('buttonDown' as const, 'buttonUp' as const),
    button: fc.integer({ min: 0, max: 4 }),
    x: coordinate,
    y: coordinate,
  }),
  fc.record({ type: fc.constant('wheel' as const), dx: fc.integer({ min: -32768, max: 32767 }), dy: fc.integer({ min: -32768, max: 32767 }) }),
);

/** A batch of up to `max` valid events. */
export function inputBatch(max = 64): fc.Arbitrary<InputEvent[]> {
  return fc.array(inputEvent, { maxLength: max });
}
