import { afterAll, describe, expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// Two PostgresCoordinates on one database stand for two coordinated daemons: go kept locks in
// each process, so they could both hand out the same lock; here the database decides.
const first = await openTestCoordinate()
const url = first.url
const second = url ? await openCoordinate({ databaseUrl: url, clock: first.clock, leaseSweepMs: 0 }) : undefined
afterAll(async () => {
  await second?.close()
})

// PGlite in memory is one process's database: there is no second daemon to agree with.
describe.skipIf(second === undefined)('two daemons on one database', () => {
  const one = first.coordinate.locks()
  const two = second!.locks()

  it('refuses through one a lock taken through the other', async () => {
    expect(await one.lock('daemon-1', 0, [['shared', 'a']])).toEqual({ ok: true, message: null })
    expect(await two.lock('daemon-2', 0, [['shared']])).toEqual({ ok: false, message: '[shared] is not lockable' })
    expect(await two.readlock([['shared', 'a']])).toEqual(['daemon-1'])
    expect((await two.unlock('daemon-2', [['shared', 'a']])).ok).toBe(false)
    expect((await one.unlock('daemon-1', [['shared', 'a']])).ok).toBe(true)
    expect((await two.lock('daemon-2', 0, [['shared']])).ok).toBe(true)
  })

  it('sees the other daemon renew and expire with the same clock', async () => {
    await one.lock('daemon-1', 10 * SECOND, [['renewed']])
    first.clock.advance(8 * SECOND)
    expect((await two.renew('daemon-1', 10 * SECOND, [['renewed']])).ok).toBe(true)
    first.clock.advance(8 * SECOND)
    expect(await one.readlock([['renewed']])).toEqual(['daemon-1'])
    first.clock.advance(3 * SECOND)
    expect((await two.lock('daemon-2', 0, [['renewed']])).ok).toBe(true)
  })

  it('lets exactly one of many concurrent attempts on the same path win', async () => {
    for (let round = 0; round < 20; round++) {
      const path = [['race', round]]
      const attempts = await Promise.all([
        one.lock('daemon-1a', 0, path),
        two.lock('daemon-2a', 0, path),
        one.lock('daemon-1b', 0, path),
        two.lock('daemon-2b', 0, path),
      ])
      expect(attempts.filter((result) => result.ok)).toHaveLength(1)
    }
  })

  it('never hands out overlapping locks to concurrent parents and children', async () => {
    for (let round = 0; round < 20; round++) {
      const [parent, child, some] = await Promise.all([
        one.lock('parent', 0, [['tree', round]]),
        two.lock('child', 0, [['tree', round, 'leaf']]),
        two.locksome('some', 0, [['tree', round, 'leaf']]),
      ])
      const winners = [parent.ok, child.ok, some[0] !== null].filter(Boolean)
      expect(winners).toHaveLength(1)
    }
  })
})
