import { describe, expect, it } from 'vitest'
import { NoSuchWorkSpecError, NoSuchWorkUnitError } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { nextEvent } from './support/feed.js'
import { metricValue, openCache } from './support/open-cache.js'

const { coordinate: backend, clock } = await openTestCoordinate()

// go-coordinate's cache/cache_test.go, over Postgres.
describe("go-coordinate's cache tests", () => {
  it('a destroyed namespace re-creates itself, empty (TestNamespaceDeletion)', async () => {
    const { cache } = openCache(backend, clock)
    const ns = await cache.namespace('TestNamespaceDeletion')
    await ns.setWorkSpec({ name: 'spec' })
    await ns.destroy()
    const error = await ns.workSpec('spec').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoSuchWorkSpecError)
    expect((error as NoSuchWorkSpecError).workSpecName).toBe('spec')
    expect(await cache.namespace('TestNamespaceDeletion')).toBe(ns)
  })

  it('the old spec proxy follows the re-created spec (TestWorkSpecDeletion)', async () => {
    const { cache } = openCache(backend, clock)
    const ns = await cache.namespace('TestWorkSpecDeletion')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnit('unit')
    await ns.destroyWorkSpec('spec')
    await ns.setWorkSpec({ name: 'spec' })
    expect(await spec.workUnits({})).toEqual([])
    expect(await ns.workSpec('spec')).toBe(spec)
  })

  it('the same, through destroying the namespace (TestWorkSpecDeleteNamespace)', async () => {
    const { cache } = openCache(backend, clock)
    const ns = await cache.namespace('TestWorkSpecDeleteNamespace')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnit('unit')
    await ns.destroy()
    await ns.setWorkSpec({ name: 'spec' })
    expect(await spec.workUnits({})).toEqual([])
  })

  it('the cached unit follows a unit re-created behind the cache (notification) (TestWorkUnitDeletion)', async () => {
    const { cache } = openCache(backend, clock, { changes: backend.changes(), start: true })
    await backend.changes().ready()
    const spec = await (await cache.namespace('TestWorkUnitDeletion')).setWorkSpec({ name: 'spec' })
    const unit = await spec.addWorkUnit('unit')
    expect(await unit.data()).toEqual({})
    const heard = nextEvent(backend.changes(), (e) => e.kind === 'work-units' && e.namespace === 'TestWorkUnitDeletion' && e.keys !== null)
    const raw = await (await backend.namespace('TestWorkUnitDeletion')).workSpec('spec')
    await raw.deleteWorkUnits({})
    await raw.addWorkUnit('unit', { k: 'v' })
    await heard
    await heard
    expect(await unit.data()).toHaveProperty('k', 'v')
  })

  it('without notifications, the cached unit follows once its snapshot ages out (TestWorkUnitDeletion)', async () => {
    const { cache } = openCache(backend, clock)
    const spec = await (await cache.namespace('TestWorkUnitDeletion-quiet')).setWorkSpec({ name: 'spec' })
    const unit = await spec.addWorkUnit('unit')
    expect(await unit.data()).toEqual({})
    const raw = await (await backend.namespace('TestWorkUnitDeletion-quiet')).workSpec('spec')
    await raw.deleteWorkUnits({})
    await raw.addWorkUnit('unit', { k: 'v' })
    clock.advance(30_000)
    await cache.refreshNow()
    expect(await unit.data()).toHaveProperty('k', 'v')
  })

  it('children set up behind the cache come back as the cached proxies (TestWorkerChildren)', async () => {
    const raw = await backend.namespace('TestWorkerChildren')
    await (await raw.worker('child')).setParent(await raw.worker('parent'))
    const { cache } = openCache(backend, clock)
    const ns = await cache.namespace('TestWorkerChildren')
    const children = await (await ns.worker('parent')).children()
    expect(children.map((w) => w.name)).toEqual(['child'])
    expect(children[0]).toBe(await ns.worker('child'))
    expect(await (await ns.worker('child')).parent()).toBe(await ns.worker('parent'))
  })
})

// go-coordinate's cache/lru_test.go, as the work unit level with capacity 2.
describe('LRU limits', () => {
  async function setup(name: string) {
    const raw = await (await backend.namespace(name)).setWorkSpec({ name: 'spec' })
    await raw.addWorkUnits(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((key) => ({ key })))
    const { cache, log } = openCache(backend, clock, { limits: { workUnits: 2 } })
    const spec = await (await cache.namespace(name)).workSpec('spec')
    return { cache, log, spec }
  }

  it('a third entry evicts the least recently used (TestLRUAutoInsert)', async () => {
    const { cache, spec } = await setup('lru-auto')
    const a = await spec.workUnit('a')
    const b = await spec.workUnit('b')
    await spec.workUnit('c')
    expect(await spec.workUnit('b')).toBe(b)
    expect(await spec.workUnit('a')).not.toBe(a)
    expect(await metricValue(cache.metrics.evictions, { level: 'work_unit' })).toBe(2)
  })

  it('using an entry makes it recent (TestLRUOrder)', async () => {
    const { spec } = await setup('lru-order')
    const a = await spec.workUnit('a')
    const b = await spec.workUnit('b')
    await a.status()
    await spec.workUnit('c')
    expect(await spec.workUnit('a')).toBe(a)
    expect(await spec.workUnit('b')).not.toBe(b)
  })

  it('a failed lookup inserts nothing and evicts nothing (TestLRUInsertError)', async () => {
    const { cache, spec } = await setup('lru-error')
    const a = await spec.workUnit('a')
    const b = await spec.workUnit('b')
    await expect(spec.workUnit('missing')).rejects.toBeInstanceOf(NoSuchWorkUnitError)
    expect(await spec.workUnit('a')).toBe(a)
    expect(await spec.workUnit('b')).toBe(b)
    expect(await metricValue(cache.metrics.evictions, { level: 'work_unit' })).toBe(0)
  })

  it('a forgotten entry leaves room, so the older one survives the next insert (TestLRURemoval)', async () => {
    const { cache, spec } = await setup('lru-removal')
    const a = await spec.workUnit('a')
    await spec.workUnit('b')
    spec.forget('b')
    await cache.refreshNow()
    await spec.workUnit('c')
    expect(await spec.workUnit('a')).toBe(a)
  })

  it('capacity 2 with 10 names: exactly 8 evicted, the two most recent kept, and evicted proxies still work', async () => {
    const { cache, spec, log } = await setup('lru-capacity')
    const units = []
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']) units.push(await spec.workUnit(key))
    expect(await metricValue(cache.metrics.evictions, { level: 'work_unit' })).toBe(8)
    expect(await metricValue(cache.metrics.trackedEntries, { level: 'work_unit' })).toBe(2)
    log.reset()
    expect(await spec.workUnit('i')).toBe(units[8])
    expect(await spec.workUnit('j')).toBe(units[9])
    expect(log.count()).toBe(0)
    // An evicted proxy is detached: it reads the database by name and never serves a stale snapshot.
    expect(await units[0]!.status()).toBe('available')
    expect(log.count('WorkSpec.workUnitSnapshots')).toBe(1)
  })

  it('evicting a spec takes its units along', async () => {
    const { cache } = openCache(backend, clock, { limits: { workSpecs: 1 } })
    const ns = await cache.namespace('lru-spec')
    const one = await ns.setWorkSpec({ name: 'one' })
    await one.addWorkUnit('u')
    expect(await metricValue(cache.metrics.trackedEntries, { level: 'work_unit' })).toBe(1)
    await ns.setWorkSpec({ name: 'two' })
    expect(await metricValue(cache.metrics.trackedEntries, { level: 'work_spec' })).toBe(1)
    expect(await metricValue(cache.metrics.trackedEntries, { level: 'work_unit' })).toBe(0)
    expect(await ns.workSpec('one')).not.toBe(one)
  })
})
