import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { formatBytes } from '../output.js';
import { Host, Helper, VirtualScreen, encodePng, serveWeb, type HostSessionHandle, type WebServer } from '../../index.js';
import { onInterrupt, sleep } from './common.js';
import { printable } from '../printable.js';

const TEXT = 'Hello from your helper! Tessera shares this screen, 1920x1080.';

/** Key codes for the demo text on a US layout: [code, shift]. */
function keysFor(ch: string): [string, boolean] | undefined {
  if (/[a-z]/.test(ch)) return [`Key${ch.toUpperCase()}`, false];
  if (/[A-Z]/.test(ch)) return [`Key${ch}`, true];
  if (/[0-9]/.test(ch)) return [`Digit${ch}`, false];
  const table: Record<string, [string, boolean]> = { ' ': ['Space', false], '!': ['Digit1', true], ',': ['Comma', false], '.': ['Period', false] };
  return table[ch];
}

export const runDemo: Command = {
  usage: `usage: tessera demo [--duration S] [--out FILE.png] [--port N] [--json]

Runs a host on the built-in virtual desktop (1920x1080) on 127.0.0.1, makes an invitation, and connects a
helper over real TCP that types into the text field and drags the window, with a live status line
(frames/s, bytes/s, latency) and a summary. Writes a PNG of what the helper saw.
  --duration S   how long to run (default 10)
  --out FILE     where to write the PNG (default tessera-demo.png)
  --port N       TCP port (default 0: a free one)
  --web          also serve the browser viewer and print its link (--web-port N to choose the port); open it in a
                 browser on this machine to watch (or control) the same desktop while the demo runs`,
  options: { duration: { type: 'string' }, out: { type: 'string' }, port: { type: 'string' }, web: { type: 'boolean' }, 'web-port': { type: 'string' } },
  async run(values, _positionals, out) {
    const durationS = numberOption(values.duration, 'duration', { min: 1, max: 3600, integer: false }) ?? 10;
    const pngPath = resolve(typeof values.out === 'string' ? values.out : 'tessera-demo.png');
    const port = numberOption(values.port, 'port', { min: 0, max: 65535 }) ?? 0;
    const controller = new AbortController();
    const stopSignals = onInterrupt(controller);
    const screen = new VirtualScreen({ width: 1920, height: 1080 });
    const host = new Host({ source: screen, sink: screen, consent: (req) => (req.reason === 'control' ? 'control' : req.maxMode), name: 'tessera demo', maxFps: 60 });
    let helper: Helper | undefined;
    let web: WebServer | undefined;
    try {
      const bound = await host.listen({ port, host: '127.0.0.1' });
      const invitation = await host.createInvitation({ mode: 'control', expires: '10m' });
      if (values.web) web = await serveWeb(host, { port: numberOption(values['web-port'], 'web-port', { min: 0, max: 65535 }) ?? 0, host: '127.0.0.1' });
      out.event('listening', { port: bound.port, host: bound.host, invitation: null, url: invitation.toURL(), ...(web ? { viewer: web.url(invitation) } : {}) });
      out.say(`host listening on ${bound.host}:${bound.port} (virtual desktop 1920x1080)`);
      out.say(`invitation: ${invitation.toURL()}`);
      if (web) out.say(`browser viewer (open it on this machine): ${web.url(invitation)}`);
      let session: HostSessionHandle | undefined;
      host.on('session', (s: HostSessionHandle) => (session = s));
      helper = await Helper.connect(invitation.toURL(), { requestControl: true, signal: controller.signal });
      out.event('connected', { mode: helper.mode, width: helper.width, height: helper.height });
      out.say(`helper connected over TCP (${helper.mode}); typing and dragging for ${durationS} s`);

      // Key press to pixels: time from a key to the first frame after it.
      const latencies: number[] = [];
      let pendingKeyAt: number | undefined;
      helper.on('frame', () => {
        if (pendingKeyAt !== undefined) {
          latencies.push(performance.now() - pendingKeyAt);
          pendingKeyAt = undefined;
        }
      });
      const started = performance.now();
      let lastFrames = 0;
      let lastBytes = 0;
      let lastAt = started;
      const status = setInterval(() => {
        const h = helper!;
        const now = performance.now();
        const fps = ((h.stats.frames - lastFrames) * 1000) / (now - lastAt);
        const bps = ((h.stats.bytesReceived - lastBytes) * 1000) / (now - lastAt);
        lastFrames = h.stats.frames;
        lastBytes = h.stats.bytesReceived;
        lastAt = now;
        const lat = latencies.length ? latencies[latencies.length - 1]!.toFixed(1) : '-';
        out.status(`frames/s ${fps.toFixed(1)}  received ${formatBytes(Math.round(bps))}/s  key→pixels ${lat} ms  rtt ${h.stats.rttMs ?? '-'} ms  text "${printable(screen.text.slice(-24))}"`);
        out.event('stats', { frames: h.stats.frames, bytesReceived: h.stats.bytesReceived, framesPerSecond: Number(fps.toFixed(1)), bytesPerSecond: Math.round(bps), keyToPixelsMs: latencies.length ? Number(lat) : null });
      }, 500);

      const deadline = started + durationS * 1000;
      const h = helper;
      let dx = 6;
      let dy = 3;
      // Alternate: type the text a character at a time, then drag the window a little, until time is up.
      let i = 0;
      while (performance.now() < deadline && !controller.signal.aborted && !h.closed) {
        const ch = TEXT[i % TEXT.length]!;
        if (i % TEXT.length === 0 && i > 0) {
          for (let k = 0; k < TEXT.length && screen.text.length > 0; k++) h.key('Backspace', true), h.key('Backspace', false);
        }
        const key = keysFor(ch);
        pendingKeyAt = performance.now();
        if (key) {
          if (key[1]) h.key('ShiftLeft', true);
          h.key(key[0], true);
          h.key(key[0], false);
          if (key[1]) h.key('ShiftLeft', false);
        } else {
          h.type(ch);
        }
        i++;
        await sleep(40, controller.signal);
        if (i % 8 === 0) {
          // Drag the title bar a few steps.
          const pos = screen.windowPosition;
          const t = screen.titleBarRect;
          const gx = t.x + Math.floor(t.width / 2);
          const gy = t.y + Math.floor(t.height / 2);
          if (pos.x + dx < 0 || pos.x + screen.windowRect.width + dx * 10 > 1920) dx = -dx;
          if (pos.y + dy < 40 || pos.y + screen.windowRect.height + dy * 10 > 1080) dy = -dy;
          h.pointer(gx, gy, 0);
          h.pointer(gx, gy, 1);
          for (let step = 1; step <= 10; step++) {
            h.pointer(gx + dx * step, gy + dy * step, 1);
            await sleep(16, controller.signal);
          }
          h.pointer(gx + dx * 10, gy + dy * 10, 0);
        }
      }
      clearInterval(status);
      out.endStatus();
      // Let the last changes arrive, then save what the helper saw.
      const final = screen.snapshot().data;
      await Promise.race([h.waitForFrame((fb) => Buffer.from(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength).equals(Buffer.from(final))), sleep(2000)]);
      await writeFile(pngPath, await encodePng(h.framebuffer, 6));
      const secs = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const p50 = latencies.length ? latencies[Math.floor(latencies.length / 2)]! : undefined;
      const p99 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]! : undefined;
      const summary = {
        seconds: Number(secs.toFixed(1)),
        frames: h.stats.frames,
        bytesReceived: h.stats.bytesReceived,
        bytesSent: h.stats.bytesSent,
        keyToPixelsP50Ms: p50 !== undefined ? Number(p50.toFixed(2)) : null,
        keyToPixelsP99Ms: p99 !== undefined ? Number(p99.toFixed(2)) : null,
        typed: screen.text,
        window: screen.windowPosition,
        inputAdmitted: session?.stats.input.admitted ?? 0,
        png: pngPath,
      };
      out.event('summary', summary);
      out.say(`summary: ${summary.frames} frames in ${summary.seconds} s (${(summary.frames / secs).toFixed(1)}/s), ${formatBytes(summary.bytesReceived)} received (${formatBytes(Math.round(summary.bytesReceived / secs))}/s)`);
      out.say(`key press to pixels: p50 ${summary.keyToPixelsP50Ms ?? '-'} ms, p99 ${summary.keyToPixelsP99Ms ?? '-'} ms; ${summary.inputAdmitted} input events reached the desktop`);
      out.say(`the helper saw: text field "${printable(screen.text, 200)}", window at ${summary.window.x},${summary.window.y}`);
      out.say(`what the helper saw is in ${pngPath}`);
      const info = await h.close();
      out.event('closed', { reason: info.reason, frames: h.stats.frames, bytesReceived: h.stats.bytesReceived, bytesSent: h.stats.bytesSent });
      return 0;
    } finally {
      stopSignals();
      if (helper && !helper.closed) await helper.close();
      await web?.close();
      await host.close();
    }
  },
};
