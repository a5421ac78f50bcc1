import type { Coordinate } from '../coordinate/api.js'
import type { ChangeFeed } from '../coordinate/change-feed.js'
import { type Clock, MINUTE, SECOND, systemClock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { type TaskList, type WorkerEvent, type WorkerLogger, type WorkerOptions, silentLogger } from './options.js'
import { defaultWorkerName } from './registration.js'
import { type Timers, systemTimers } from './timers.js'

/** WorkerOptions checked, with every default filled in. */
export interface WorkerSettings {
  namespace: string
  tasks: TaskList
  specs: string[]
  concurrency: number
  specConcurrency: ReadonlyMap<string, number>
  leaseMs: number
  renewEveryMs: number
  workerName: string
  parent: string | undefined
  workerData: DataDict
  heartbeatMs: number
  changes: ChangeFeed | null
  pollIntervalMs: number
  gracePeriodMs: number
  retryDelayMs: (attemptNumber: number) => number
  clock: Clock
  timers: Timers
  logger: WorkerLogger
  onEvent: (event: WorkerEvent) => void
}

/** The default wait before retry n (1-based) of a failed unit: 1 s doubling, at most 5 minutes. */
export function defaultRetryDelayMs(attemptNumber: number): number {
  return Math.min(5 * MINUTE, SECOND * 2 ** Math.min(Math.max(0, attemptNumber - 1), 20))
}

/** Checks the options (InvalidInputError on bad ones) and fills in the defaults. */
export function workerSettings(coordinate: Coordinate, options: WorkerOptions): WorkerSettings {
  if (typeof options !== 'object' || options === null) throw new InvalidInputError('runWorkers needs an options object')
  if (typeof options.namespace !== 'string') throw new InvalidInputError('options.namespace must be a string')
  const tasks = options.tasks
  if (typeof tasks !== 'object' || tasks === null) throw new InvalidInputError('options.tasks must map work spec names to handlers')
  const specs = Object.keys(tasks).sort()
  if (specs.length === 0) throw new InvalidInputError('options.tasks names no work spec')
  for (const name of specs) {
    if (typeof tasks[name] !== 'function') throw new InvalidInputError(`the handler for work spec ${JSON.stringify(name)} is not a function`)
  }
  const concurrency = positiveInteger(options.concurrency ?? 8, 'concurrency')
  const specConcurrency = new Map<string, number>()
  for (const [name, limit] of Object.entries(options.specConcurrency ?? {})) {
    if (!specs.includes(name)) throw new InvalidInputError(`specConcurrency names ${JSON.stringify(name)}, which has no handler`)
    specConcurrency.set(name, positiveInteger(limit, `specConcurrency.${name}`))
  }
  const leaseMs = positive(options.leaseMs ?? 5 * MINUTE, 'leaseMs')
  const renewFraction = positive(options.renewFraction ?? 1 / 3, 'renewFraction')
  if (renewFraction >= 1) throw new InvalidInputError('renewFraction must be below 1, or leases run out between renewals')
  return {
    namespace: options.namespace,
    tasks,
    specs,
    concurrency,
    specConcurrency,
    leaseMs,
    renewEveryMs: leaseMs * renewFraction,
    workerName: options.workerName ?? defaultWorkerName(),
    parent: options.parent,
    workerData: options.workerData ?? {},
    heartbeatMs: positive(options.heartbeatMs ?? 15 * SECOND, 'heartbeatMs'),
    changes: options.changes === undefined ? changesOf(coordinate) : options.changes,
    pollIntervalMs: positive(options.pollIntervalMs ?? 2 * SECOND, 'pollIntervalMs'),
    gracePeriodMs: nonNegative(options.gracePeriodMs ?? 10 * SECOND, 'gracePeriodMs'),
    retryDelayMs: options.retryDelayMs ?? defaultRetryDelayMs,
    clock: options.clock ?? clockOf(coordinate),
    timers: options.timers ?? systemTimers,
    logger: options.logger ?? silentLogger,
    onEvent: options.onEvent ?? (() => undefined),
  }
}

// The Postgres Coordinate (and the cache over it) expose these beyond the interface.
function changesOf(coordinate: Coordinate): ChangeFeed | null {
  const changes = (coordinate as { changes?: unknown }).changes
  return typeof changes === 'function' ? (changes.call(coordinate) as ChangeFeed) : null
}

function clockOf(coordinate: Coordinate): Clock {
  const clock = (coordinate as { clock?: Clock }).clock
  return clock && typeof clock.now === 'function' ? clock : systemClock
}

function positive(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidInputError(`${what} must be a positive number`)
  return value
}

function nonNegative(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidInputError(`${what} must be a non-negative number`)
  return value
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new InvalidInputError(`${what} must be a positive integer`)
  return value
}
