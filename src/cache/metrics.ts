import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** The kinds of entry the cache keeps, as metric labels. */
export type CacheLevel = 'namespace' | 'work_spec' | 'work_unit' | 'worker'

/** Where a hit or miss happened: a read of cached state, or a lookup of a proxy by name. */
export type CacheOp = 'read' | 'lookup'

// Hits and misses are tallied in plain arrays by these indexes and turned into labelled counter
// increments only when the registry is scraped: the hot read path must not pay for labels.
/** Tally of unit reads (status, data, meta, snapshot). */
export const UNIT_READ = 0
/** Tally of unit lookups by key. */
export const UNIT_LOOKUP = 1
/** Tally of spec reads (data, meta, snapshot). */
export const SPEC_READ = 2
/** Tally of spec lookups by name. */
export const SPEC_LOOKUP = 3
/** Tally of namespace lookups by name. */
export const NAMESPACE_LOOKUP = 4
/** Tally of worker lookups by name. */
export const WORKER_LOOKUP = 5

const TALLY_LABELS: readonly { level: CacheLevel; op: CacheOp }[] = [
  { level: 'work_unit', op: 'read' },
  { level: 'work_unit', op: 'lookup' },
  { level: 'work_spec', op: 'read' },
  { level: 'work_spec', op: 'lookup' },
  { level: 'namespace', op: 'lookup' },
  { level: 'worker', op: 'lookup' },
]

/** What the gauges report, computed when the registry is scraped. */
export interface CacheGaugeState {
  tracked: Record<CacheLevel, number>
  inFlight: number
  /** Age in seconds of the oldest snapshot held (0 with none). */
  oldestSnapshotAgeSeconds: number
}

/**
 * The cache's Prometheus metrics, registered on the registry given in the options (or a private
 * one). Names start with `prefix` (default `coordinate_cache_`); two caches on one registry need
 * two prefixes, since prom-client refuses a name twice.
 */
export class CacheMetrics {
  readonly registry: Registry
  /** Reads and lookups answered from the cache, by level and op. */
  readonly hits: Counter<'level' | 'op'>
  /** Reads and lookups that went to the database, by level and op. */
  readonly misses: Counter<'level' | 'op'>
  /** Entries pushed out by the LRU limits, by level. */
  readonly evictions: Counter<'level'>
  /** Batch queries the refresh loop ran (one per batch). */
  readonly refreshQueries: Counter
  /** Refresh batches that failed, and refresh cycles that failed outright. */
  readonly refreshErrors: Counter
  /** Time of one refresh batch query, in seconds. */
  readonly refreshLatency: Histogram
  /** Refresh cycles run. */
  readonly refreshCycles: Counter
  /** Entries held, by level. */
  readonly trackedEntries: Gauge<'level'>
  /** Units marked in flight by a refresh batch right now. */
  readonly inFlightEntries: Gauge
  /** Change notifications received, by kind. */
  readonly notifications: Counter<'kind'>
  /** Age of the oldest snapshot held: how stale the cache could be if every notification were lost. */
  readonly oldestSnapshotAge: Gauge
  /** Compare-and-swap writes that lost to another writer and were retried. */
  readonly casConflicts: Counter
  /** Updates that went on to the row-locked path after a conflict (and landed). */
  readonly casLockedUpdates: Counter

  readonly #hitTally = new Float64Array(TALLY_LABELS.length)
  readonly #missTally = new Float64Array(TALLY_LABELS.length)
  readonly #hitFlushed = new Float64Array(TALLY_LABELS.length)
  readonly #missFlushed = new Float64Array(TALLY_LABELS.length)
  #state: () => CacheGaugeState = () => ({
    tracked: { namespace: 0, work_spec: 0, work_unit: 0, worker: 0 },
    inFlight: 0,
    oldestSnapshotAgeSeconds: 0,
  })

  constructor(registry: Registry = new Registry(), prefix = 'coordinate_cache_') {
    this.registry = registry
    const registers = [registry]
    const hitTally = this.#hitTally
    const missTally = this.#missTally
    const hitFlushed = this.#hitFlushed
    const missFlushed = this.#missFlushed
    const flush = (counter: Counter<'level' | 'op'>, tally: Float64Array, flushed: Float64Array) => {
      for (let i = 0; i < tally.length; i++) {
        const delta = (tally[i] ?? 0) - (flushed[i] ?? 0)
        if (delta > 0) {
          counter.inc(TALLY_LABELS[i] ?? {}, delta)
          flushed[i] = tally[i] ?? 0
        }
      }
    }
    this.hits = new Counter({
      name: `${prefix}hits_total`,
      help: 'Reads and lookups answered from the cache',
      labelNames: ['level', 'op'] as const,
      registers,
      collect() {
        flush(this, hitTally, hitFlushed)
      },
    })
    this.misses = new Counter({
      name: `${prefix}misses_total`,
      help: 'Reads and lookups that went to the database',
      labelNames: ['level', 'op'] as const,
      registers,
      collect() {
        flush(this, missTally, missFlushed)
      },
    })
    this.evictions = new Counter({ name: `${prefix}evictions_total`, help: 'Entries evicted by the LRU limits', labelNames: ['level'] as const, registers })
    this.refreshQueries = new Counter({ name: `${prefix}refresh_queries_total`, help: 'Batch queries run by the refresh loop', registers })
    this.refreshErrors = new Counter({ name: `${prefix}refresh_errors_total`, help: 'Refresh batches or cycles that failed', registers })
    this.refreshLatency = new Histogram({
      name: `${prefix}refresh_latency_seconds`,
      help: 'Duration of one refresh batch query',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    this.refreshCycles = new Counter({ name: `${prefix}refresh_cycles_total`, help: 'Refresh cycles run', registers })
    const state = () => this.#state()
    this.trackedEntries = new Gauge({
      name: `${prefix}tracked_entries`,
      help: 'Entries held by the cache',
      labelNames: ['level'] as const,
      registers,
      collect() {
        const { tracked } = state()
        for (const level of Object.keys(tracked) as CacheLevel[]) this.set({ level }, tracked[level])
      },
    })
    this.inFlightEntries = new Gauge({
      name: `${prefix}in_flight_entries`,
      help: 'Units in a refresh batch right now',
      registers,
      collect() {
        this.set(state().inFlight)
      },
    })
    this.notifications = new Counter({ name: `${prefix}notifications_total`, help: 'Change notifications received', labelNames: ['kind'] as const, registers })
    this.oldestSnapshotAge = new Gauge({
      name: `${prefix}oldest_snapshot_age_seconds`,
      help: 'Age of the oldest snapshot held',
      registers,
      collect() {
        this.set(state().oldestSnapshotAgeSeconds)
      },
    })
    this.casConflicts = new Counter({ name: `${prefix}cas_conflicts_total`, help: 'Compare-and-swap writes retried after a conflict', registers })
    this.casLockedUpdates = new Counter({ name: `${prefix}cas_locked_updates_total`, help: 'Updates that landed on the row-locked path after a conflict', registers })
  }

  /** @internal Counts a hit (cheap: no labels are looked at until a scrape). */
  hit(tally: number): void {
    this.#hitTally[tally]! += 1
  }

  /** @internal Counts a miss. */
  miss(tally: number): void {
    this.#missTally[tally]! += 1
  }

  /** @internal Tells the gauges where to read the cache's state. */
  observe(state: () => CacheGaugeState): void {
    this.#state = state
  }
}
