import { Command, CommanderError, Option } from 'commander'
import type { Readable, Writable } from 'node:stream'
import { RpcConnectionError, RpcRemoteError } from '../../cborrpc/client.js'
import { CoordinateError, NoSuchWorkSpecError } from '../../coordinate/errors.js'
import { UnreachableError } from '../client/connect.js'
import { UnexpectedAnswerError } from '../client/rpc-operations.js'
import { BadFileError, type ConnectionFlags } from '../client/settings.js'
import { BadLineError } from '../load/unit-file.js'
import { UsageError } from '../usage-error.js'
import { Output, wantsColor } from '../output/output.js'
import { completionCommand } from './completion-command.js'
import { Context, positiveNumber } from './context.js'
import { loadCommands } from './load-commands.js'
import { metricsCommand } from './metrics-command.js'
import { workSpecCommands } from './work-spec-commands.js'
import { workUnitCommands } from './work-unit-commands.js'
import { workerCommands } from './worker-commands.js'

/** Exit codes: the request worked, it failed, or the command line was wrong. */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

/** The process's streams and environment, injectable for tests. */
export interface Io {
  stdin: Readable & { isTTY?: boolean }
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
}

interface GlobalOptions extends ConnectionFlags {
  connectTimeout: number
  color: boolean
}

/** Builds the `coordinate` command tree; `context` is where its commands run. */
export function buildProgram(io: Io, context: Context): Command {
  const program = new Command('coordinate')
    .description('Inspect and feed Coordinate job queues: work specs, work units and workers.')
    .option('-V, --version', 'print the version and exit')
    .option('-c, --config <file>', 'YAML config file with a `coordinate:` section (default ~/.config/coordinate.yaml)')
    .option('--address <host:port>', 'a coordinated (or Python/go Coordinate) daemon over CBOR-RPC')
    .option('--http <url>', 'a coordinated daemon over its REST API')
    .option('--token <token>', 'bearer token for --http (or $COORDINATE_HTTP_TOKEN)')
    .option('--database-url <url>', 'PostgreSQL holding Coordinate, used directly (or $DATABASE_URL)')
    .option('-N, --namespace <name>', 'the namespace (default ""; only "" over --address)')
    .addOption(new Option('--connect-timeout <seconds>', 'how long to wait for the daemon or database').default(5).argParser(positiveNumber('--connect-timeout')))
    .option('--no-color', 'never color the output (also: NO_COLOR=1)')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run coordinate --help for the commands)')
    .addHelpText(
      'after',
      `
Where to connect: --address, --http or --database-url; else $COORDINATE_ADDRESS, $COORDINATE_HTTP
or $DATABASE_URL; else the config file's coordinate.address / addresses / http / database_url;
else 127.0.0.1:5932.

Exit status: 0 done, 1 the request failed, 2 the command line was wrong.

Examples:
  $ coordinate summary
  $ coordinate --address 10.0.0.5:5932 load -w crawl.yaml -u urls.jsonl
  $ coordinate --database-url postgres://localhost/jobs -N crawler work_units -W crawl -s failed`,
    )
  program.configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
  for (const command of [...workSpecCommands(context), ...workUnitCommands(context), ...loadCommands(context), ...workerCommands(context), metricsCommand(context)]) {
    program.addCommand(command)
  }
  program.addCommand(completionCommand(program, context))
  return program
}

/** Runs `coordinate` with these arguments (without node and the script) and returns the exit code. */
export async function runCoordinate(argv: readonly string[], io: Io): Promise<number> {
  let program: Command | undefined
  const flags = (): GlobalOptions => program!.opts<GlobalOptions>()
  const color = (): boolean => wantsColor(io.stdout, io.env) && !argv.includes('--no-color')
  const output = new Output(io.stdout, io.stderr, color())
  const context = new Context(output, io.stdin, io.env, flags)
  program = buildProgram(io, context)
  program.exitOverride()
  for (const command of program.commands) command.exitOverride()
  try {
    if (argv[0] === '-V' || argv[0] === '--version') {
      // The version is read from package.json with the daemon's helper, loaded only when asked for.
      await output.write(`${(await import('../daemon.js')).packageVersion()}\n`)
      return EXIT_OK
    }
    await program.parseAsync([...argv], { from: 'user' })
    return context.failed ? EXIT_FAILED : EXIT_OK
  } catch (error) {
    return reportError(error, output)
  } finally {
    await context.close().catch(() => undefined)
  }
}

// Commander has already printed its own usage errors; everything else is printed here.
function reportError(error: unknown, output: Output): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT_OK
    return EXIT_USAGE
  }
  const say = (message: string): void => output.note(`coordinate: ${output.colors.red(message)}`)
  if (error instanceof UsageError) {
    say(error.message)
    return EXIT_USAGE
  }
  if (error instanceof NoSuchWorkSpecError) say(`no such work spec ${JSON.stringify(error.workSpecName)}`)
  else if (error instanceof RpcRemoteError) say(`the daemon refused ${error.method}: ${error.message}`)
  else if (
    error instanceof RpcConnectionError ||
    error instanceof UnreachableError ||
    error instanceof BadFileError ||
    error instanceof BadLineError ||
    error instanceof UnexpectedAnswerError ||
    error instanceof CoordinateError
  ) {
    say(error.message)
  } else {
    say(error instanceof Error ? (error.stack ?? error.message) : String(error))
  }
  return EXIT_FAILED
}
