import type { PGlite } from '@electric-sql/pglite'
import { CompiledQuery, Kysely, PGliteDialect, PostgresDialect } from 'kysely'
import pg from 'pg'
import { type Clock, systemClock } from '../coordinate/clock.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { migrateToLatest } from './migrate.js'
import { PostgresCoordinate } from './coordinate.js'
import { type DirectQuery, Store } from './store.js'
import { DeferredNotifications } from './deferred-notifications.js'
import { statementName, usePreparedStatements } from './prepared-statements.js'
import { type ListenConnector, PostgresChangeFeed } from './change-listener.js'
import { pgListenConnector, pgliteListenConnector } from './listen-connectors.js'
import { type EmbeddedDatabase, openEmbedded } from './pglite-template.js'

/** How to reach the database. With neither `databaseUrl` nor `dataDir`, PGlite runs in memory. */
export interface OpenOptions {
  /** A `postgres://` URL; a `pg` pool is opened on it. */
  databaseUrl?: string
  /** A directory for embedded PGlite (created if missing); ignored when `databaseUrl` is set. */
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
}

/**
 * Opens a Postgres-backed Coordinate and brings its schema up to date.
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
  let embedded: EmbeddedDatabase | undefined
  if (options.databaseUrl) {
    const pool = openPool(options.databaseUrl, sessionSettings(schema, options), options.poolSize ?? 10)
    db = pool.db
    direct = pool.direct
    listen = pgListenConnector(options.databaseUrl)
  } else {
    embedded = await openEmbedded(options.dataDir, schema)
    const { pglite } = embedded
    db = openPGlite(pglite, sessionSettings(schema, options))
    listen = pgliteListenConnector(() => pglite)
  }
  try {
    await migrateToLatest(db, schema)
    await embedded?.saveTemplate()
  } catch (error) {
    await db.destroy()
    throw error
  }
  const feed = new PostgresChangeFeed(listen, `coordinate_${schema}`)
  const notifications = options.notify === false ? undefined : new DeferredNotifications(db, `coordinate_${schema}`)
  const coordinate = new PostgresCoordinate(new Store(db, options.clock ?? systemClock, notifications, direct), feed)
  const sweepMs = options.leaseSweepMs ?? 30_000
  if (sweepMs > 0) coordinate.startLeaseSweeper(sweepMs)
  return coordinate
}

/** Settings every session starts with: our schema first on the path, notifications on or off. */
function sessionSettings(schema: string, options: OpenOptions): Record<string, string> {
  return { search_path: schema, 'coordinate.notify': options.notify === false ? 'off' : 'on' }
}

function openPool(databaseUrl: string, settings: Record<string, string>, max: number): { db: Kysely<unknown>; direct: DirectQuery } {
  const startup = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ')
  const pool = new pg.Pool({ connectionString: databaseUrl, max, options: startup })
  // An idle client's error (server restart) would otherwise crash the process.
  pool.on('error', () => undefined)
  pool.on('connect', usePreparedStatements)
  // So would one on a client checked out between two queries: the pool listens only to idle
  // ones. The query in flight, if any, still fails with the error.
  pool.on('connect', (client) => client.on('error', () => undefined))
  const direct: DirectQuery = async (text, values) => (await pool.query({ name: statementName(text), text, values: values.map(isoDate) })).rows
  return { db: new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }), direct }
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
