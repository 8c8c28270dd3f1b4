/**
 * The shape the four opg commands share (`opg-node`, `opg-bridge`, `opg-wallet`, `opg-provision`): one CLI
 * library (commander), one set of exit codes, one error line. Each command builds its commander program with
 * `createProgram`, adds one subcommand per handler file, and runs it with `runProgram`, which turns whatever the
 * handlers throw into an exit code and a single stderr line carrying a stable code.
 *
 * Only the commands import this (`@opg/protocol/cli`); nothing on the wire path does.
 */
import { Command, CommanderError, Option } from 'commander'

/**
 * Exit codes of every opg command. 78 is sysexits' EX_CONFIG, kept because systemd units and technicians
 * already read it as "this box's files do not fit together".
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, config: 78 } as const

/** Where a command writes. Lines are given without their newline. */
export interface CliOutput {
  out(line: string): void
  err(line: string): void
  /** A terminal to draw progress on (stderr when it is a TTY); absent in pipes, logs and tests. */
  progressStream?: NodeJS.WriteStream | undefined
  /** stdout is a terminal: lists print as tables by default, otherwise as JSON. */
  stdoutIsTTY?: boolean | undefined
}

/** A usage mistake the parser could not catch (e.g. two options that exclude each other): exit 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError'
  readonly code = 'usage'
}

/**
 * A failure with a stable code and, where the user can act on it, a hint. Commands map their own typed errors
 * to this shape through `describe` in `runProgram`.
 */
export interface CliFailure {
  code: string
  message: string
  hint?: string | undefined
  exit?: number | undefined
}

/** Options of createProgram. */
export interface ProgramOptions {
  name: string
  description: string
  version: string
  /** Shown at the end of `--help`: examples, environment, exit codes. */
  epilog?: string
}

/** The exit-code paragraph every command prints at the end of its top-level help. */
export const EXIT_HELP = `Exit codes: 0 ok, 1 refused or failed (the error line says why, with its code), 2 usage error,
78 configuration or keys missing or inconsistent.`

/** A commander program configured the opg way: output through `io`, errors as one line, no process.exit. */
export function createProgram(o: ProgramOptions, io: CliOutput): Command {
  const program = new Command(o.name)
  program
    .description(o.description)
    .version(o.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for this command')
    .helpCommand('help [command]', 'show help for a command')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
  if (o.epilog) program.addHelpText('after', `\n${o.epilog}`)
  configure(program, io, o.name)
  return program
}

/** Apply the opg output rules to a program or subcommand (commander copies them to later subcommands). */
function configure(cmd: Command, io: CliOutput, name: string): void {
  cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      // One line: "opg-x: error usage: unknown option '--frob' (see --help)".
      outputError: (s, write) =>
        write(`${name}: error usage: ${oneLine(s.replace(/^error: /, '').trim())} (see --help)\n`),
    })
    .showHelpAfterError(false)
}

/** Add a subcommand with a description and examples; the caller adds options and the action. */
export function subcommand(
  parent: Command,
  spec: string,
  description: string,
  examples: string[] = [],
): Command {
  const cmd = parent.command(spec).description(description)
  if (examples.length > 0) {
    cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`)
  }
  return cmd
}

/** A `--json` flag, the same wording everywhere. */
export function jsonOption(): Option {
  return new Option('--json', 'print JSON (amounts as integers in minor units, fields named …Minor)')
}

/**
 * Run the program; resolves with the exit code. The handler that ran sets it through `setExit` (default 0);
 * anything thrown becomes one stderr line `NAME: error CODE: message (hint)` and exit 1 (or the failure's own
 * exit), and with `json` a `{"error":{…}}` object instead.
 */
export async function runProgram(
  program: Command,
  argv: string[],
  io: CliOutput,
  describe: (err: unknown) => CliFailure | undefined = () => undefined,
): Promise<number> {
  let exit: number = EXIT.ok
  try {
    const ran = (await program.parseAsync(argv, { from: 'user' })) as Command & { _opgExit?: number }
    exit = ran._opgExit ?? exit
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok
      if (err.code === 'commander.help' && err.exitCode === 0) return EXIT.ok
      if (err.code === 'commander.help') return EXIT.usage // a group called without its subcommand
      return EXIT.usage
    }
    const json = wantsJson(program, argv)
    const f: CliFailure =
      err instanceof CliUsageError
        ? { code: 'usage', message: err.message, exit: EXIT.usage }
        : (describe(err) ?? fallback(err))
    if (json) {
      io.err(
        JSON.stringify({ error: { code: f.code, message: f.message, ...(f.hint ? { hint: f.hint } : {}) } }),
      )
    } else {
      io.err(`${program.name()}: ${errorLine(f)}`)
    }
    return f.exit ?? EXIT.refused
  }
  return exit
}

/** `error CODE: message (hint)`, on one line. */
export function errorLine(f: CliFailure): string {
  return oneLine(`error ${f.code}: ${f.message}${f.hint ? ` (${f.hint})` : ''}`)
}

/**
 * Wrap a handler: its resolved number becomes the exit code. Commander passes positional arguments, then the
 * options object, then the command; handlers get the options merged with the program's global options.
 */
export function action<F extends (...args: never[]) => Promise<number | undefined> | number | undefined>(
  handler: F,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command & { _opgExit?: number }
    const positionals = args.slice(0, -2)
    const run = handler as unknown as (...a: unknown[]) => Promise<number | undefined> | number | undefined
    const code = await run(...positionals, cmd.optsWithGlobals())
    let root: Command & { _opgExit?: number } = cmd
    while (root.parent) root = root.parent
    root._opgExit = code ?? EXIT.ok
  }
}

function wantsJson(program: Command, argv: string[]): boolean {
  return argv.includes('--json') || program.opts().json === true
}

function fallback(err: unknown): CliFailure {
  const code = (err as { code?: unknown })?.code
  const message = err instanceof Error ? err.message : String(err)
  return { code: typeof code === 'string' ? code : 'failed', message }
}

function oneLine(s: string): string {
  return s
    .replace(/:\s*\n\s*/g, ': ')
    .replace(/\s*\n\s*/g, '; ')
    .trim()
}
