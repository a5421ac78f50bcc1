import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/coordinate/change-feed.js'
import { InvalidInputError, NoSuchWorkSpecError } from '../../src/coordinate/errors.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

describe('openCoordinate options', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()

  it('refuses a schema name that could not name a notification channel', async () => {
    await expect(openCoordinate({ databaseUrl: url, schema: 'Bad-Name' })).rejects.toBeInstanceOf(InvalidInputError)
  })

  // PGlite in memory is a database per Coordinate, so there is no second schema to share it with.
  it.runIf(url !== undefined)('keeps two schemas on one database apart', async () => {
    const other = await openCoordinate({ databaseUrl: url, clock, schema: 'elsewhere', leaseSweepMs: 0 })
    try {
      await (await other.namespace('shared-name')).setWorkSpec({ name: 'only-there' })
      await expect((await coordinate.namespace('shared-name')).workSpec('only-there')).rejects.toBeInstanceOf(NoSuchWorkSpecError)
      expect(await (await other.namespace('shared-name')).workSpecNames()).toEqual(['only-there'])
    } finally {
      await other.close()
    }
  })

  it.runIf(url !== undefined)('notify: false sends no change notifications for that pool\'s writes', async () => {
    const quiet = await openCoordinate({ databaseUrl: url, clock, notify: false, leaseSweepMs: 0 })
    try {
      const seen: ChangeEvent[] = []
      let marker!: () => void
      const markerSeen = new Promise<void>((resolve) => (marker = resolve))
      const stop = coordinate.changes().subscribe((event) => {
        seen.push(event)
        if (event.kind === 'work-spec' && event.workSpec === 'loud') marker()
      })
      await coordinate.changes().ready()
      const quietSpec = await (await quiet.namespace('notify-off')).setWorkSpec({ name: 'quiet' })
      await quietSpec.addWorkUnit('silent')
      // Notifications arrive in commit order, so once the loud write is heard the quiet ones
      // would have been heard before it.
      await (await coordinate.namespace('notify-off')).setWorkSpec({ name: 'loud' })
      await markerSeen
      stop()
      expect(seen.filter((e) => 'workSpec' in e && e.workSpec === 'quiet')).toEqual([])
      expect(seen.some((e) => e.kind === 'work-spec' && e.workSpec === 'loud')).toBe(true)
    } finally {
      await quiet.close()
    }
  })
})
