#!/usr/bin/env node
// The `coordinate-worker` command: loads a handler module, connects, runs the worker runtime
// (src/worker) and turns SIGINT/SIGTERM into its graceful stop.
import { type Logger, pino } from 'pino'
import type { Coordinate } from '../coordinate/api.js'
import { openCoordinate } from '../postgres/open.js'
import { restCoordinate } from '../rest/client/rest-coordinate.js'
import type { TaskList } from '../worker/options.js'
import { type WorkerRuntime, runWorkers } from '../worker/runtime.js'
import { loadTaskModule } from './task-module.js'
import { UsageError } from './usage-error.js'
import { stopOnSignals } from './signals.js'
import { WORKER_USAGE, type WorkerCommandLine, parseWorkerCommandLine } from './worker-command-line.js'

async function main(argv: readonly string[]): Promise<void> {
  let parsed
  try {
    parsed = parseWorkerCommandLine(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`coordinate-worker: ${error.message}\n\n${WORKER_USAGE}`)
    process.exitCode = 2
    return
  }
  if (parsed.help) {
    process.stdout.write(WORKER_USAGE)
    return
  }
  const options = parsed.options
  const logger = pino({ name: 'coordinate-worker', level: options.logLevel })
  let started
  try {
    started = await start(options, logger)
  } catch (error) {
    logger.fatal({ err: error }, 'coordinate-worker failed to start')
    process.stderr.write(`coordinate-worker: ${error instanceof Error ? error.message : String(error)}\n`)
    logger.flush()
    return process.exit(1)
  }
  const { coordinate, runtime, tasks } = started
  logger.info({ worker: runtime.workerName, specs: Object.keys(tasks), concurrency: options.concurrency }, 'worker running')
  stopOnSignals(logger, async () => {
    await runtime.stop()
    await coordinate.close()
  })
}

// Loads the handlers, connects and starts the runtime; closes the connection if a later step fails.
async function start(options: WorkerCommandLine, logger: Logger): Promise<{ coordinate: Coordinate; runtime: WorkerRuntime; tasks: TaskList }> {
  const tasks = await loadTaskModule(options.modulePath)
  const coordinate = await connect(options)
  try {
    const runtime = await runWorkers(coordinate, {
      namespace: options.namespace,
      tasks,
      concurrency: options.concurrency,
      leaseMs: options.leaseMs,
      gracePeriodMs: options.gracePeriodMs,
      workerName: options.workerName,
      parent: options.parent,
      logger,
    })
    return { coordinate, runtime, tasks }
  } catch (error) {
    await coordinate.close().catch(() => undefined)
    throw error
  }
}

// The REST client's change feed (the daemon's /events) wakes the runtime as LISTEN does.
async function connect({ target, schema, concurrency }: WorkerCommandLine): Promise<Coordinate> {
  if (target.kind === 'http') return restCoordinate(target.url, target.token === undefined ? {} : { token: target.token })
  return openCoordinate({ databaseUrl: target.url, schema, poolSize: Math.min(concurrency + 4, 20) })
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`coordinate-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
