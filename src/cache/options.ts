import type { Registry } from 'prom-client'
import { type Clock, systemClock } from '../coordinate/clock.js'
import type { ChangeFeed } from '../coordinate/change-feed.js'
import { InvalidInputError } from '../coordinate/errors.js'
import type { HealthLogger } from '../postgres/database-health.js'

/** How many entries of each kind the cache keeps; the least recently used go first. */
export interface CacheLimits {
  /** Namespaces (default 32). Evicting one drops its specs, units and workers too. */
  namespaces: number
  /** Work specs, across namespaces (default 256). Evicting one drops its units too. */
  workSpecs: number
  /**
   * Work units, across specs (default 100,000). Each costs about 2 kB plus its snapshot's data
   * (the unit's and its attempt's, decoded); this is the limit to size to memory. It is also
   * the most the refresh loop tracks, so it bounds the loop's queries per cycle.
   */
  workUnits: number
  /** Workers, across namespaces (default 1024). */
  workers: number
}

/** Options of cacheCoordinate(); every field has a default. */
export interface CacheOptions {
  /**
   * Where time comes from: status that changes with time alone (a lease running out, a delay
   * passing) is derived from the snapshot and this clock at each read, and snapshot ages are
   * measured with it. Give the backend's clock (default: the system clock).
   */
  clock?: Clock
  /**
   * The backend's change feed (`PostgresCoordinate.changes()`): writes from other processes
   * invalidate cached entries within the notification latency. Without it, other processes'
   * writes show after at most `resyncPeriodMs`. Subscribing costs the one LISTEN connection the
   * feed shares among its subscribers.
   */
  changes?: ChangeFeed
  /**
   * Period of the auto-refresh loop, and the oldest a snapshot may be and still be served
   * (default 30,000 ms). It bounds staleness when notifications are lost. Shorter costs more
   * queries: one per `batchSize` tracked non-terminal units per period.
   */
  resyncPeriodMs?: number
  /**
   * Units refreshed by one query (default 100; units of one spec only). Larger batches mean fewer
   * round trips but longer queries and longer in-flight marks; a few hundred is still cheap.
   */
  batchSize?: number
  /**
   * Refresh queries run at once (default 4). Keep it well below the backend's pool size (10 by
   * default) so refreshes never starve foreground requests of connections.
   */
  parallelism?: number
  /**
   * Refresh queries allowed per second across the whole cache, as a token bucket with one
   * second of burst (default 50). Raise it when a cycle cannot get through every tracked unit
   * within `resyncPeriodMs` (units / batchSize / rate seconds).
   */
  refreshRatePerSecond?: number
  /**
   * Longest wait before a unit whose refresh keeps failing is tried again (default 300,000 ms).
   * Waits start at 1 s and double per failure, with jitter.
   */
  maxBackoffMs?: number
  /** How many entries of each kind to keep (see CacheLimits). */
  limits?: Partial<CacheLimits>
  /**
   * Lock-free retries of update() after its first try loses to another writer (default 5), each
   * after re-reading the row, on a backend that cannot lock rows. The Postgres backend needs
   * none: after the first conflict it queues the update on the row lock. When they run out,
   * update() throws ConflictError.
   */
  casRetries?: number
  /**
   * How long one update() may take in all (default 10,000 ms): waiting for the row lock, running
   * fn, retrying. Past it, update() throws ConflictError and writes nothing.
   */
  updateDeadlineMs?: number
  /** Where the cache logs losing and regaining the database, and resyncs (warn and info; pino fits). */
  logger?: HealthLogger
  /** Registry for the cache's metrics (default: a private one, see `cache.metrics.registry`). */
  metricsRegistry?: Registry
  /** Prefix of metric names (default `coordinate_cache_`); needed to put two caches on one registry. */
  metricsPrefix?: string
  /** Start the refresh loop and the subscription at once (default true); else call start(). */
  start?: boolean
  /** close() closes the backend too (default true), as Coordinate.close() promises. */
  closeBackend?: boolean
}

/** The options with every default filled in. */
export interface ResolvedCacheOptions {
  clock: Clock
  changes: ChangeFeed | undefined
  resyncPeriodMs: number
  batchSize: number
  parallelism: number
  refreshRatePerSecond: number
  maxBackoffMs: number
  limits: CacheLimits
  casRetries: number
  updateDeadlineMs: number
  logger: HealthLogger | undefined
  metricsRegistry: Registry | undefined
  metricsPrefix: string
  start: boolean
  closeBackend: boolean
}

/** The default limits. */
export const DEFAULT_LIMITS: Readonly<CacheLimits> = { namespaces: 32, workSpecs: 256, workUnits: 100_000, workers: 1024 }

/** Fills in defaults and rejects nonsense (InvalidInputError). */
export function resolveOptions(options: CacheOptions): ResolvedCacheOptions {
  const resolved: ResolvedCacheOptions = {
    clock: options.clock ?? systemClock,
    changes: options.changes,
    resyncPeriodMs: options.resyncPeriodMs ?? 30_000,
    batchSize: options.batchSize ?? 100,
    parallelism: options.parallelism ?? 4,
    refreshRatePerSecond: options.refreshRatePerSecond ?? 50,
    maxBackoffMs: options.maxBackoffMs ?? 300_000,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    casRetries: options.casRetries ?? 5,
    updateDeadlineMs: options.updateDeadlineMs ?? 10_000,
    logger: options.logger,
    metricsRegistry: options.metricsRegistry,
    metricsPrefix: options.metricsPrefix ?? 'coordinate_cache_',
    start: options.start ?? true,
    closeBackend: options.closeBackend ?? true,
  }
  const positive: [string, number][] = [
    ['resyncPeriodMs', resolved.resyncPeriodMs],
    ['batchSize', resolved.batchSize],
    ['parallelism', resolved.parallelism],
    ['refreshRatePerSecond', resolved.refreshRatePerSecond],
    ['maxBackoffMs', resolved.maxBackoffMs],
    ['updateDeadlineMs', resolved.updateDeadlineMs],
    ['limits.namespaces', resolved.limits.namespaces],
    ['limits.workSpecs', resolved.limits.workSpecs],
    ['limits.workUnits', resolved.limits.workUnits],
    ['limits.workers', resolved.limits.workers],
  ]
  for (const [name, value] of positive) {
    if (typeof value !== 'number' || !(value > 0)) throw new InvalidInputError(`cache option ${name} must be a positive number`)
  }
  for (const name of ['batchSize', 'parallelism'] as const) {
    if (!Number.isInteger(resolved[name])) throw new InvalidInputError(`cache option ${name} must be an integer`)
  }
  if (!Number.isInteger(resolved.casRetries) || resolved.casRetries < 0) throw new InvalidInputError('cache option casRetries must be a non-negative integer')
  return resolved
}

/** Options of the cached reads: `fresh` skips the snapshot and reads the database (and refreshes the snapshot). */
export interface ReadOptions {
  fresh?: boolean
}
