import type { PGlite } from '@electric-sql/pglite'
import { CompiledQuery, Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { type Clock, systemClock } from '../coordinate/clock.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { migrateToLatest } from './migrate.js'
import { connectionFailure, unavailable } from './connection-failure.js'
import { PostgresCoordinate } from './coordinate.js'
import { type DirectQuery, Store } from './store.js'
import { DeferredNotifications } from './deferred-notifications.js'
import { statementName, usePreparedStatements } from './prepared-statements.js'
import { type ListenConnector, PostgresChangeFeed } from './change-listener.js'
import { pgListenConnector, pgliteListenConnector } from './listen-connectors.js'
import type { PoolStats } from './observability.js'
import { type DataDirLock, lockDataDir } from './data-dir-lock.js'
import { DatabaseHealth, type HealthLogger } from './database-health.js'
import { type EmbeddedDatabase, openEmbedded } from './pglite-template.js'

/** How to reach the database. With neither `databaseUrl` nor `dataDir`, PGlite runs in memory. */
export interface OpenOptions {
  /** A `postgres://` URL; a `pg` pool is opened on it. */
  databaseUrl?: string
  /**
   * A directory for embedded PGlite (created if missing); ignored when `databaseUrl` is set. One
   * Coordinate at a time may have it open (DataDirLockedError otherwise), in any process.
   */
  dataDir?: string
  /** The Postgres schema holding coordinate-ts's tables (default `coordinate`). */
  schema?: string
  /** Where time comes from (default: the system clock). */
  clock?: Clock
  /** Most connections the pool opens (default 10). */
  poolSize?: number
  /**
   * How often to write down expired leases (ms; default 30 s; 0 = never). Reads already treat a
   * lease past its end as expired; the sweep frees the rows so claims and counts stay cheap.
   */
  leaseSweepMs?: number
  /**
   * Whether this Coordinate's writes send change notifications (default true). Caches in other
   * processes rely on them; turn them off only where no cache reads the same database, or
   * accept staleness up to the caches' resync period. Each notifying commit takes Postgres's
   * notification queue lock, so this costs some throughput under many concurrent writers.
   */
  notify?: boolean
  /**
   * Longest wait for a pooled connection, in ms (default 5,000): while the database is
   * unreachable or the pool is exhausted, statements fail within this with
   * DatabaseUnavailableError instead of queueing without bound.
   */
  connectTimeoutMs?: number
  /** Where lost and recovered database connections are logged (warn and info; pino fits). */
  logger?: HealthLogger
}

/**
 * Opens a Postgres-backed Coordinate and brings its schema up to date. A database that cannot
 * be reached fails it with DatabaseUnavailableError, as it fails any later call.
 *
 * @example
 * const coordinate = await openCoordinate({ databaseUrl: 'postgres://localhost/jobs' })
 * const ns = await coordinate.namespace('')
 * const spec = await ns.setWorkSpec({ name: 'crawl' })
 * await spec.addWorkUnits([{ key: 'https://example.com/' }])
 */
export async function openCoordinate(options: OpenOptions = {}): Promise<PostgresCoordinate> {
  const schema = options.schema ?? 'coordinate'
  // Lower case only: the schema also names the notification channel, which must not need quoting.
  if (!/^[a-z_][a-z0-9_]{0,50}$/.test(schema)) throw new InvalidInputError(`bad schema name ${JSON.stringify(schema)}`)
  let db: Kysely<unknown>
  let direct: DirectQuery | undefined
  let listen: ListenConnector
  let poolStats: (() => PoolStats) | undefined
  let dirLock: DataDirLock | undefined
  const health = new DatabaseHealth(options.logger)
  const poolSize = options.poolSize ?? 10
  let embedded: EmbeddedDatabase | undefined
  if (options.databaseUrl) {
    const pool = openPool(options.databaseUrl, sessionSettings(schema, options), poolSize, options.connectTimeoutMs ?? 5_000, health)
    db = pool.db
    direct = pool.direct
    poolStats = pool.stats
    listen = pgListenConnector(options.databaseUrl)
  } else {
    // PGlite is single-process: a second opener of the directory would corrupt it.
    dirLock = options.dataDir === undefined ? undefined : await lockDataDir(options.dataDir)
    try {
      embedded = await openEmbedded(options.dataDir, schema)
    } catch (error) {
      dirLock?.release()
      throw error
    }
    const { pglite } = embedded
    db = openPGlite(pglite, sessionSettings(schema, options))
    listen = pgliteListenConnector(() => pglite)
  }
  try {
    await migrateToLatest(db, schema)
    await embedded?.saveTemplate()
  } catch (error) {
    await db.destroy()
    dirLock?.release()
    throw openFailure(error)
  }
  const feed = new PostgresChangeFeed(listen, `coordinate_${schema}`, health)
  const notifications = options.notify === false ? undefined : new DeferredNotifications(db, `coordinate_${schema}`)
  const coordinate = new PostgresCoordinate(new Store(db, options.clock ?? systemClock, notifications, direct, health, poolSize + 1), feed, poolStats, dirLock)
  const sweepMs = options.leaseSweepMs ?? 30_000
  if (sweepMs > 0) coordinate.startLeaseSweeper(sweepMs)
  return coordinate
}

// A database that cannot be reached fails the open as it fails any later call, so one catch of
// DatabaseUnavailableError covers both; the driver's error stays its cause.
function openFailure(error: unknown): unknown {
  const failure = connectionFailure(error)
  return failure === undefined ? error : unavailable(error as Error, failure === 'not-sent' ? 'no' : 'unknown')
}

/** Settings every session starts with: our schema first on the path, notifications on or off. */
function sessionSettings(schema: string, options: OpenOptions): Record<string, string> {
  return { search_path: schema, 'coordinate.notify': options.notify === false ? 'off' : 'on' }
}

function openPool(
  databaseUrl: string,
  settings: Record<string, string>,
  max: number,
  connectionTimeoutMillis: number,
  health: DatabaseHealth,
): { db: Kysely<unknown>; direct: DirectQuery; stats: () => PoolStats } {
  const startup = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ')
  const pool = new pg.Pool({ connectionString: databaseUrl, max, options: startup, connectionTimeoutMillis })
  // An idle client's error (server restart) would otherwise crash the process; the pool drops it.
  pool.on('error', (error) => health.lost('pool', error))
  // A checked-out client between statements has no listener of pg-pool's: without this, its
  // connection dropping would be an uncaught 'error' event and take the process down.
  pool.on('connect', (client) => client.on('error', (error) => health.lost('pool', error)))
  pool.on('connect', usePreparedStatements)
  const direct: DirectQuery = async (text, values) => (await pool.query({ name: statementName(text), text, values: values.map(isoDate) })).rows
  const stats = (): PoolStats => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })
  return { db: new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }), direct, stats }
}

// pg would format a Date in the local time zone with JavaScript string work, a few µs per
// value on the claim path; the ISO form is one native call and means the same instant.
function isoDate(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value
}

function openPGlite(pglite: PGlite, settings: Record<string, string>): Kysely<unknown> {
  return new Kysely<unknown>({
    dialect: new PGliteDialect({
      pglite,
      // PGlite is one session, so setting these once covers every query.
      onCreateConnection: async (connection) => {
        for (const [name, value] of Object.entries(settings)) {
          await connection.executeQuery(CompiledQuery.raw(`SET ${name} = '${value}'`))
        }
      },
    }),
  })
}
