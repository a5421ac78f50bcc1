import { sql } from 'kysely'
import type { SummaryRecord } from '../coordinate/api.js'
import type { PostgresChangeFeed } from './change-listener.js'
import { LATEST_MIGRATION } from './migrate.js'
import type { Store } from './store.js'
import { summarize } from './summary.js'

/** Connections of the pool: open, idle, and callers waiting for one. */
export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

/** Active workers (active and not past their expiration) in one namespace. */
export interface ActiveWorkerCount {
  namespace: string
  count: number
}

/** What health checks and metrics read from the store, beyond the Coordinate API. */
export class PostgresObservability {
  constructor(
    private readonly store: Store,
    private readonly feed: PostgresChangeFeed,
    private readonly pool: (() => PoolStats) | undefined,
  ) {}

  /** The pool's connection counts, or null when there is no pool (PGlite). */
  poolStats(): PoolStats | null {
    return this.pool?.() ?? null
  }

  /** Unit counts per (namespace, spec, status) in one grouped query: exact as of its snapshot. */
  unitCounts(): Promise<SummaryRecord[]> {
    return summarize(this.store, {})
  }

  /** Active workers per namespace, namespaces without any left out. */
  async activeWorkers(): Promise<ActiveWorkerCount[]> {
    const rows = await this.store.rows(sql<{ namespace: string; count: number }>`
      SELECT n.name AS namespace, count(*)::integer AS count
      FROM worker w JOIN namespace n ON n.id = w.namespace_id
      WHERE w.active AND w.expiration >= ${this.store.now()}
      GROUP BY n.name`)
    return rows
  }

  /** Throws unless the database answers a query. */
  async ping(): Promise<void> {
    await this.store.rows(sql`SELECT 1`)
  }

  /** The newest migration applied to the schema, and the newest this code knows. */
  async migrations(): Promise<{ applied: string | null; latest: string }> {
    const row = await this.store.row(sql<{ name: string | null }>`SELECT max(name) AS name FROM coordinate_migration`)
    return { applied: row?.name ?? null, latest: LATEST_MIGRATION }
  }

  /** Statements run again after losing a deadlock (see Store): a lock-order bug when it grows. */
  deadlockRetries(): number {
    return this.store.deadlockRetries
  }

  /** Whether the change feed's LISTEN connection is up. */
  feedListening(): boolean {
    return this.feed.listening
  }
}
