/**
 * Plays a recording's display updates back through the same TileDecoder a helper uses (spec/recording.md §7), so the
 * pictures are the ones the helper saw. Pure: the caller reads the file and writes any PNG.
 */
import { TileDecoder, type DecodeResult, type TileDecoderOptions } from '../codec/tile-decoder.js';
import { CursorReceiver, type CursorState } from '../session/cursor.js';
import type { RecordingEvent } from './format.js';

/** One picture of the playback: the decoder's live framebuffer after an update. */
export interface PlaybackFrame {
  readonly time: number;
  readonly seq: number;
  readonly result: DecodeResult;
}

/** Decodes a recording's updates in order, and follows the pointer as the helper did. */
export class RecordingPlayer {
  readonly #decoder: TileDecoder;
  readonly #async: boolean;
  // The helper's own receiver, with its cache rule: a POSITION naming a shape the helper would not hold is an error.
  readonly #cursor = new CursorReceiver();
  #cursorState: CursorState | undefined;
  #frames = 0;

  constructor(options: TileDecoderOptions = {}) {
    this.#decoder = new TileDecoder(options);
    this.#async = options.imageCodec !== undefined;
  }

  /** Updates decoded so far. */
  get frames(): number {
    return this.#frames;
  }

  /** The pointer as the helper last saw it (its position, visibility and shape), or undefined before any POSITION. */
  get cursor(): CursorState | undefined {
    return this.#cursorState;
  }

  /**
   * Applies one record; an update gives the picture after it, any other record undefined (a cursor record moves
   * {@link cursor}).
   * @throws {TesseraError} the decoder's errors for an update that does not decode; TESSERA_ERR_INVALID_FIELD for a
   *   cursor position naming a shape the helper would not hold
   */
  async apply(event: RecordingEvent): Promise<PlaybackFrame | undefined> {
    if (event.type === 'cursor') {
      const state = this.#cursor.receive(event.payload);
      if (state !== undefined) this.#cursorState = state;
      return undefined;
    }
    if (event.type !== 'update') return undefined;
    const result = this.#async ? await this.#decoder.decodeAsync(event.update) : this.#decoder.decode(event.update);
    this.#frames++;
    return { time: event.time, seq: event.seq, result };
  }
}
