import type { Coordinate, Namespace, SummaryRecord } from '../coordinate/api.js'
import { PostgresNamespace } from './namespace.js'
import { NAMESPACES_SQL, namespaceIdSql } from './sql/namespace.js'
import { summarize } from './summary.js'
import type { Store } from './store.js'
import type { Clock } from '../coordinate/clock.js'
import { validateName } from '../coordinate/validation.js'
import type { PostgresChangeFeed } from './change-listener.js'
import type { DataDirLock } from './data-dir-lock.js'
import { expireLeases } from './lease-expiry.js'
import type { LockService } from '../coordinate/locks.js'
import { PostgresLocks } from './locks.js'
import { type PruneResult, type RetentionPolicy, prune } from './retention.js'
import { DashboardQueries } from './dashboard-queries.js'
import { type PoolStats, PostgresObservability } from './observability.js'

/** The Coordinate API over PostgreSQL (or PGlite); made by openCoordinate(). */
export class PostgresCoordinate implements Coordinate {
  readonly #store: Store
  readonly #feed: PostgresChangeFeed
  #sweeper: NodeJS.Timeout | undefined

  readonly #poolStats: (() => PoolStats) | undefined

  /** @internal Made by openCoordinate(). */
  constructor(
    store: Store,
    feed: PostgresChangeFeed,
    poolStats?: () => PoolStats,
    /** The embedded database's data-directory lock, released once the database is closed. */
    private readonly dirLock?: DataDirLock,
  ) {
    this.#store = store
    this.#feed = feed
    this.#poolStats = poolStats
  }

  /** The clock this Coordinate reads time from (give it to a cache over it). */
  get clock(): Clock {
    return this.#store.clock
  }

  /** Every committed change to units, specs and namespaces of this schema, from any process. */
  changes(): PostgresChangeFeed {
    return this.#feed
  }

  /** Health and metrics reads: pool, grouped unit counts, active workers, migrations, feed. */
  observability(): PostgresObservability {
    return new PostgresObservability(this.#store, this.#feed, this.#poolStats)
  }

  /** The hierarchical locks of the jobserver's lock methods, shared by every process on this store. */
  locks(): LockService {
    return new PostgresLocks(this.#store)
  }

  /** Gets the namespace with this name, creating it if needed (one statement). */
  async namespace(name: string): Promise<Namespace> {
    validateName(name, 'a namespace name')
    // Insert-or-select; empty when a racing insert hid both halves, so try again.
    for (;;) {
      const row = await this.#store.getOrCreate(namespaceIdSql(name))
      if (row) return new PostgresNamespace(this.#store, row.id, name)
    }
  }

  /** Every namespace, sorted by name. */
  async namespaces(): Promise<Namespace[]> {
    const rows = await this.#store.rows(NAMESPACES_SQL)
    return rows.map((row) => new PostgresNamespace(this.#store, row.id, row.name))
  }

  /** Unit counts for every namespace. */
  summarize(): Promise<SummaryRecord[]> {
    return summarize(this.#store, {})
  }

  /** Read-only listings and statistics for the dashboard. */
  dashboardQueries(): DashboardQueries {
    return new DashboardQueries(this.#store)
  }

  /** Marks every attempt whose lease has run out as expired and frees its unit; returns how many. */
  expireLeases(): Promise<number> {
    return expireLeases(this.#store)
  }

  /** Deletes old finished and failed units and old attempts as the policy says. */
  prune(policy: RetentionPolicy): Promise<PruneResult> {
    return prune(this.#store, policy)
  }

  /**
   * Runs expireLeases() every `intervalMs` so a dead worker's units come back even when nobody
   * reads them. The timer is unref'd; errors go to `onError` and the sweep carries on.
   */
  startLeaseSweeper(
    intervalMs: number,
    onError: (error: unknown) => void = () => undefined,
    onSwept: (expired: number) => void = () => undefined,
  ): void {
    this.stopLeaseSweeper()
    this.#sweeper = setInterval(() => {
      this.expireLeases().then(onSwept, onError)
    }, intervalMs)
    this.#sweeper.unref()
  }

  /** Stops the sweeper started by startLeaseSweeper(). */
  stopLeaseSweeper(): void {
    if (this.#sweeper) clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  /** Stops the sweeper and closes the database connections. */
  async close(): Promise<void> {
    this.stopLeaseSweeper()
    await this.#feed.close()
    try {
      await this.#store.close()
    } finally {
      this.dirLock?.release()
    }
  }
}
