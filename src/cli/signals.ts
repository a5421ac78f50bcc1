import { constants } from 'node:os'
import type { Logger } from 'pino'

/**
 * On the first SIGINT or SIGTERM runs `stop` and exits 0 (1 if it fails); a second signal
 * exits at once with 128 + the signal's number, for an operator who will not wait.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  const exit = (code: number): never => {
    logger.flush()
    process.exit(code)
  }
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal; exiting now')
      exit(signalExitCode(signal))
    }
    stopping = true
    logger.info({ signal }, 'signal received; stopping')
    stop().then(
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

/** The exit status of a process ended by `signal`, as shells report it: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0)
}
