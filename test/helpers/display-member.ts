/**
 * A display-group member for unit tests of DisplayGroups (src/session/display-groups.ts): it keeps what it was
 * sent, has `room` updates of window, and acknowledges when told.
 */
import type { DisplayMember } from '../../src/session/display-groups.js';

export class FakeMember implements DisplayMember {
  readonly sent: Uint8Array[] = [];
  decodedSeq = 0;
  room = 2;
  get canSendUpdate(): boolean {
    return this.sent.length - this.decodedSeq < this.room;
  }
  sendUpdate(update: Uint8Array): number {
    this.sent.push(update);
    return this.sent.length;
  }
  /** Acknowledges every update sent so far. */
  ackAll(): void {
    this.decodedSeq = this.sent.length;
  }
}
