import type { Logger } from 'pino'
import { CacheCoordinate } from '../cache/cache-coordinate.js'
import type { Coordinate } from '../coordinate/api.js'
import type { PostgresCoordinate } from '../postgres/coordinate.js'
import { DaemonMetrics } from '../rest/daemon-metrics.js'
import { type RestServer, startRestServer } from '../rest/rest-server.js'
import { storeReadiness } from '../rest/store-readiness.js'

/** The HTTP API's settings in the daemon. */
export interface HttpApiOptions {
  /** Where to listen; port 0 picks a free one. */
  host: string
  port: number
  /** Bearer token every request but /healthz must carry. */
  token?: string
  /** Host header names accepted besides the bound address. */
  allowedHosts?: readonly string[]
  /** Browser origins allowed by CORS (default none). */
  corsOrigins?: readonly string[]
}

/** Metrics of the daemon: its own series plus the cache's, with counts from the store. */
export function daemonMetrics(store: PostgresCoordinate, served: Coordinate): DaemonMetrics {
  const observability = store.observability()
  return new DaemonMetrics({
    unitCounts: () => observability.unitCounts(),
    activeWorkers: () => observability.activeWorkers(),
    poolStats: () => observability.poolStats(),
    deadlockRetries: () => observability.deadlockRetries(),
    registries: served instanceof CacheCoordinate ? [served.metrics.registry] : [],
  })
}

/** Starts the REST API on the daemon's served Coordinate (the cache) and change feed. */
export async function startHttpApi(
  options: HttpApiOptions,
  parts: { store: PostgresCoordinate; served: Coordinate; metrics: DaemonMetrics; logger: Logger; version: string },
): Promise<RestServer> {
  const server = await startRestServer({
    host: options.host,
    port: options.port,
    coordinate: parts.served,
    clock: parts.store.clock,
    changes: parts.store.changes(),
    readiness: storeReadiness(parts.store.observability()),
    metrics: parts.metrics,
    logger: parts.logger.child({ component: 'http' }),
    version: parts.version,
    dashboard: { queries: parts.store.dashboardQueries() },
    access: { ...(options.token ? { token: options.token } : {}), allowedHosts: options.allowedHosts ?? [] },
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  })
  parts.logger.info({ http: server.url, auth: options.token ? 'bearer' : 'none' }, 'HTTP API listening')
  return server
}
