import { afterAll } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { runConformanceSuite } from './suite.js'

// The whole suite through the cache, subscribed to the backend's change feed as in production.
// openTestCoordinate's afterAll closes the backend; this one (run first: after-hooks unwind like
// a stack) closes the cache without it.
const target = await openTestCoordinate()
const cache = cacheCoordinate(target.coordinate, {
  clock: target.clock,
  changes: target.coordinate.changes(),
  closeBackend: false,
})
afterAll(() => cache.close())

runConformanceSuite('cache over postgres', async () => {
  await target.coordinate.changes().ready()
  return { coordinate: cache, clock: target.clock }
})
