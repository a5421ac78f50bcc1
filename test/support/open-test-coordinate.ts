import { afterAll } from 'vitest'
import { FakeClock } from '../../src/coordinate/clock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import { createFileDatabase } from './database.js'

/** Opens a Postgres Coordinate on a database of this file's own, closed and dropped after the file. */
export async function openTestCoordinate(clock = new FakeClock()): Promise<{ coordinate: PostgresCoordinate; clock: FakeClock; url: string | undefined }> {
  const database = await createFileDatabase()
  const coordinate = await openCoordinate({ databaseUrl: database.url, clock, leaseSweepMs: 0 })
  afterAll(async () => {
    await coordinate.close()
    await database.drop()
  })
  return { coordinate, clock, url: database.url }
}
