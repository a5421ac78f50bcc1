import { afterAll, expect, it } from 'vitest'
import { FakeClock, SECOND } from '../../src/coordinate/clock.js'
import { openCoordinate } from '../../src/postgres/open.js'

// The daemon's default store is embedded PGlite: one session, where the advisory lock and the
// isolation level are no-ops but must still be accepted.
const clock = new FakeClock()
const coordinate = await openCoordinate({ clock, leaseSweepMs: 0 })
afterAll(() => coordinate.close())

it('locks, conflicts, expires and unlocks on PGlite', async () => {
  const locks = coordinate.locks()
  const results = await Promise.all([locks.lock('a', 10 * SECOND, [['p', 1]]), locks.lock('b', 10 * SECOND, [['p']])])
  expect(results.filter((result) => result.ok)).toHaveLength(1)
  const owner = results[0]!.ok ? 'a' : 'b'
  expect(await locks.readlock([['p', 1], ['p']])).toEqual(owner === 'a' ? ['a', null] : [null, 'b'])
  clock.advance(11 * SECOND)
  expect(await locks.locksome('c', 0, [['p'], ['p', 1]])).toEqual([['p'], null])
  expect(await locks.unlock('c', [['p']])).toEqual({ ok: true, message: null })
  expect(await locks.deleteNamespace('p')).toBe(0)
})
