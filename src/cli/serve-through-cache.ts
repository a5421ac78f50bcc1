import type { Coordinate } from '../coordinate/api.js'
import { cacheCoordinate } from '../cache/cache-coordinate.js'
import type { CacheLimits } from '../cache/options.js'
import type { PostgresCoordinate } from '../postgres/coordinate.js'
import type { HealthLogger } from '../postgres/database-health.js'

/**
 * The Coordinate the daemon serves: the name-identity cache over the database-backed one, fed by
 * the database's change feed so that writes from other daemons on the same database reach it
 * within milliseconds (and within one resync period if a notification is lost). Closing the
 * cache closes the database too. `limits` bound what the cache holds (its memory).
 */
export function wrapBackend(coordinate: PostgresCoordinate, logger?: HealthLogger, limits?: Partial<CacheLimits>): Coordinate {
  return cacheCoordinate(coordinate, { clock: coordinate.clock, changes: coordinate.changes(), logger, ...(limits ? { limits } : {}) })
}
