import { afterAll } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import { restCoordinate, startRestServer } from '../../src/rest/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { runConformanceSuite } from './suite.js'

// The whole suite through the REST client, over HTTP to the server, through the cache to
// Postgres: the daemon's stack as a remote program sees it. The server shares the suite's
// FakeClock, so statuses derived from time agree with the cases' expectations.
const target = await openTestCoordinate()
const cache = cacheCoordinate(target.coordinate, {
  clock: target.clock,
  changes: target.coordinate.changes(),
  closeBackend: false,
})
const server = await startRestServer({ coordinate: cache, clock: target.clock, changes: target.coordinate.changes(), host: '127.0.0.1', port: 0 })
const client = restCoordinate(server.url)
// After-hooks unwind like a stack: this one runs before openTestCoordinate's closes the store.
afterAll(async () => {
  await client.close()
  await server.close()
  await cache.close()
})

runConformanceSuite('rest client over HTTP over cache over postgres', async () => {
  await target.coordinate.changes().ready()
  return { coordinate: client, clock: target.clock }
})
