#!/usr/bin/env node
// The `coordinated` command: parses argv, runs the daemon (src/cli/daemon.ts) and turns
// signals into a graceful stop. Everything worth testing lives in runDaemon.
import { constants } from 'node:os'
import { runDaemon } from './daemon.js'
import { createLogger } from './logging.js'
import { USAGE, UsageError, parseCommandLine } from './options.js'

async function main(argv: readonly string[]): Promise<void> {
  let parsed
  try {
    parsed = parseCommandLine(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`coordinated: ${error.message}\n\n${USAGE}`)
    process.exitCode = 2
    return
  }
  if (parsed.help) {
    process.stdout.write(USAGE)
    return
  }
  const logger = createLogger(parsed.options.logLevel)
  let daemon
  try {
    daemon = await runDaemon({ ...parsed.options, logger })
  } catch (error) {
    logger.fatal({ err: error }, 'coordinated failed to start')
    logger.flush()
    process.exit(1)
  }
  const exit = (code: number): never => {
    logger.flush()
    process.exit(code)
  }
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // The operator asked twice: do not wait for anything.
      logger.warn({ signal }, 'second signal; exiting now')
      exit(128 + (constants.signals[signal] ?? 0))
    }
    stopping = true
    logger.info({ signal }, 'signal received; stopping')
    daemon.stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coordinated: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
