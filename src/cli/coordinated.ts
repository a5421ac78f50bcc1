#!/usr/bin/env node
// The `coordinated` command: parses argv, runs the daemon (src/cli/daemon.ts) and turns
// signals into a graceful stop. Everything worth testing lives in runDaemon.
import { runDaemon } from './daemon.js'
import { createLogger } from './logging.js'
import { USAGE, UsageError, parseCommandLine } from './options.js'
import { stopOnSignals } from './signals.js'

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
  stopOnSignals(logger, () => daemon.stop())
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coordinated: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
