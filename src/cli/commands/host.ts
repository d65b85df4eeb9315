import { isAbsolute, resolve } from 'node:path';
import type { Command } from '../command.js';
import { numberOption } from '../command.js';
import { UsageError, describeError } from '../errors.js';
import { formatBytes, type Output } from '../output.js';
import { HostTerminal } from '../terminal.js';
import { printable } from '../printable.js';
import { TransferReporter } from '../transfer-output.js';
import { passwordFrom, onInterrupt, sleep, tlsFrom } from './common.js';
import {
  Host,
  VirtualScreen,
  ReplayScreen,
  X11Screen,
  X11Input,
  X11Border,
  EmailError,
  serveWeb,
  type WebServer,
  loadPolicy,
  loadHelpers,
  type ConsentReply,
  type HostConsentRequest,
  type HostSessionHandle,
  type InputSink,
  type PresenceIndicator,
  type ScreenSource,
  type QualityMode,
  type Mode,
  type AuditEvent,
  type HostInvitation,
  type HostRecordingOptions,
  type Policy,
  loadAuditorKey,
  type WrongProof,
  type LockOut,
  type FileRequest,
  type TransferProgress,
  type TransferResult,
  defaultDownloadsDir,
  ErrorCode,
  parseExpires,
  isLoopback,
  isLoopbackOnly,
  relayViewerUrl,
} from '../../index.js';
import { durationMs, formatAddress, parseAddress, toBase64Url } from '../../handshake/index.js';
import { isIP } from 'node:net';
import { DEFAULT_MAX_CHAT_BYTES } from '../../input/constants.js';

/** Most characters of a peer's name or address shown in one line; of a close message. */
const NAME_CHARS = 80;
const CLOSE_MESSAGE_CHARS = 300;

const SCAM_WARNING = 'Only accept help from someone you know and contacted yourself: tech-support scammers use exactly this kind of tool.';

/**
 * What the consent prompt says about the invitation's use and the helper's key (spec/handshake.md §2.5): how often it
 * was used before and when, and the fingerprint of the key the helper's program made for this invitation, labelled
 * for what it is (it tells this helper from others on the invitation; it does not say who they are).
 */
export function invitationUseLines(request: HostConsentRequest): string[] {
  if (request.kind !== 'ticket' || request.holderFingerprint === undefined) return [];
  const before = request.previousUses ?? 0;
  const max = request.maxUses ?? 1;
  const last = request.lastUsedMs !== undefined ? `, last at ${new Date(request.lastUsedMs).toISOString()}` : '';
  const use = before === 0 ? 'first use' : `used ${before} ${before === 1 ? 'time' : 'times'} before${last}`;
  const places = `by ${request.holders ?? 0} of at most ${max} ${max === 1 ? 'helper' : 'helpers'}`;
  const key = printable(request.holderFingerprint, NAME_CHARS);
  const seen = request.returning ? 'the same helper as before, reconnecting' : 'a helper not seen with this invitation before';
  return [
    `Invitation: ${use}${before === 0 ? ` (admits at most ${max} ${max === 1 ? 'helper' : 'helpers'})` : `, ${places}`}.`,
    `Helper key ${key}: ${seen}. (This key was made by the helper's program for this invitation: it tells this helper from others, it does not tell you who they are. The helper can read it to you to compare.)`,
  ];
}

export const runHost: Command = {
  usage: `usage: tessera host [options]

Shares a screen: writes an invitation, prints its tessera:// URL, and waits for a helper.
While a helper is connected: Esc revokes control, p pauses or resumes input, x ends every session,
c starts a message to the helper (Enter sends it to every helper connected, Esc cancels), Ctrl-C closes the host.
(Without a terminal, type the lines: revoke, pause, end, y/n to answer, /send PATH to send a file; any other line is a
message to the helpers.) Files a helper sends are saved into --downloads once you accept them.
Each wrong password for the invitation is told as it happens, and so is the lock-out that follows too many.

  --screen virtual|replay:DIR[@FPS]|x11:DISPLAY   what to share (default virtual: the built-in desktop);
                       replay without @FPS waits for every helper to acknowledge each frame (pace ack)
  --input virtual|x11|none   where a helper's input goes (default: the virtual desktop for --screen virtual, none otherwise)
  --no-clipboard       share no clipboard (by default a controlling helper's copied text reaches this machine's
                       clipboard, and what is copied here reaches helpers that hold control; X11 and virtual)
  --no-border          draw no border on the shared screen (by default, while a helper is connected, a border
                       around the screen says "viewing" in amber or "controlling" in red, for the person in front of it)
  --port N|none        TCP port (default 3389; 0 picks a free one; none: open no port, reachable only through --relay)
  --relay URL          also wait for helpers at a relay (ws:// or wss://, see tessera relay): the host connects out,
                       proves its host key and re-registers when the relay drops; the invitation names the relay
  --bind ADDR          address to listen on (default 127.0.0.1; anything else is reachable from other machines);
                       on 0.0.0.0 the invitation lists this machine's IPv4 addresses, on :: its IPv4 and IPv6
                       addresses (never loopback, link-local or the bare host name; at most 8)
  --advertise NAME     a name or address helpers reach this host at (NAME, NAME:PORT or [IPv6]:PORT; the listening
                       port by default), listed first in the invitation, before the interface addresses (repeatable)
  --mode view|control  mode the invitation offers (default control; policy may lower it)
  --expires 30m|2h|1d  invitation lifetime (default 1h; policy caps it)
  --uses N             how many different helpers the invitation admits (default 1; policy caps it);
                       each may reconnect with it until it expires, nobody else
  --password           protect the invitation with a password, asked on the terminal
  --password-file F    the password is the first line of F (for scripts; or set TESSERA_PASSWORD)
                       a password is never taken on the command line (--password VALUE is refused)
  --invite FILE        where to write the invitation (.tessera; mode 0600, atomically, never through a symbolic link)
  --name NAME          display name shown to the helper
  --policy FILE        group-policy settings (JSON: solicited, offer)
  --helpers FILE       helpers directory for offers (JSON: users, groups)
  --state DIR          state folder: host key, tickets, audit log (default: none, all in memory)
  --record-sessions DIR   record every session for audit into DIR (mode 0700; one sealed file per session,
                       mode 0600; see tessera play); the host user and the helper are told. The policy file's
                       recording {mode: off|optional|required, retentionDays} governs it: required refuses a session
                       that cannot be recorded, off forbids recording
  --record-to KEY      encrypt recordings to an auditor's X25519 public key (base64url, or a file from
                       tessera keygen --auditor): this host cannot read them afterwards
  --accept ask|auto    ask the user for each helper, control request and file (default), or accept all
  --downloads DIR      where files from helpers are saved (default: a tessera folder in your Downloads);
                       type "/send PATH" (after c on a terminal) to send a file to the helpers
  --quality lossless|balanced|low-bandwidth   codec quality (default lossless)
  --fps N              most captures per second (default 30)
  --exit-after-replay  with --screen replay: close once every frame was delivered
  --web PORT           also serve the browser viewer on PORT (0 picks one); prints the link a helper opens
  --web-host NAME      with --bind on a non-loopback address: a host name helpers use for the viewer (repeatable;
                       --advertise names count too); requests naming any other host (DNS rebinding) are refused;
                       IP addresses always work
  --tls-cert FILE      with --web: serve the viewer over https:// with this certificate (PEM) and
  --tls-key FILE       its key; over plain http on a non-loopback address the page can be changed on the way
  --email ADDRESS      email the invitation to ADDRESS through --smtp URL (smtp://[user:pass@]host:port); with
                       --relay the message leads with a browser link on the relay (nothing to install); refused
                       when the invitation names only loopback addresses and no relay, unless --force
  --force              with --email: send even an invitation no other machine can use
  --from ADDRESS       sender address for --email (default tessera@this host)
  --method mailto|attachment   link in the body, or the .tessera file attached (default: the policy's emailMethod)
  --mailto-uri         print a mailto: link that opens your own mail program with the invitation filled in
  --json               one JSON object per line: listening, warning, relay-registered, relay-lost, helper-joined,
                       control-changed, pause, chat, chat-sent, wrong-password, locked, stats, closed`,
  options: {
    screen: { type: 'string' },
    input: { type: 'string' },
    port: { type: 'string' },
    bind: { type: 'string' },
    mode: { type: 'string' },
    expires: { type: 'string' },
    uses: { type: 'string' },
    password: { type: 'boolean' },
    'password-file': { type: 'string' },
    invite: { type: 'string' },
    name: { type: 'string' },
    policy: { type: 'string' },
    helpers: { type: 'string' },
    state: { type: 'string' },
    accept: { type: 'string' },
    quality: { type: 'string' },
    fps: { type: 'string' },
    'exit-after-replay': { type: 'boolean' },
    web: { type: 'string' },
    'web-host': { type: 'string', multiple: true },
    email: { type: 'string' },
    smtp: { type: 'string' },
    from: { type: 'string' },
    method: { type: 'string' },
    'mailto-uri': { type: 'boolean' },
    relay: { type: 'string' },
    advertise: { type: 'string', multiple: true },
    force: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'no-border': { type: 'boolean' },
    'no-clipboard': { type: 'boolean' },
    'record-sessions': { type: 'string' },
    'record-to': { type: 'string' },
    downloads: { type: 'string' },
  },
  async run(values, _positionals, out) {
    const mode = (values.mode ?? 'control') as Mode;
    if (mode !== 'view' && mode !== 'control') throw new UsageError('--mode must be view or control');
    const accept = values.accept ?? 'ask';
    if (accept !== 'ask' && accept !== 'auto') throw new UsageError('--accept must be ask or auto');
    const quality = (values.quality ?? 'lossless') as QualityMode;
    if (!['lossless', 'balanced', 'low-bandwidth'].includes(quality)) throw new UsageError('--quality must be lossless, balanced or low-bandwidth');
    const port = values.port === 'none' ? undefined : (numberOption(values.port, 'port', { min: 0, max: 65535 }) ?? 3389);
    const relayUrl = typeof values.relay === 'string' ? values.relay : undefined;
    if (port === undefined && relayUrl === undefined) throw new UsageError('--port none needs --relay URL: otherwise no helper could reach this host');
    if (relayUrl !== undefined && !/^wss?:\/\/[^\s#]+$/.test(relayUrl)) throw new UsageError('--relay must be a ws:// or wss:// URL');
    const uses = numberOption(values.uses, 'uses', { min: 1, max: 100 });
    const fps = numberOption(values.fps, 'fps', { min: 1, max: 240 });
    const bind = typeof values.bind === 'string' ? values.bind : '127.0.0.1';
    const password = await passwordFrom(values, 'invitation password: ');
    const webPort = numberOption(values.web, 'web', { min: 0, max: 65535 });
    if ((values['tls-cert'] ?? values['tls-key']) !== undefined && webPort === undefined) throw new UsageError('--tls-cert and --tls-key go with --web PORT');
    const tls = tlsFrom(values);
    const advertise = (values.advertise as string[] | undefined) ?? [];
    if (advertise.length > 0 && port === undefined) throw new UsageError('--advertise names where helpers reach the listening port: it needs a --port');
    if (values.force && values.email === undefined) throw new UsageError('--force goes with --email');
    if (values.email !== undefined && typeof values.smtp !== 'string') throw new UsageError('--email needs --smtp URL (smtp://host:port)');
    if (values.method !== undefined && values.method !== 'mailto' && values.method !== 'attachment') throw new UsageError('--method must be mailto or attachment');
    const policy = typeof values.policy === 'string' ? loadPolicy(values.policy) : undefined;
    const recording = recordingFrom(values, policy, out);
    const { source, sink, replay, presence: presenceOn } = await openScreen(String(values.screen ?? 'virtual'), values.input as string | undefined);
    let presence: PresenceIndicator | undefined;
    if (!values['no-border'] && typeof presenceOn === 'string') {
      try {
        presence = await X11Border.open({ display: presenceOn });
      } catch (err) {
        out.warn(`no border on the shared screen: ${printable((err as Error).message)}`);
      }
    } else if (!values['no-border'] && typeof presenceOn === 'object') presence = presenceOn;
    if (values['exit-after-replay'] && !replay) throw new UsageError('--exit-after-replay needs --screen replay:DIR');

    const controller = new AbortController();
    const stopSignals = onInterrupt(controller);
    let terminal: HostTerminal | undefined;
    let web: WebServer | undefined;
    const consent = async (request: HostConsentRequest, signal: AbortSignal): Promise<ConsentReply> => {
      const who = request.kind === 'offer' ? `helper '${printable(request.helper ?? '', NAME_CHARS)}' (offering help)` : `the helper invited${request.ticketId ? ` by invitation ${request.ticketId.slice(0, 8)}` : ''}`;
      const what = request.reason === 'control' ? 'asks to take CONTROL of your keyboard and mouse' : `wants to ${request.requestedMode === 'control' && request.maxMode === 'control' ? 'see and CONTROL' : 'see'} your screen`;
      out.event('consent-request', {
        reason: request.reason,
        kind: request.kind,
        helper: request.helper ?? null,
        ticketId: request.ticketId ?? null,
        peer: request.peer,
        requestedMode: request.requestedMode,
        maxMode: request.maxMode,
        recorded: request.recorded,
        ...(request.holderFingerprint !== undefined
          ? {
              helperKey: request.holderFingerprint,
              returning: request.returning ?? false,
              previousUses: request.previousUses ?? 0,
              lastUsed: request.lastUsedMs !== undefined ? new Date(request.lastUsedMs).toISOString() : null,
              maxUses: request.maxUses ?? 1,
            }
          : {}),
      });
      if (accept === 'auto') return request.reason === 'control' ? 'control' : request.maxMode;
      if (!terminal) return 'decline';
      const use = request.reason === 'connect' ? invitationUseLines(request).map((l) => `${l}\n`).join('') : '';
      const rec = request.recorded ? 'This session will be RECORDED for audit (the helper is told).\n' : '';
      const yes = await terminal.ask(`\n${who} at ${printable(request.peer, NAME_CHARS)} ${what}.\n${use}${rec}${SCAM_WARNING}\nAllow? [y/n] `, 60_000, signal);
      if (!yes) return 'decline';
      return request.reason === 'control' ? 'control' : request.maxMode;
    };
    const downloads = typeof values.downloads === 'string' ? resolve(values.downloads) : defaultDownloadsDir();
    const files = new TransferReporter(out);
    const acceptFile = async (request: FileRequest, signal: AbortSignal): Promise<boolean> => {
      const peer = printable(request.session.peer, NAME_CHARS);
      out.event('file-offer', { session: request.session.id, peer: request.session.peer, name: request.name, savedName: request.savedName, size: request.size, sha256: request.sha256, resumeFrom: request.resumeFrom });
      if (!terminal) return false;
      const resume = request.resumeFrom > 0 ? ` (${formatBytes(request.resumeFrom)} are here from an earlier attempt)` : '';
      return terminal.ask(
        `\nthe helper at ${peer} sends a file: ${printable(request.name, NAME_CHARS)} (${formatBytes(request.size)}, sha256 ${request.sha256.slice(0, 16)}…)${resume}.\n` +
          `It would be saved as ${printable(request.savedName, NAME_CHARS)} in ${printable(downloads, 300)}. Only open files from someone you trust.\nSave it? [y/n] `,
        60_000,
        signal,
      );
    };
    const host = new Host({
      source,
      ...(sink ? { sink } : {}),
      ...(presence ? { presence } : {}),
      ...(values['no-clipboard'] ? { clipboard: false } : {}),
      consent,
      transfer: { downloads, accept: accept === 'auto' ? 'auto' : acceptFile },
      quality,
      ...(fps !== undefined ? { maxFps: fps } : {}),
      ...(typeof values.state === 'string' ? { stateDir: values.state } : {}),
      ...(policy ? { policy } : {}),
      ...(recording ? { recording } : {}),
      ...(typeof values.helpers === 'string' ? { helpers: loadHelpers(values.helpers) } : {}),
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(advertise.length > 0 ? { advertise } : {}),
    });
    host.on('error', (err: Error) => {
      out.event('error', { code: (err as { code?: string }).code ?? null, message: err.message });
      out.warn(printable(err.message));
    });
    // A handshake that failed on our side: if the state folder cannot be read, say so (once until it recovers),
    // since every helper is then turned away with a closed connection.
    let stateWarning: string | undefined;
    host.on('audit', (e: AuditEvent) => {
      if (e.decision !== 'error' || typeof values.state !== 'string') return;
      try {
        host.listInvitations();
        stateWarning = undefined;
      } catch (err) {
        const message = `a helper was turned away: ${(err as Error).message}`;
        if (message === stateWarning) return;
        stateWarning = message;
        out.event('error', { code: (err as { code?: string }).code ?? null, message });
        out.warn(`${printable(message)}; check the state folder ${printable(values.state)}`);
      }
    });
    // Wrong passwords and lock-outs are told as they happen (the audit log alone would keep them from the host user).
    host.on('wrong-password', (w: WrongProof) => {
      out.event('wrong-password', { peer: w.peer, id: w.ticketId, password: w.password, attempt: w.attempt, maxAttempts: w.maxAttempts, windowMs: w.windowMs });
      const what = w.password ? 'gave a wrong password for' : 'could not prove it holds';
      out.warn(`a helper from ${printable(w.peer, NAME_CHARS)} ${what} invitation ${shortId(w.ticketId)} (attempt ${w.attempt} of ${w.maxAttempts})`);
    });
    host.on('locked', (l: LockOut) => {
      out.event('locked', { scope: l.scope, id: l.ticketId, address: l.address, peer: l.peer, failures: l.failures, windowMs: l.windowMs, until: l.until.toISOString() });
      const within = `within ${formatDuration(l.windowMs)}`;
      if (l.scope === 'invitation') {
        out.warn(`invitation ${shortId(l.ticketId ?? '')} is locked after ${l.failures} wrong ${l.failures === 1 ? 'password' : 'passwords'} ${within}; helpers are refused until ${clockTime(l.until)} (if your helper did not mistype it, someone else has the invitation: allow no one you are not expecting)`);
      } else {
        out.warn(`helpers from ${printable(l.address ?? '', NAME_CHARS)} are refused until ${clockTime(l.until)} after ${l.failures} failed attempts ${within}`);
      }
    });
    let madeInvitation: (invitation: HostInvitation) => void = () => {};
    const invitationMade = new Promise<HostInvitation>((resolve) => (madeInvitation = resolve));
    try {
      const bound = port !== undefined ? await host.listen({ port, host: bind, signal: controller.signal }) : undefined;
      // The advertised names are names helpers use for this machine, so the viewer answers to them too.
      const advertisedNames = advertise.filter((a) => !a.startsWith('[') && isIP(a) === 0).map((a) => a.replace(/:\d*$/, '').toLowerCase());
      const webHosts = [...((values['web-host'] as string[] | undefined) ?? []), ...advertisedNames.filter((h) => isIP(h) === 0)];
      if (webPort !== undefined) web = await serveWeb(host, { port: webPort, host: bind, signal: controller.signal, hostNames: webHosts, ...(tls ? { tls } : {}) });
      if (relayUrl !== undefined) {
        host.on('relay-registered', async ({ relay }: { relay: string }) => {
          const offers = host.policy.offer.enabled;
          // The browser link on this relay for the invitation (made once the host listens; registering may come first).
          const viewer = relayViewerUrl(relay, (await invitationMade).toURL());
          out.event('relay-registered', { relay, viewer, hostKey: toBase64Url(host.hostKey.publicKey), offers });
          out.say(`registered at the relay ${printable(relay)}${offers ? ' (allow-listed helpers may offer help through it: tessera offer --relay URL --host-key KEY)' : ''}`);
        });
        host.on('relay-lost', (err: { code: string; message: string; refusal?: string }, retryInMs: number) => {
          out.event('relay-lost', { relay: relayUrl, code: err.code, refusal: err.refusal ?? null, message: err.message, retryInMs });
          out.warn(`${printable(describeError(err))}; retrying in ${Math.ceil(retryInMs / 1000)} s`);
        });
        host.useRelay(relayUrl, { signal: controller.signal });
      }
      if (bound && !isLoopback(bind)) {
        out.warn(`listening on ${bind}:${bound.port}: helpers on other machines can reach this host. Only share the invitation with someone you trust.`);
      }
      const warning = (code: string, message: string, fields: Record<string, unknown> = {}): void => {
        out.event('warning', { code, message, ...fields });
        out.warn(message);
      };
      // Where a helper reaches this host: the advertised names, then the listening address or, on a wildcard, this
      // machine's interface addresses (never the bare host name); nothing but the relay without a port.
      const addresses = bound ? host.invitationAddresses() : [];
      const loopbackOnly = relayUrl === undefined && isLoopbackOnly(addresses);
      // Refused before any invitation is issued; the warning itself comes once the invitation exists (below).
      if (loopbackOnly && typeof values.email === 'string' && !values.force) {
        throw new UsageError(`not emailing an invitation that names only this machine's loopback address (${addresses.join(', ')}): no helper elsewhere could use it; use --bind, --advertise or --relay, or --force to send it anyway`);
      }
      if (web && !web.secure && !isLoopback(web.host)) {
        warning(
          'web-plain-http',
          `the browser viewer is served over plain HTTP on ${web.host}:${web.port}: anyone on the network path can change the page on its way to the helper, ` +
            'and a changed page can skip the host-key check and show or send anything. Give a certificate (--tls-cert F --tls-key F) or use a relay with TLS.',
        );
      }
      const invitation = await host.createInvitation({
        ...(bound ? { addresses } : {}),
        mode,
        ...(typeof values.expires === 'string' ? { expires: values.expires } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(uses !== undefined ? { uses } : {}),
      });
      madeInvitation(invitation);
      const invitePath = typeof values.invite === 'string' ? (isAbsolute(values.invite) ? values.invite : resolve(values.invite)) : undefined;
      if (invitePath) invitation.toFile(invitePath);
      if (loopbackOnly) {
        warning(
          'loopback-only',
          `the invitation names only ${addresses.join(', ')}, this machine's own loopback address: a helper on another machine cannot use it. ` +
            'Listen on an address others reach (--bind 0.0.0.0), name one (--advertise NAME) or wait at a relay (--relay URL).',
          { addresses },
        );
      }
      if (invitation.capped) {
        // Say what the policy lowered, and to what: the lifetime asked for against the one given, the mode, the uses.
        const changes: string[] = [];
        const askedMs = durationMs(parseExpires(typeof values.expires === 'string' ? values.expires : '1h'));
        const givenMs = invitation.expiresAt.getTime() - Date.now();
        if (givenMs < askedMs - 60_000) changes.push(`lifetime ${formatDuration(askedMs)} -> ${formatDuration(givenMs)} (expires ${invitation.expiresAt.toLocaleString()})`);
        if (invitation.mode !== mode) changes.push(`mode ${mode} -> ${invitation.mode}`);
        if (uses !== undefined && invitation.uses < uses) changes.push(`helpers ${uses} -> ${invitation.uses}`);
        out.event('policy-lowered', { expires: invitation.expiresAt.toISOString(), mode: invitation.mode, uses: invitation.uses });
        out.warn(`policy lowered the invitation: ${changes.length > 0 ? changes.join(', ') : 'its lifetime, mode or uses'}`);
      }
      const listed = invitation.invitation.addresses.map(formatAddress);
      // The viewer's link names an address the helper reaches (or an advertised name it answers to), not 127.0.0.1.
      const webAt =
        web && (web.host === '0.0.0.0' || web.host === '::')
          ? listed.map((a) => parseAddress(a).host).find((h) => !isLoopback(h) && (isIP(h) !== 0 || webHosts.includes(h)) && (web!.host === '::' || isIP(h) !== 6))
          : undefined;
      const webViewer = web ? web.url(invitation, webAt) : undefined;
      const relayViewer = relayUrl !== undefined ? relayViewerUrl(relayUrl, invitation.toURL()) : undefined;
      // The browser link a message carries: the relay's viewer, else this host's own when others can reach it.
      const mailViewer = relayViewer ?? (web && webViewer && !isLoopback(new URL(webViewer).hostname) ? webViewer : undefined);
      out.event('listening', {
        port: bound?.port ?? null,
        host: bound?.host ?? null,
        relay: relayUrl ?? null,
        invitation: invitePath ?? null,
        url: invitation.toURL(),
        id: invitation.id,
        mode: invitation.mode,
        uses: invitation.uses,
        expires: invitation.expiresAt.toISOString(),
        hostKey: toBase64Url(host.hostKey.publicKey),
        addresses: listed,
        ...(webViewer !== undefined ? { viewer: webViewer } : {}),
        ...(relayViewer !== undefined ? { relayViewer } : {}),
      });
      if (bound) out.say(`tessera host listening on ${bound.host}:${bound.port}, sharing ${source.width}x${source.height}`);
      else out.say(`tessera host listening on no port (only through the relay), sharing ${source.width}x${source.height}`);
      if (relayUrl !== undefined) out.say(`waiting at the relay ${printable(relayUrl)} too`);
      if (listed.length > 0) out.say(`the invitation lists ${listed.join(', ')}`);
      out.say(`invitation (${invitation.mode}, expires ${invitation.expiresAt.toLocaleString()}, ${invitation.uses === 1 ? 'for one helper' : `for up to ${invitation.uses} helpers`}):`);
      out.say(`  ${invitation.toURL()}`);
      if (invitePath) out.say(`  written to ${invitePath}`);
      if (password !== undefined) out.say('  the helper also needs the password: tell it to them another way, never in the same message');
      out.say(`host key (for offers): ${toBase64Url(host.hostKey.publicKey)}`);
      if (webViewer !== undefined) out.say(`browser viewer: ${webViewer}`);
      if (relayViewer !== undefined) out.say(`browser link for a helper with nothing installed (served by the relay): ${relayViewer}`);
      if (values['mailto-uri']) {
        const uri = invitation.mailtoUri({ ...(typeof values.email === 'string' ? { to: values.email } : {}), ...(mailViewer !== undefined ? { viewerUrl: mailViewer } : {}) });
        out.event('mailto', { uri });
        out.say(`mailto link (opens your mail program): ${uri}`);
      }
      if (typeof values.email === 'string') {
        try {
          const sent = await invitation.send({
            to: values.email,
            smtp: String(values.smtp),
            policy: host.policy,
            ...(mailViewer !== undefined ? { viewerUrl: mailViewer } : {}),
            ...(typeof values.from === 'string' ? { from: values.from } : {}),
            ...(values.method === 'mailto' || values.method === 'attachment' ? { method: values.method } : {}),
          });
          out.event('emailed', { to: values.email, method: sent.method, messageId: sent.messageId ?? null });
          out.say(`invitation emailed to ${printable(values.email)} (${sent.method === 'mailto' ? 'link in the message' : '.tessera file attached'}); the password, if any, was not included`);
        } catch (err) {
          if (!(err instanceof EmailError)) throw err;
          out.event('email-failed', { to: values.email, code: err.code, message: err.message });
          out.warn(`${printable(err.message)}; the invitation is still valid: send the file or link another way`);
        }
      }
      out.say(`waiting for a helper${accept === 'ask' ? '; you will be asked before anyone connects' : ' (accepting automatically)'}... Ctrl-C to stop`);

      const sessions = new Set<HostSessionHandle>();
      terminal = new HostTerminal({
        onRevoke: () => {
          for (const s of sessions) if (s.mode === 'control') s.revokeControl();
          out.say('control revoked');
        },
        onPause: () => {
          if (sessions.size === 0) return out.say('no helper is connected: nothing to pause');
          // One key for all: pause every helper unless every one is paused already, then resume them all.
          const pausing = [...sessions].some((s) => !s.paused);
          for (const s of sessions) s.pause(pausing);
          out.event('pause', { paused: pausing, sessions: [...sessions].map((s) => s.id) });
          const again = process.stdin.isTTY ? 'press p again' : 'type pause again';
          out.say(pausing ? `input paused: the helper's input is ignored until you ${again}` : 'input resumed: a helper in control can use your keyboard and mouse again');
        },
        onEnd: () => {
          for (const s of sessions) s.close();
          out.say('sessions ended');
        },
        onInterrupt: () => controller.abort(),
        onChat: (text) => {
          // To every helper connected: the host user speaks to all of them at once.
          const to = [...sessions].map((s) => s.id);
          if (to.length === 0) return out.say('no helper is connected: the message was not sent');
          host.chat(text);
          out.event('chat-sent', { sessions: to, text });
          out.say(`you${to.length > 1 ? ` (to all ${to.length} helpers)` : ''}: ${printable(text)}`);
        },
        onSend: (path) => {
          const to = [...sessions].filter((s) => s.canTransfer);
          if (to.length === 0) return out.say('no helper that takes files is connected: nothing was sent');
          for (const s of to) {
            s.sendFile(resolve(path)).catch((err: Error) => {
              out.event('transfer-error', { session: s.id, code: (err as { code?: string }).code ?? null, message: err.message });
              out.warn(`could not send ${printable(path, 300)}: ${printable(describeError(err))}`);
            });
          }
          out.say(`offering ${printable(path, 300)} to ${to.length === 1 ? 'the helper' : `${to.length} helpers`}`);
        },
      }, { maxChatBytes: DEFAULT_MAX_CHAT_BYTES, onTyping: (line) => out.setLiveLine(line) });
      // Always: with --accept auto too the host user may chat, pause and end from the terminal.
      terminal.start();
      let servedAny = false;
      host.on('session', (s: HostSessionHandle) => {
        servedAny = true;
        sessions.add(s);
        out.event('helper-joined', { session: s.id, peer: s.peer, kind: s.kind, helper: s.helper ?? null, mode: s.mode, path: s.path });
        out.say(`helper joined from ${printable(s.peer, NAME_CHARS)}${s.path === 'relay' ? ' through the relay' : ''} (${s.mode}${s.helper ? `, ${printable(s.helper, NAME_CHARS)}` : ''}); ${process.stdin.isTTY ? 'Esc revokes control, p pauses, c writes to the helper, x ends' : 'type revoke, pause or end, or a line to write to the helper'}`);
        s.on('mode', ({ mode: m, paused }: { mode: Mode; paused: boolean }) => {
          out.event('control-changed', { session: s.id, mode: m, paused });
          out.say(`helper ${printable(s.peer, NAME_CHARS)} now ${paused ? 'paused' : m === 'control' ? 'in control' : 'viewing'}`);
        });
        s.on('transfer-progress', (p: TransferProgress) => files.progress(p, s.peer));
        s.on('transfer', (r: TransferResult) => files.result(r, s.peer));
        s.on('chat', (text: string) => {
          out.event('chat', { session: s.id, text });
          out.say(`helper ${printable(s.peer, NAME_CHARS)}: ${printable(text)}`);
        });
        s.on('close', (info: { reason: string; message?: string; error?: { code: string } | undefined }) => {
          sessions.delete(s);
          const st = s.stats;
          const lostRelay = info.error?.code === ErrorCode.RelayLost;
          out.event('closed', { session: s.id, reason: info.reason, code: info.error?.code ?? null, message: info.message ?? null, frames: st.updatesSent, bytesReceived: st.bytesReceived, bytesSent: st.bytesSent });
          out.say(`helper ${printable(s.peer, NAME_CHARS)} left (${lostRelay ? 'the relay connection was lost' : printable(info.reason)}${info.message ? `: ${printable(info.message, CLOSE_MESSAGE_CHARS)}` : ''}); ${st.updatesSent} updates, ${formatBytes(st.bytesSent)} sent`);
        });
      });
      const statsTimer = setInterval(() => {
        for (const s of sessions) {
          const st = s.stats;
          out.event('stats', { session: s.id, frames: st.updatesSent, bytesSent: st.bytesSent, bytesReceived: st.bytesReceived, rttMs: st.rttMs ?? null, inFlight: st.inFlight, inputAdmitted: st.input.admitted });
        }
        const first = [...sessions][0];
        if (first) out.status(`${sessions.size} helper(s)  updates ${first.stats.updatesSent}  sent ${formatBytes(first.stats.bytesSent)}  rtt ${first.stats.rttMs ?? '-'} ms`);
      }, 1000);
      statsTimer.unref();

      if (values['exit-after-replay'] && replay) {
        // Close once the last frame was delivered to every helper.
        await new Promise<void>((resolveDone) => {
          const check = () => {
            if (controller.signal.aborted) return resolveDone();
            if (replay.done && servedAny && host.sessions.every((s) => s.stats.inFlight === 0)) return resolveDone();
            setTimeout(check, 20);
          };
          check();
        });
      } else {
        await sleep(2 ** 31 - 1, controller.signal);
      }
      clearInterval(statsTimer);
      out.endStatus();
      return 0;
    } finally {
      terminal?.stop();
      stopSignals();
      await web?.close();
      await host.close();
      await source.close?.();
      await (sink as { close?(): unknown } | undefined)?.close?.();
      out.say('host closed');
    }
  },
};

/** Opens the screen source and input sink the options name. */
async function openScreen(
  spec: string,
  input: string | undefined,
): Promise<{ source: ScreenSource & { close?(): unknown }; sink: InputSink | undefined; replay: ReplayScreen | undefined; presence: PresenceIndicator | string | undefined }> {
  if (spec === 'virtual') {
    const screen = new VirtualScreen();
    if (input !== undefined && input !== 'virtual' && input !== 'none') throw new UsageError(`--input ${input} does not go with --screen virtual`);
    return { source: screen, sink: input === 'none' ? undefined : screen, replay: undefined, presence: screen };
  }
  if (spec.startsWith('replay:')) {
    const m = /^replay:(.+?)(?:@(\d+(?:\.\d+)?))?$/.exec(spec);
    if (!m) throw new UsageError('--screen replay:DIR[@FPS]');
    if (input !== undefined && input !== 'none') throw new UsageError('a replayed screen takes no input (--input none)');
    const fps = m[2] ? Number(m[2]) : undefined;
    const replay = await ReplayScreen.open({ dir: m[1]!, ...(fps ? { pace: 'fixed' as const, fps } : { pace: 'ack' as const }) });
    return { source: replay, sink: undefined, replay, presence: undefined };
  }
  if (spec.startsWith('x11:')) {
    const display = spec.slice(4);
    if (!display) throw new UsageError('--screen x11:DISPLAY, e.g. x11::0');
    const source = await X11Screen.open({ display });
    let sink: InputSink | undefined;
    if (input === 'x11') sink = await X11Input.open({ display });
    else if (input !== undefined && input !== 'none') throw new UsageError(`--input ${input} does not go with --screen x11 (use x11 or none)`);
    return { source, sink, replay: undefined, presence: display };
  }
  throw new UsageError(`unknown --screen ${spec}: use virtual, replay:DIR[@FPS] or x11:DISPLAY`);
}

/** The first 8 characters of an invitation id, as the consent prompt shows it. */
function shortId(id: string): string {
  return printable(id.slice(0, 8));
}

/** A local wall-clock time for people, HH:MM, rounded up to the minute (a lock-out is not over before it). */
export function clockTime(at: Date): string {
  const d = new Date(Math.ceil(at.getTime() / 60_000) * 60_000);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A lifetime for people: "45 min", "2 h", "1 d 6 h" (rounded to minutes). */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 24) return rest ? `${hours} h ${rest} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/**
 * The recording settings from --record-sessions, --record-to and the policy's `recording` (spec/recording.md):
 * policy `required` without a folder, or `off` with one, is a usage error rather than a silent choice.
 */
function recordingFrom(values: Record<string, unknown>, policy: Policy | undefined, out: Output): HostRecordingOptions | undefined {
  const dir = typeof values['record-sessions'] === 'string' ? values['record-sessions'] : undefined;
  const mode = policy?.recording?.mode;
  if (values['record-to'] !== undefined && dir === undefined) throw new UsageError('--record-to goes with --record-sessions DIR');
  if (dir === undefined) {
    if (mode === 'required') throw new UsageError('the policy requires session recording: pass --record-sessions DIR');
    return undefined;
  }
  if (mode === 'off') throw new UsageError('the policy turns session recording off: --record-sessions is refused');
  const auditorPublicKey = typeof values['record-to'] === 'string' ? loadAuditorKey(values['record-to'], 'public') : undefined;
  out.event('recording', { dir, policy: mode ?? 'optional', encrypted: auditorPublicKey !== undefined });
  out.say(`recording every session into ${printable(dir)}${auditorPublicKey ? ' (encrypted to the auditor key)' : ''}; helpers are told`);
  return {
    dir,
    policy: mode === 'required' ? 'required' : 'optional',
    ...(auditorPublicKey ? { auditorPublicKey } : {}),
    ...(policy?.recording?.retentionDays !== undefined ? { retentionDays: policy.recording.retentionDays } : {}),
  };
}
