/**
 * The tessera command: demo, host, connect, offer, keygen, invitations, inspect, play, bench, relay, conformance.
 * Every command goes through the library's public API (src/index.ts).
 */
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { ExitCode, UsageError, describeError, errorDetail, exitCodeOf, formatDetail } from './errors.js';
import { Output } from './output.js';
import { runDemo } from './commands/demo.js';
import { runHost } from './commands/host.js';
import { runConnect, runOffer } from './commands/connect.js';
import { runKeygen } from './commands/keygen.js';
import { runInvitations } from './commands/invitations.js';
import { runInspect } from './commands/inspect.js';
import { runPlay } from './commands/play.js';
import { runBench } from './commands/bench.js';
import { runRelay } from './commands/relay.js';
import { runConformance } from './commands/conformance.js';
import { PASSWORD_WAYS } from './commands/common.js';
import { printable, printableLines } from './printable.js';
import { closest } from './suggest.js';

const USAGE = `usage: tessera <command> [options]

commands:
  demo          a host on the built-in virtual desktop and a helper that types and drags (npm start)
  host          share this screen: prints an invitation and waits for a helper
  connect       join a host with an invitation (file, tessera:// URL or saved email)
  offer         offer help to a host that allows offers (needs an identity key)
  keygen        make an identity key for offers (--auditor: a key pair for reading session recordings)
  invitations   list or revoke a host's invitations
  inspect       show what an invitation holds (never the secret)
  play          verify a session recording (hash chain, seal) and play it: timeline, PNG frames
  bench         measure the codec on a folder of screen recordings
  relay         run a relay, so that hosts behind NAT can be reached without opening a port
  conformance   probe another implementation's host or helper against the spec, one line per probe and requirement

common options: --json (one JSON object per line), --debug (stack traces), --help
run 'tessera <command> --help' for a command's options`;

const COMMANDS: Record<string, Command> = {
  demo: runDemo,
  host: runHost,
  connect: runConnect,
  offer: runOffer,
  keygen: runKeygen,
  invitations: runInvitations,
  inspect: runInspect,
  play: runPlay,
  bench: runBench,
  relay: runRelay,
  conformance: runConformance,
};

const COMMON = {
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function main(argv: string[]): Promise<number> {
  // A reader that goes away (tessera ... | head) ends the command quietly, as other command-line tools do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
    });
  }
  const [name, ...rest] = argv;
  const debug = rest.includes('--debug');
  const json = rest.includes('--json');
  const out = new Output({ json, debug });
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(USAGE + '\n');
      return name ? ExitCode.Ok : ExitCode.Usage;
    }
    if (name === '--version') {
      process.stdout.write('tessera 0.1.0\n');
      return ExitCode.Ok;
    }
    const command = COMMANDS[name];
    if (!command) {
      const guess = closest(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command ${printable(name, 40)}${guess ? `; did you mean '${guess}'?` : ''} (run 'tessera --help')`);
    }
    const takesPassword = 'password' in command.options;
    if (takesPassword && rest.some((a) => a.startsWith('--password='))) throw passwordOnCommandLine();
    let parsed;
    try {
      const options = { ...COMMON, ...command.options };
      parsed = parseArgs({ args: dashValuesJoined(rest, options), options, allowPositionals: true, strict: true, tokens: true });
    } catch (err) {
      throw optionError(err, name, Object.keys({ ...COMMON, ...command.options }));
    }
    if (parsed.values.help) {
      process.stdout.write(command.usage + '\n');
      return ExitCode.Ok;
    }
    const { min, max } = command.positionals ?? { min: 0, max: 0 };
    // A bare --password asks on the terminal; a word right after it that the command has no room for is a password
    // typed on the command line, where other users can read it (ps, shell history): refuse it without echoing it.
    if (takesPassword && parsed.positionals.length > max) {
      const tokens = parsed.tokens ?? [];
      if (tokens.some((tok, i) => tok.kind === 'option' && (tok.name as string) === 'password' && tokens[i + 1]?.kind === 'positional')) throw passwordOnCommandLine();
    }
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(`wrong number of arguments\n${command.usage}`);
    }
    return await command.run(parsed.values as Record<string, string | boolean | string[] | undefined>, parsed.positionals, out);
  } catch (err) {
    out.endStatus();
    const code = exitCodeOf(err);
    const refusal = (err as { refusal?: string }).refusal;
    const detail = errorDetail(err);
    out.event(refusal ? 'refused' : 'error', {
      ...(refusal ? { code: refusal, authenticated: (err as { authenticated?: boolean }).authenticated === true } : { code: (err as { code?: string }).code ?? null }),
      message: describeError(err),
      ...(detail ? { detail } : {}),
      exitCode: code,
    });
    // Error messages can quote what a peer or a received file said: one escaped line, but our usage text keeps its lines.
    process.stderr.write(`tessera: ${err instanceof UsageError ? printableLines(describeError(err)) : printable(describeError(err))}\n`);
    // The sentence is for people; --debug adds what was behind it (message, code, field, causes), then the stack.
    if (debug && detail) process.stderr.write(`${printable(formatDetail(detail))}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return code;
  }
}

/**
 * The option parser's complaint as one plain sentence, with the closest option for a mistyped one (node's own
 * wording names its internals and quotes unevenly).
 */
function optionError(err: unknown, command: string, known: readonly string[]): UsageError {
  const message = (err as Error).message ?? '';
  const code = (err as { code?: string }).code;
  const help = `run 'tessera ${command} --help'`;
  const named = /'(-{1,2}[^' <]+)/.exec(message)?.[1];
  const shown = named ? printable(named, 40) : 'an option';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const guess = named?.startsWith('--') ? closest(named.slice(2), known) : undefined;
    return new UsageError(`unknown option ${shown}${guess ? `; did you mean --${guess}?` : ''} (${help})`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(message)) return new UsageError(`option ${shown} needs a value (${help})`);
    if (/does not take an argument/.test(message)) return new UsageError(`option ${shown} takes no value (${help})`);
  }
  return new UsageError(`the options could not be read (${help})`);
}

/**
 * `--name VALUE` where VALUE starts with a dash but is no option (a base64url host key can start with '-', so can a
 * negative number) becomes `--name=VALUE`, which the option parser would otherwise refuse as ambiguous.
 */
export function dashValuesJoined(args: readonly string[], options: Readonly<Record<string, { readonly type: string; readonly short?: string }>>): string[] {
  const isOption = (a: string): boolean => {
    if (a === '--') return true;
    if (a.startsWith('--')) return Object.hasOwn(options, a.slice(2).split('=')[0]!);
    return Object.values(options).some((o) => o.short !== undefined && a === `-${o.short}`);
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && next.length > 1 && next.startsWith('-') && !isOption(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** The refusal of `--password VALUE`; it never repeats the value. */
function passwordOnCommandLine(): UsageError {
  return new UsageError(`a password is never taken on the command line, where other users can read it: use ${PASSWORD_WAYS}`);
}

const isEntry = process.argv[1] !== undefined && /[\\/]cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isEntry || process.env.TESSERA_CLI_ENTRY === '1' || (globalThis as { __tesseraBin?: boolean }).__tesseraBin) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Let pending writes flush, then leave even if a socket lingers.
  setTimeout(() => process.exit(code), 200).unref();
}
