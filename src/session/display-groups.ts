import type { Framebuffer, Rect } from '../codec/framebuffer.js';

/**
 * What the display fan-out needs of a codec encoder: encode the current frame against what this
 * encoder last sent (so frames it never saw are coalesced into one update), or start over with a key frame.
 */
export interface DisplayEncoder {
  /**
   * Encodes `frame` as a delta to the last frame this encoder encoded.
   * @returns the update bytes (owned by the caller), or undefined when nothing changed
   */
  encode(frame: Framebuffer, damage: readonly Rect[] | undefined): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Makes the next encode a key frame with fresh codec state (deflate stream, tile cache). */
  reset(): void;
}

/** A receiver of updates: one helper's session. */
export interface DisplayMember {
  readonly canSendUpdate: boolean;
  /** Returns the sequence number the update got. */
  sendUpdate(update: Uint8Array, now: number): number;
  /** Sequence number of the last update the member decoded. */
  readonly decodedSeq: number;
}

/** Options of DisplayGroups. */
export interface DisplayGroupsOptions {
  readonly createEncoder: () => DisplayEncoder;
  /**
   * A member that has had no room for this long while the rest of its group was ready is moved to a group
   * of its own (with a key frame), so one slow helper cannot hold the others back. Default 1,000 ms.
   * The split is decided in wantsFrame(now) and offer(), whichever the caller makes first once the time is up.
   */
  readonly lagSplitMs?: number;
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
}

/**
 * Encodes each captured frame once per group of helpers and fans the update out to every member
 * (spec/session.md §4). Helpers join the main group, which restarts with a key frame so the newcomer can
 * decode; a helper that lags is split off into its own group so the others keep their frame rate.
 * Each group encodes against what its members last received, so a group that skips captured frames while
 * its members are busy sends the newest state of every changed tile once (coalescing).
 */
export class DisplayGroups<M extends DisplayMember> {
  readonly #createEncoder: () => DisplayEncoder;
  readonly #lagSplitMs: number;
  #groups: Group<M>[] = [];
  #generation = 0;

  constructor(options: DisplayGroupsOptions) {
    this.#createEncoder = options.createEncoder;
    this.#lagSplitMs = options.lagSplitMs ?? 1_000;
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
      if (!this.#ready(g)) continue;
      const groupDamage = g.damage;
      g.damage = [];
      const update = await g.encoder.encode(frame, groupDamage);
      g.generation = gen;
      // Members may have left, or lost their room, while a lossy encode was awaited.
      for (const m of g.members) {
        if (update && !m.canSendUpdate) continue;
        g.deliveredSeq.set(m, update ? m.sendUpdate(update, now) : 0);
      }
    }
    return gen;
  }

  /** True when every member has received and decoded the frame of generation `gen` (or a later one). */
  delivered(gen: number): boolean {
    for (const g of this.#groups) {
      if (g.generation < gen) return false;
      for (const m of g.members) if (m.decodedSeq < (g.deliveredSeq.get(m) ?? 0)) return false;
    }
    return true;
  }

  /** Makes every group's next update a key frame (after a screen resize, for example). */
  resetAll(): void {
    for (const g of this.#groups) {
      g.encoder.reset();
      g.damage = undefined;
    }
  }

  #ready(g: Group<M>): boolean {
    if (g.members.size === 0) return false;
    for (const m of g.members) if (!m.canSendUpdate) return false;
    return true;
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
    return { encoder: this.#createEncoder(), members: new Set(), damage: undefined, generation: 0, deliveredSeq: new Map(), blockedSince: undefined };
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
