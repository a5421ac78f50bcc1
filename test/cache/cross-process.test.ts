import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import type { DataDict } from '../../src/coordinate/index.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { countingBackend, deferred } from './support/counting-backend.js'
import { killListeners, nextEvent, silentSetUnitData } from './support/feed.js'
import { metricValue } from './support/open-cache.js'

const { coordinate: backendA, clock, url } = await openTestCoordinate()

// Two caches, each on a Coordinate of its own (its own pool and LISTEN connection), stand in
// for two processes. PGlite (the fallback without a server) has a single session, so no.
describe.runIf(url !== undefined)('two caches on separate connections', async () => {
  const backendB = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 })
  const counted = countingBackend(backendB)
  const cacheA = cacheCoordinate(backendA, { clock, changes: backendA.changes(), closeBackend: false })
  const cacheB = cacheCoordinate(counted.coordinate, { clock, changes: backendB.changes(), closeBackend: false })
  // The same second process with its notifications off: only the refresh loop keeps it current.
  const quiet = countingBackend(backendB)
  const cacheC = cacheCoordinate(quiet.coordinate, { clock, closeBackend: false })
  afterAll(async () => {
    await Promise.all([cacheA.close(), cacheB.close(), cacheC.close()])
    await backendB.close()
  })
  await backendA.changes().ready()
  await backendB.changes().ready()

  const unitsChanged = (namespace: string) => (e: { kind: string; namespace?: string }) => e.kind === 'work-units' && e.namespace === namespace

  it('sees a write of the other through the notification path, without polling', async () => {
    const specA = await (await cacheA.namespace('notify')).setWorkSpec({ name: 'spec' })
    const unitA = await specA.addWorkUnit('u', { v: 1 })
    const unitB = await (await (await cacheB.namespace('notify')).workSpec('spec')).workUnit('u')
    expect(await unitB.data()).toEqual({ v: 1 })

    let heard = nextEvent(backendB.changes(), unitsChanged('notify'))
    await unitA.setData({ v: 2 })
    await heard
    expect(await unitB.data()).toEqual({ v: 2 })

    // A claim in A shows as pending in B; the finish as finished.
    heard = nextEvent(backendB.changes(), unitsChanged('notify'))
    const [attempt] = await (await (await cacheA.namespace('notify')).worker('w')).requestAttempts()
    await heard
    expect(await unitB.status()).toBe('pending')
    heard = nextEvent(backendB.changes(), unitsChanged('notify'))
    await attempt!.finish({ result: 'ok' })
    await heard
    expect(await unitB.status()).toBe('finished')
    expect(await unitB.data()).toEqual({ result: 'ok' })

    // Spec changes too.
    const specB = await (await cacheB.namespace('notify')).workSpec('spec')
    expect((await specB.meta()).priority).toBe(0)
    const specHeard = nextEvent(backendB.changes(), (e) => e.kind === 'work-spec' && e.namespace === 'notify')
    await specA.setData({ name: 'spec', priority: 8 })
    await specHeard
    expect((await specB.meta()).priority).toBe(8)
    expect(await metricValue(cacheB.metrics.notifications, { kind: 'work-units' })).toBeGreaterThanOrEqual(3)
  })

  it('without notifications, sees the write within one resync period', async () => {
    const unitA = await (await (await cacheA.namespace('quiet')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { v: 1 })
    const unitC = await (await (await cacheC.namespace('quiet')).workSpec('spec')).workUnit('u')
    expect(await unitC.data()).toEqual({ v: 1 })
    await unitA.setData({ v: 2 })
    // Within the period the cached snapshot may still be served: the contract allows it.
    quiet.log.reset()
    expect(await unitC.data()).toEqual({ v: 1 })
    expect(quiet.log.count()).toBe(0)
    // One period later the refresh loop has caught up: one batch query, and the read is a hit.
    clock.advance(30_000)
    await cacheC.refreshNow()
    expect(quiet.log.count('WorkSpec.workUnitSnapshots')).toBe(1)
    quiet.log.reset()
    expect(await unitC.data()).toEqual({ v: 2 })
    expect(quiet.log.count()).toBe(0)
  })

  it('after its listener is killed, reconnects and catches up through the generation', async () => {
    // B hears of the add first: a notification still on its way would make B read again later.
    const added = nextEvent(backendB.changes(), unitsChanged('resync'))
    await (await (await cacheA.namespace('resync')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { v: 'before' })
    await added
    const unitB = await (await (await cacheB.namespace('resync')).workSpec('spec')).workUnit('u')
    expect(await unitB.data()).toEqual({ v: 'before' })
    // A write whose notification is lost: B keeps serving what it has.
    await silentSetUnitData(url!, 'resync', 'spec', 'u', { v: 'missed' })
    counted.log.reset()
    expect(await unitB.data()).toEqual({ v: 'before' })
    expect(counted.log.count()).toBe(0)

    const resync = nextEvent(backendB.changes(), (e) => e.kind === 'resync')
    expect(await killListeners(url!)).toBeGreaterThanOrEqual(2)
    await resync
    // The reconnect started a new generation and a revalidation cycle: batch queries, by version.
    await cacheB.idle()
    expect(counted.log.count('WorkSpec.workUnitSnapshots')).toBeGreaterThanOrEqual(1)
    counted.log.reset()
    expect(await unitB.data()).toEqual({ v: 'missed' })
    expect(counted.log.count()).toBe(0)
    expect(await metricValue(cacheB.metrics.notifications, { kind: 'resync' })).toBe(1)

    // And the reconnected listener works again.
    await backendB.changes().ready()
    const heard = nextEvent(backendB.changes(), unitsChanged('resync'))
    await (await (await (await cacheA.namespace('resync')).workSpec('spec')).workUnit('u')).setData({ v: 'after' })
    await heard
    expect(await unitB.data()).toEqual({ v: 'after' })
  })

  it('two concurrent compare-and-swap writers both land', async () => {
    const unitA = await (await (await cacheA.namespace('cas')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    const unitB = await (await (await cacheB.namespace('cas')).workSpec('spec')).workUnit('u')
    expect(await unitA.data()).toEqual({ n: 0 })
    expect(await unitB.data()).toEqual({ n: 0 })
    // Both read version v before either writes, so exactly one of them conflicts and retries.
    const bothRead = deferred()
    let reads = 0
    const increment = (who: string) => async (data: DataDict) => {
      if (++reads === 2) bothRead.resolve()
      await bothRead.promise
      return { ...data, n: (data.n as number) + 1, [who]: true }
    }
    await Promise.all([unitA.update(increment('a')), unitB.update(increment('b'))])
    expect(await unitA.data({ fresh: true })).toEqual({ n: 2, a: true, b: true })
    const conflicts = (await metricValue(cacheA.metrics.casConflicts)) + (await metricValue(cacheB.metrics.casConflicts))
    expect(conflicts).toBe(1)
    expect(reads).toBe(3)
  })

  it('many writers in both caches: every increment lands', async () => {
    // Sustained contention may legitimately exhaust the default 5 retries (ConflictError); here
    // the point is that no increment is ever lost, so the caches get room to retry.
    const roomyA = cacheCoordinate(backendA, { clock, closeBackend: false, casRetries: 100 })
    const roomyB = cacheCoordinate(backendB, { clock, closeBackend: false, casRetries: 100 })
    onTestFinished(() => Promise.all([roomyA.close(), roomyB.close()]).then(() => undefined))
    const unitA = await (await (await roomyA.namespace('cas-many')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    const unitB = await (await (await roomyB.namespace('cas-many')).workSpec('spec')).workUnit('u')
    const bump = (data: DataDict) => ({ n: (data.n as number) + 1 })
    await Promise.all([
      ...Array.from({ length: 10 }, () => unitA.update(bump)),
      ...Array.from({ length: 10 }, () => unitB.update(bump)),
    ])
    expect(await unitB.data({ fresh: true })).toEqual({ n: 20 })
    // These caches have no feed: A's snapshot is only as current as A's own last write.
    expect(await unitA.data({ fresh: true })).toEqual({ n: 20 })
  })
})
