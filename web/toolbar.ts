/**
 * The viewer's toolbar and status logic, without the DOM (web/viewer.ts draws it): the frame rate and latency readout,
 * the notice shown when the host changes the helper's control, whether an invitation names the page's own host, and
 * the special keys a browser cannot send itself (Ctrl+Alt+Del, Super, Alt+Tab).
 */
import type { Mode } from '../src/handshake/constants.js';
import type { InvitationFields } from '../src/handshake/invitation.js';
import type { InputEvent } from '../src/input/events.js';
import type { KeyCode } from '../src/input/key-codes.js';
import { Modifier } from '../src/input/constants.js';

/** The window over which frames are counted for the rate, in ms. */
const FRAME_RATE_WINDOW_MS = 1_000;

/** Painted frames per second over the last second. */
export class FrameRate {
  readonly #times: number[] = [];

  /** Notes one painted frame at `now` (ms). */
  note(now: number): void {
    this.#times.push(now);
    this.#trim(now);
  }

  /** Frames painted in the second before `now`. */
  rate(now: number): number {
    this.#trim(now);
    return this.#times.length;
  }

  reset(): void {
    this.#times.length = 0;
  }

  #trim(now: number): void {
    while (this.#times.length > 0 && this.#times[0]! <= now - FRAME_RATE_WINDOW_MS) this.#times.shift();
  }
}

/** The toolbar's readout: "RTT 12 ms · 30 fps" ("RTT – ms" until the first pong). */
export function statusLine(rttMs: number | undefined, fps: number): string {
  return `RTT ${rttMs === undefined ? '–' : Math.round(rttMs)} ms · ${fps} fps`;
}

/** What the helper holds: the mode and whether the host user paused it. */
export interface ControlState {
  readonly mode: Mode;
  readonly paused: boolean;
}

/** A message over the screen: `sticky` ones stay until the next change (a pause), the others fade. */
export interface Notice {
  readonly kind: 'revoked' | 'paused' | 'resumed' | 'granted' | 'denied';
  readonly text: string;
  readonly tone: 'info' | 'warning';
  readonly sticky: boolean;
}

/**
 * The notice for a change of control the host made, or undefined when nothing the helper should be told changed.
 * `requested`: the helper asked for control and is waiting for the answer (staying in view then means denied).
 */
export function controlNotice(before: ControlState, after: ControlState, hostName: string, requested: boolean): Notice | undefined {
  const had = before.mode === 'control';
  const has = after.mode === 'control';
  if (had && !has) return { kind: 'revoked', text: `${hostName} took back control. You can still watch; ask for control again if you need it.`, tone: 'warning', sticky: false };
  if (has && after.paused && !(had && before.paused)) return { kind: 'paused', text: `${hostName} paused your control: your keys and clicks do not reach the host until they resume it.`, tone: 'warning', sticky: true };
  if (had && before.paused && has && !after.paused) return { kind: 'resumed', text: `${hostName} resumed your control.`, tone: 'info', sticky: false };
  if (!had && has) return { kind: 'granted', text: `${hostName} gave you control.`, tone: 'info', sticky: false };
  if (!had && !has && requested) return { kind: 'denied', text: `${hostName} did not give you control. You can still watch.`, tone: 'warning', sticky: false };
  return undefined;
}

/** Names of this machine's loopback interface, which all name the same host. */
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|0:0:0:0:0:0:0:1)$/;

function normalHost(name: string): string {
  let h = name.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return LOOPBACK.test(h) ? 'localhost' : h;
}

/**
 * Whether the invitation names the host the page came from (`hostname`, as location.hostname): one of its addresses,
 * or its relay, has that name. Ports are not compared: an invitation lists the host's tessera port, the page comes from
 * its web port. When it does not, a host key mismatch is an invitation for another host, not an impostor.
 */
export function invitationNamesHost(inv: Pick<InvitationFields, 'addresses' | 'relay'>, hostname: string): boolean {
  const here = normalHost(hostname);
  if (inv.addresses.some((a) => normalHost(a.host) === here)) return true;
  if (inv.relay) {
    try {
      if (normalHost(new URL(inv.relay.url).hostname) === here) return true;
    } catch {
      // A relay URL the invitation reader accepted always parses; a malformed one names nothing.
    }
  }
  return false;
}

/** Where an invitation says its host is, for a message: "host:port, …" or the relay's address. */
export function invitationPlace(inv: Pick<InvitationFields, 'addresses' | 'relay'>): string {
  const places = inv.addresses.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`));
  if (inv.relay) places.push(`relay ${inv.relay.url}`);
  return places.length > 0 ? places.join(', ') : 'no address';
}

/** The special keys of the toolbar's menu: each a chord pressed in order and released in reverse. */
export const SPECIAL_KEYS = {
  'ctrl-alt-del': { label: 'Ctrl+Alt+Del', codes: ['ControlLeft', 'AltLeft', 'Delete'] },
  super: { label: 'Super (Windows)', codes: ['MetaLeft'] },
  'alt-tab': { label: 'Alt+Tab', codes: ['AltLeft', 'Tab'] },
  'ctrl-esc': { label: 'Ctrl+Esc', codes: ['ControlLeft', 'Escape'] },
  'print-screen': { label: 'Print Screen', codes: ['PrintScreen'] },
} as const satisfies Record<string, { readonly label: string; readonly codes: readonly KeyCode[] }>;
export type SpecialKey = keyof typeof SPECIAL_KEYS;

const MODIFIER_OF: Partial<Record<KeyCode, number>> = { ControlLeft: Modifier.Ctrl, AltLeft: Modifier.Alt, MetaLeft: Modifier.Meta, ShiftLeft: Modifier.Shift };

/**
 * The key events of a special key: each key down in order, then up in reverse, so the host sees the chord as a keyboard
 * would send it; each event carries the modifier state after it (spec/input.md §3: Shift's own keyUp has no Shift).
 */
export function specialKeyEvents(key: SpecialKey): InputEvent[] {
  const codes: readonly KeyCode[] = SPECIAL_KEYS[key].codes;
  const out: InputEvent[] = [];
  let held = 0;
  for (const code of codes) {
    held |= MODIFIER_OF[code] ?? 0;
    out.push({ type: 'keyDown', code, modifiers: held });
  }
  for (let i = codes.length - 1; i >= 0; i--) {
    const code = codes[i]!;
    held &= ~(MODIFIER_OF[code] ?? 0);
    out.push({ type: 'keyUp', code, modifiers: held });
  }
  return out;
}
