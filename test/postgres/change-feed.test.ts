import pg from 'pg'
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/coordinate/change-feed.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

/** Resolves with the first event that `match` accepts. */
function nextEvent(feed: { subscribe(l: (e: ChangeEvent) => void): () => void }, match: (e: ChangeEvent) => boolean): Promise<ChangeEvent> {
  return new Promise((resolve) => {
    const stop = feed.subscribe((event) => {
      if (match(event)) {
        stop()
        resolve(event)
      }
    })
  })
}

describe('change feed', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()

  it('announces unit writes of another Coordinate on the same database, after commit', async () => {
    const other = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 }) : coordinate
    try {
      const feed = coordinate.changes()
      const keepOpen = feed.subscribe(() => undefined)
      await feed.ready()
      const heard = nextEvent(feed, (e) => e.kind === 'work-units' && e.workSpec === 'feed')
      const ns = await other.namespace('feed-ns')
      const spec = await ns.setWorkSpec({ name: 'feed' })
      await spec.addWorkUnit('k1', { a: 1 })
      const event = await heard
      expect(event).toEqual({ kind: 'work-units', namespace: 'feed-ns', workSpec: 'feed', keys: [new Uint8Array(Buffer.from('k1'))] })
      const specHeard = nextEvent(feed, (e) => e.kind === 'work-spec')
      await spec.setData({ name: 'feed', priority: 3 })
      expect(await specHeard).toEqual({ kind: 'work-spec', namespace: 'feed-ns', workSpec: 'feed' })
      const many = nextEvent(feed, (e) => e.kind === 'work-units' && e.keys === null)
      await spec.addWorkUnits(Array.from({ length: 200 }, (_, i) => ({ key: `bulk${i}` })))
      expect(await many).toMatchObject({ kind: 'work-units', workSpec: 'feed', keys: null })
      keepOpen()
    } finally {
      if (other !== coordinate) await other.close()
    }
  })

  // PGlite (the fallback when no server is reachable) has no backend process to kill.
  it.runIf(url !== undefined)('reconnects after its backend is killed and asks for a resync', async () => {
    const feed = coordinate.changes()
    const keepOpen = feed.subscribe(() => undefined)
    await feed.ready()
    const resync = nextEvent(feed, (e) => e.kind === 'resync')
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const { rowCount } = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coordinate-listen' AND datname = current_database()",
    )
    await admin.end()
    expect(rowCount).toBeGreaterThanOrEqual(1)
    expect(await resync).toEqual({ kind: 'resync' })
    const heard = nextEvent(feed, (e) => e.kind === 'work-units' && e.workSpec === 'after')
    const spec = await (await coordinate.namespace('feed-ns2')).setWorkSpec({ name: 'after' })
    await spec.addWorkUnit('x')
    expect((await heard).kind).toBe('work-units')
    keepOpen()
  })
})
