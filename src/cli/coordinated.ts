#!/usr/bin/env node
// The `coordinated` command: parses argv, runs the daemon (src/cli/daemon.ts), turns signals
// into a graceful stop bounded by a watchdog, and reports a failed start as one sentence on
// stderr with an exit status of its own (src/cli/exit-codes.ts).
import type { Logger } from 'pino'
import type { DaemonHandle } from './daemon.js'
import { ExitCode } from './exit-codes.js'
import { signalExitCode } from './signals.js'
import { createLogger, defaultLogFormat, prettyDestination } from './logging.js'
import { type DaemonCommandLine, USAGE, parseCommandLine } from './options.js'
import { UsageError } from './usage-error.js'
import { type ShutdownWatchdog, armShutdownWatchdog } from './shutdown-watchdog.js'
import { explainStartFailure } from './start-failure.js'
import { limitHeapGrowth } from './heap-growth.js'

// The watchdog ends the process this long after the shutdown timeout, whatever hangs.
const WATCHDOG_MARGIN_MS = 1000

async function main(argv: readonly string[]): Promise<void> {
  // Listening first: a signal during the start must stop the daemon once it is up, not kill
  // the process halfway through creating a data directory.
  let signalled: NodeJS.Signals | undefined
  let onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(signalExitCode(signal))
    signalled = signal
  }
  process.on('SIGINT', (signal) => onSignal(signal))
  process.on('SIGTERM', (signal) => onSignal(signal))

  const options = commandLine(argv)
  if (!options) return
  const logger = await openLogger(options)
  const heapFlag = limitHeapGrowth()
  if (heapFlag !== undefined) logger.debug({ v8Flag: heapFlag }, 'heap growth between full collections limited')
  const exit = (code: number): never => {
    logger.flush()
    process.exit(code)
  }
  let watchdog: ShutdownWatchdog | undefined
  const armWatchdog = (stage: string): void => {
    watchdog ??= armShutdownWatchdog({ limitMs: options.shutdownTimeoutMs + WATCHDOG_MARGIN_MS, logger, exit, exitCode: ExitCode.shutdownIncomplete, stage })
  }
  // A start can hang too (a database host that accepts and never answers): a signal during
  // it bounds the rest of the start and the stop together.
  onSignal = (signal) => {
    if (signalled) exit(signalExitCode(signal))
    signalled = signal
    logger.info({ signal }, 'signal received while starting; stopping once started')
    armWatchdog('starting')
  }
  if (signalled) armWatchdog('starting')
  let daemon: DaemonHandle
  try {
    // Loaded here, not at the top: --help and usage errors need none of the database code.
    const { runDaemon } = await import('./daemon.js')
    daemon = await runDaemon({ ...options, logger, onShutdownStage: (stage) => watchdog?.stage(stage) })
  } catch (error) {
    watchdog?.disarm()
    const failure = explainStartFailure(error)
    logger.debug({ err: error }, 'start failed')
    process.stderr.write(`coordinated: ${failure.sentence}\n`)
    exit(failure.exitCode)
  }
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'signal received; stopping')
    armWatchdog('draining requests')
    daemon.stop().then(
      (report) => {
        watchdog?.disarm()
        exit(report.databaseClosed ? ExitCode.stopped : ExitCode.shutdownIncomplete)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        exit(ExitCode.shutdownIncomplete)
      },
    )
  }
  onSignal = (signal) => {
    if (signalled) {
      // The operator asked twice: do not wait for anything.
      logger.warn({ signal }, 'second signal; exiting now')
      exit(signalExitCode(signal))
    }
    signalled = signal
    stop(signal)
  }
  if (signalled) stop(signalled)
}

/** The parsed command line, or undefined once --help or a usage error has been handled. */
function commandLine(argv: readonly string[]): DaemonCommandLine | undefined {
  try {
    const parsed = parseCommandLine(argv)
    if (!parsed.help) return parsed.options
    process.stdout.write(USAGE)
    return undefined
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`coordinated: ${error.message}\n\n${USAGE}`)
    process.exitCode = ExitCode.usage
    return undefined
  }
}

async function openLogger(options: DaemonCommandLine): Promise<Logger> {
  const format = options.logFormat ?? defaultLogFormat()
  return createLogger(options.logLevel, format === 'pretty' ? await prettyDestination() : undefined)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coordinated: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(ExitCode.failed)
})
