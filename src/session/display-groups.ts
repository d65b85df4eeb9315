import type { Framebuffer, Rect } from '../codec/framebuffer.js';

/**
 * What the display fan-out needs of a codec encoder: encode the current frame against what this
 * encoder last sent (so frames it never saw are coalesced into one update), or start over with a key frame.
 */
export interface DisplayEncoder {
  /**
   * Encodes `frame` as a delta to the last frame this encoder encoded.
   * An encoder may return several updates for one frame: the pieces of a picture too large for one frame
   * (FittingEncoder, spec/framing.md §2.3). Each member must get all of them, in order, with nothing between them.
   * @returns the update bytes (owned by the caller), the pieces of a split, or undefined when nothing changed
   */
  encode(frame: Framebuffer, damage: readonly Rect[] | undefined): EncodedUpdates | Promise<EncodedUpdates>;
  /** Makes the next encode a key frame with fresh codec state (deflate stream, tile cache). */
  reset(): void;
}

/** What DisplayEncoder.encode returns: one update, the pieces of a split (in order), or undefined (nothing changed). */
export type EncodedUpdates = Uint8Array | readonly Uint8Array[] | undefined;

/** A receiver of updates: one helper's session. */
export interface DisplayMember {
  readonly canSendUpdate: boolean;
  /** Returns the sequence number the update got. */
  sendUpdate(update: Uint8Array, now: number): number;
  /** Sequence number of the last update the member decoded. */
  readonly decodedSeq: number;
}

/** Options of DisplayGroups. */
export interface DisplayGroupsOptions<M extends DisplayMember = DisplayMember> {
  readonly createEncoder: () => DisplayEncoder;
  /**
   * A member that has had no room for this long while the rest of its group was ready is moved to a group
   * of its own (with a key frame), so one slow helper cannot hold the others back. Default 1,000 ms.
   * The split is decided in wantsFrame(now) and offer(), whichever the caller makes first once the time is up.
   */
  readonly lagSplitMs?: number;
  /**
   * A group's encoder failed (a picture that cannot be split to fit a frame): the group is dropped and its members
   * are handed here to be ended; the other groups go on. Without it, the error propagates out of offer().
   */
  readonly onEncodeError?: (members: readonly M[], err: unknown) => void;
}

interface Group<M extends DisplayMember> {
  readonly encoder: DisplayEncoder;
  readonly members: Set<M>;
  /** Damage gathered since this group last encoded (undefined = unknown, compare everything). */
  damage: Rect[] | undefined;
  /** Generation of the last frame this group encoded (or found unchanged). */
  generation: number;
  /** Per member, the sequence number that carried `generation` (0 when it needed no update). */
  readonly deliveredSeq: Map<M, number>;
  /**
   * Since when some members have had room while others had none (the group held back by a laggard);
   * undefined while the group is ready or all its members are busy.
   */
  blockedSince: number | undefined;
  /**
   * Pieces of a split not yet sent, in order (spec/session.md §6.3): they go to every member as room allows,
   * before anything else; the group takes no new frame until they have all gone.
   */
  pending: Uint8Array[];
}

/**
 * Encodes each captured frame once per group of helpers and fans the update out to every member
 * (spec/session.md §4). Helpers join the main group, which restarts with a key frame so the newcomer can
 * decode; a helper that lags is split off into its own group so the others keep their frame rate.
 * Each group encodes against what its members last received, so a group that skips captured frames while
 * its members are busy sends the newest state of every changed tile once (coalescing).
 * A frame whose encoder returns several updates (a split, spec/framing.md §2.3) is the exception: those all go to
 * every member, in order, as room allows (sendPending), and the group takes no new frame until the last has gone.
 */
export class DisplayGroups<M extends DisplayMember> {
  readonly #createEncoder: () => DisplayEncoder;
  readonly #lagSplitMs: number;
  readonly #onEncodeError: ((members: readonly M[], err: unknown) => void) | undefined;
  #groups: Group<M>[] = [];
  #generation = 0;

  constructor(options: DisplayGroupsOptions<M>) {
    this.#createEncoder = options.createEncoder;
    this.#lagSplitMs = options.lagSplitMs ?? 1_000;
    this.#onEncodeError = options.onEncodeError;
  }

  /** Number of groups (each with its own encoder). */
  get groupCount(): number {
    return this.#groups.length;
  }

  /** Members in all groups. */
  get memberCount(): number {
    let n = 0;
    for (const g of this.#groups) n += g.members.size;
    return n;
  }

  /** The generation number the next offered frame gets. */
  get generation(): number {
    return this.#generation;
  }

  /** Adds a helper to the main group; the main group's next update is a key frame. */
  add(member: M): void {
    let main = this.#groups[0];
    if (!main) {
      main = this.#newGroup();
      this.#groups.push(main);
    } else {
      main.encoder.reset();
      main.damage = undefined;
      // The rest of a split was made against pictures the newcomer never had; the key frame replaces it.
      main.pending = [];
    }
    main.members.add(member);
  }

  /** Removes a helper; an emptied group is dropped. */
  remove(member: M): void {
    for (const g of this.#groups) {
      if (g.members.delete(member)) {
        g.deliveredSeq.delete(member);
        if (g.members.size === 0) this.#groups = this.#groups.filter((x) => x !== g);
        return;
      }
    }
  }

  /**
   * True when some group could send an update now (so a capture is worth taking).
   * It first splits off members that have held their group back for lagSplitMs: while a group waits for a
   * laggard no capture is taken, so the split must not wait for one (it would never come).
   * The caller asks again from a timer while nothing is captured, so a split falls due without other events.
   * @param now the time in ms, on the clock offer() is given
   */
  wantsFrame(now: number): boolean {
    this.#splitLaggards(now);
    for (const g of this.#groups) if (this.#ready(g)) return true;
    return false;
  }

  /**
   * Sends the pieces of splits still waiting, to every group whose members all have room again.
   * The caller runs it whenever room may have appeared (an acknowledgement, the link draining, its timer),
   * before it considers a capture.
   * @returns true when pieces are still waiting
   */
  sendPending(now: number): boolean {
    this.#splitLaggards(now);
    let waiting = false;
    for (const g of this.#groups) {
      this.#sendPendingOf(g, now);
      if (g.pending.length > 0) waiting = true;
    }
    return waiting;
  }

  /**
   * Offers a newly captured frame: every group whose members all have room encodes it once and sends
   * the update to each member. Groups that are busy gather the damage and encode a later frame.
   * Must not be called again before the previous call settles (the host serialises captures).
   * @returns the frame's generation number
   */
  async offer(frame: Framebuffer, damage: readonly Rect[] | undefined, now: number): Promise<number> {
    const gen = ++this.#generation;
    this.#splitLaggards(now);
    for (const g of this.#groups) {
      g.damage = mergeDamage(g.damage, damage);
      // The rest of a split goes first; the group takes this frame only once all of it has gone.
      this.#sendPendingOf(g, now);
      if (!this.#ready(g)) continue;
      const groupDamage = g.damage;
      g.damage = [];
      let encoded: EncodedUpdates;
      try {
        encoded = await g.encoder.encode(frame, groupDamage);
      } catch (err) {
        if (!this.#onEncodeError) throw err;
        this.#groups = this.#groups.filter((x) => x !== g);
        this.#onEncodeError([...g.members], err);
        continue;
      }
      g.generation = gen;
      if (encoded === undefined) {
        for (const m of g.members) g.deliveredSeq.set(m, 0);
        continue;
      }
      // The update, or the pieces of a split: all of them, in order, to every member; as many now as there is room
      // for. A member may have lost its room while a lossy encode was awaited: it must still get this update (the
      // encoder's next one builds on it), so the group waits for it (or splits it off as a laggard) rather than skip it.
      g.pending = encoded instanceof Uint8Array ? [encoded] : [...encoded];
      this.#sendPendingOf(g, now);
    }
    return gen;
  }

  /** True when every member has received and decoded the frame of generation `gen` (or a later one). */
  delivered(gen: number): boolean {
    for (const g of this.#groups) {
      if (g.generation < gen || g.pending.length > 0) return false;
      for (const m of g.members) if (m.decodedSeq < (g.deliveredSeq.get(m) ?? 0)) return false;
    }
    return true;
  }

  /** Makes every group's next update a key frame (after a screen resize, for example). */
  resetAll(): void {
    for (const g of this.#groups) {
      g.encoder.reset();
      g.damage = undefined;
      // A split of the old picture is not finished: the key frame at the new size replaces it.
      g.pending = [];
    }
  }

  /** True when the group may encode a new frame: no split waiting and room at every member. */
  #ready(g: Group<M>): boolean {
    return g.pending.length === 0 && this.#roomForAll(g);
  }

  #roomForAll(g: Group<M>): boolean {
    if (g.members.size === 0) return false;
    for (const m of g.members) if (!m.canSendUpdate) return false;
    return true;
  }

  /**
   * Sends a group's waiting pieces while every member has room: each piece goes to all members or to none, so
   * every member gets the same updates in the same order, and no new frame is encoded until the last has gone.
   */
  #sendPendingOf(g: Group<M>, now: number): void {
    while (g.pending.length > 0 && this.#roomForAll(g)) {
      const piece = g.pending.shift()!;
      for (const m of g.members) g.deliveredSeq.set(m, m.sendUpdate(piece, now));
    }
  }

  /**
   * Notes since when each group has been held back by members without room while others had room,
   * and moves those members to groups of their own once that has lasted lagSplitMs.
   */
  #splitLaggards(now: number): void {
    // Groups split off below are appended; they hold one member each and need no visit.
    for (let i = 0, n = this.#groups.length; i < n; i++) {
      const g = this.#groups[i]!;
      let slowCount = 0;
      for (const m of g.members) if (!m.canSendUpdate) slowCount++;
      // Ready (nobody waits) or all busy (nobody is held back by another): the clock restarts.
      if (slowCount === 0 || slowCount === g.members.size) {
        g.blockedSince = undefined;
        continue;
      }
      if (g.blockedSince === undefined) g.blockedSince = now;
      if (now - g.blockedSince < this.#lagSplitMs) continue;
      for (const m of [...g.members]) {
        if (m.canSendUpdate) continue;
        g.members.delete(m);
        g.deliveredSeq.delete(m);
        const own = this.#newGroup();
        own.members.add(m);
        own.generation = g.generation;
        this.#groups.push(own);
      }
      g.blockedSince = undefined;
    }
  }

  #newGroup(): Group<M> {
    return { encoder: this.#createEncoder(), members: new Set(), damage: undefined, generation: 0, deliveredSeq: new Map(), blockedSince: undefined, pending: [] };
  }
}

/** Unions damage lists; undefined (unknown) wins, since the encoder must then compare everything. */
function mergeDamage(acc: Rect[] | undefined, add: readonly Rect[] | undefined): Rect[] | undefined {
  if (acc === undefined || add === undefined) return undefined;
  // Bound the list: past 256 rectangles, compare the whole screen instead.
  if (acc.length + add.length > 256) return undefined;
  acc.push(...add);
  return acc;
}
