import type { Attempt } from '../coordinate/api.js'
import type { ChangeFeed } from '../coordinate/change-feed.js'
import type { Clock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import type { Timers } from './timers.js'

/** The work unit a task handler is given. */
export interface TaskUnit {
  /** The unit's key as text (invalid UTF-8 shows as U+FFFD). */
  readonly name: string
  /** The key's exact bytes. */
  readonly key: Uint8Array
  /** The unit's data when it was claimed. */
  readonly data: DataDict
  /** The work spec's name. */
  readonly workSpec: string
  /** The namespace's name. */
  readonly namespace: string
}

/** What a handler gets besides the unit. */
export interface TaskContext {
  /** Aborts when the lease is lost or the runtime stops past its grace period. */
  readonly signal: AbortSignal
  /** The attempt the handler runs under (for tools that need the raw handle). */
  readonly attempt: Attempt
  /** Replaces the attempt's data (progress for the dashboard) and extends the lease. */
  progress(data: DataDict): Promise<void>
}

/**
 * Runs one work unit. The returned dict becomes the attempt's data when it finishes (an
 * `output` key there feeds the spec's `then` chain); nothing returned keeps the data as it is.
 * A throw fails the attempt (or retries it, within the spec's max_retries).
 */
export type TaskHandler = (unit: TaskUnit, context: TaskContext) => unknown

/** Handlers keyed by work spec name. */
export type TaskList = Readonly<Record<string, TaskHandler>>

/** Where the runtime writes what it does; pino's loggers fit. */
export interface WorkerLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

/** Something the runtime did, for metrics and tests. */
export type WorkerEvent =
  /** Units were claimed and their handlers started. */
  | { type: 'claimed'; count: number; workSpec: string }
  | { type: 'completed'; status: 'finished' | 'failed' | 'retried'; workSpec: string; unit: string }
  | { type: 'given-back'; workSpec: string; unit: string }
  | { type: 'lease-lost'; workSpec: string; unit: string }
  | { type: 'renewed'; count: number }
  | { type: 'idle' }
  | { type: 'database-error'; during: string; error: unknown }

/** How runWorkers() runs. Only `namespace` and `tasks` are required. */
export interface WorkerOptions {
  /** The namespace whose specs the handlers serve. */
  namespace: string
  /** Handlers keyed by work spec name; only these specs are claimed from. */
  tasks: TaskList
  /** Handlers running at once across all specs (default 8). */
  concurrency?: number
  /** Caps per spec, below `concurrency`. */
  specConcurrency?: Readonly<Record<string, number>>
  /** Lease of each attempt in ms (default 5 minutes); renewed while its handler runs. */
  leaseMs?: number
  /** Renew leases every leaseMs × this, jittered by ±10 % (default 1/3). */
  renewFraction?: number
  /** Worker name (default host-pid-random); a restarted process should get a new one. */
  workerName?: string
  /** Name of a parent worker to register under. */
  parent?: string
  /** Extra worker data merged into the registration (host, pid and versions are always set). */
  workerData?: DataDict
  /** How often the worker heartbeats in ms (default 15 s). */
  heartbeatMs?: number
  /** Change notifications to wake idle workers; by default the Coordinate's changes() if it has one. */
  changes?: ChangeFeed | null
  /** Claims again this often when idle (ms, default 2 s): delayed units and expired leases send no notification. */
  pollIntervalMs?: number
  /** How long stop() lets running handlers finish before aborting them (default 10 s). */
  gracePeriodMs?: number
  /** Delay before a failed unit is retried, by attempt number (default 1 s doubling, capped at 5 min). */
  retryDelayMs?: (attemptNumber: number) => number
  /** Time source (default: the Coordinate's clock if it exposes one, else the wall clock). */
  clock?: Clock
  /** Sleeps and timeouts (default: real timers); ManualTimers drives them from a FakeClock in tests. */
  timers?: Timers
  logger?: WorkerLogger
  /** Called for every WorkerEvent; must not throw. */
  onEvent?: (event: WorkerEvent) => void
}

/** A logger that drops everything. */
export const silentLogger: WorkerLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
}
