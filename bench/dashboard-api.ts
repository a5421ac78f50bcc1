import type { Coordinate } from '../src/coordinate/api.js'
import type { PostgresCoordinate } from '../src/postgres/coordinate.js'
import { type RestAppOptions, type RestServer, startRestServer } from '../src/rest/rest-server.js'

/** Starts the HTTP API with the dashboard on a free loopback port, serving `coordinate` (a cache over `backend`). */
export function startDashboardApi(backend: PostgresCoordinate, coordinate: Coordinate, extra: Partial<RestAppOptions> & { uiDir?: string } = {}): Promise<RestServer> {
  const { uiDir, ...options } = extra
  return startRestServer({
    coordinate,
    clock: backend.clock,
    changes: backend.changes(),
    host: '127.0.0.1',
    port: 0,
    dashboard: { queries: backend.dashboardQueries(), ...(uiDir === undefined ? {} : { uiDir }) },
    ...options,
  })
}
