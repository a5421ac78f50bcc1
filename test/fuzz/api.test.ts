import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import { type Coordinate, CoordinateError, LostLeaseError } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { DatabaseSnapshots } from './support/db-snapshot.js'
import { makeWorld, operation } from './support/operations.js'
import { fuzzSettings, fuzzTimeoutMs } from './support/settings.js'

// The property of every public call, over the Postgres backend and over the cache: it either
// succeeds and reading back gives what was written, or it throws a CoordinateError and the
// database is exactly as before. LostLeaseError is the one documented error that writes (the
// late renewal's data is kept and the attempt expires).

const target = await openTestCoordinate()
const cache = cacheCoordinate(target.coordinate, { clock: target.clock, closeBackend: false, start: false })
const snapshots = await DatabaseSnapshots.open(target.url)
afterAll(async () => {
  await cache.close()
  await snapshots.close()
})

const settings = fuzzSettings(40)
const backends: [string, Coordinate][] = [
  ['postgres', target.coordinate],
  ['cache', cache],
]

describe.each(backends)('generated calls over %s', (label, coordinate) => {
  it(
    'succeed and read back what they wrote, or throw a CoordinateError and change nothing',
    async () => {
      let run = 0
      const property = fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 4 }), async (operations) => {
        const world = await makeWorld(coordinate, target.clock, `fuzz ${label} ${run++}`)
        try {
          for (const operation of operations) {
            const before = await snapshots.take()
            const outcome = await operation.call(world).then(
              (result) => ({ ok: true as const, result }),
              (error: unknown) => ({ ok: false as const, error }),
            )
            if (outcome.ok) {
              await operation.check(world, outcome.result)
              continue
            }
            const { error } = outcome
            if (!(error instanceof CoordinateError)) throw new Error(`${operation.label} threw ${String(error)}`, { cause: error })
            if (error instanceof LostLeaseError) continue
            expect(await snapshots.take(), `${operation.label} failed with ${error.message} but wrote`).toEqual(before)
          }
        } finally {
          await world.namespace.destroy()
        }
      })
      await fc.assert(property, settings)
    },
    fuzzTimeoutMs(settings, 1000),
  )
})
