import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import { SECOND } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { countingBackend } from './support/counting-backend.js'
import { ManualFeed } from './support/feed.js'
import { metricValue } from './support/open-cache.js'

const { coordinate: backend, clock } = await openTestCoordinate()

describe('metrics', () => {
  it('counts hits, misses, evictions, refreshes, notifications and conflicts on the registry given', async () => {
    const registry = new Registry()
    const feed = new ManualFeed()
    const { coordinate, log } = countingBackend(backend)
    const cache = cacheCoordinate(coordinate, {
      clock,
      closeBackend: false,
      start: false,
      changes: feed,
      metricsRegistry: registry,
      limits: { workUnits: 3 },
    })
    cache.start()
    const m = cache.metrics
    expect(m.registry).toBe(registry)

    const ns = await cache.namespace('metrics')
    await cache.namespace('metrics')
    expect(await metricValue(m.misses, { level: 'namespace', op: 'lookup' })).toBe(1)
    expect(await metricValue(m.hits, { level: 'namespace', op: 'lookup' })).toBe(1)

    const spec = await ns.setWorkSpec({ name: 'spec' })
    for (const key of ['a', 'b', 'c', 'd']) await spec.addWorkUnit(key, { key })
    expect(await metricValue(m.evictions, { level: 'work_unit' })).toBe(1)
    expect(await metricValue(m.trackedEntries, { level: 'work_unit' })).toBe(3)
    expect(await metricValue(m.trackedEntries, { level: 'work_spec' })).toBe(1)
    expect(await metricValue(m.trackedEntries, { level: 'namespace' })).toBe(1)

    const d = await spec.workUnit('d') // lookup miss: addWorkUnit left no snapshot
    await d.status() // hit
    await d.data() // hit
    await spec.workUnit('d') // lookup hit
    expect(await metricValue(m.misses, { level: 'work_unit', op: 'lookup' })).toBe(1)
    expect(await metricValue(m.hits, { level: 'work_unit', op: 'lookup' })).toBe(1)
    expect(await metricValue(m.hits, { level: 'work_unit', op: 'read' })).toBe(2)
    await (await spec.workUnit('c')).status()
    await spec.meta()
    await spec.meta()
    expect(await metricValue(m.misses, { level: 'work_spec', op: 'read' })).toBe(1)
    expect(await metricValue(m.hits, { level: 'work_spec', op: 'read' })).toBe(1)

    // Refresh: one query for the three tracked units, its latency observed.
    log.reset()
    await cache.refreshNow()
    expect(log.count('WorkSpec.workUnitSnapshots')).toBe(1)
    expect(await metricValue(m.refreshQueries)).toBe(1)
    expect(await metricValue(m.refreshCycles)).toBe(1)
    const latency = await m.refreshLatency.get()
    expect(latency.values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1)
    expect(await metricValue(m.inFlightEntries)).toBe(0)

    // A failing refresh is counted.
    log.before = (call) => {
      if (call === 'WorkSpec.workUnitSnapshots') throw new Error('down')
    }
    feed.emit({ kind: 'work-units', namespace: 'metrics', workSpec: 'spec', keys: null })
    await cache.refreshNow()
    log.before = undefined
    expect(await metricValue(m.refreshErrors)).toBe(1)
    expect(await metricValue(m.notifications, { kind: 'work-units' })).toBe(1)
    feed.emit({ kind: 'work-spec', namespace: 'metrics', workSpec: 'spec' })
    feed.emit({ kind: 'resync' })
    await cache.idle()
    expect(await metricValue(m.notifications, { kind: 'work-spec' })).toBe(1)
    expect(await metricValue(m.notifications, { kind: 'resync' })).toBe(1)

    // Staleness: the oldest snapshot's age, on the cache's clock.
    await d.status({ fresh: true })
    clock.advance(10 * SECOND)
    expect(await metricValue(m.oldestSnapshotAge)).toBeCloseTo(10, 0)

    // A compare-and-swap conflict.
    const raw = await (await (await backend.namespace('metrics')).workSpec('spec')).workUnit('d')
    let first = true
    await d.update(async (data) => {
      if (first) await raw.setData({ sneaky: true })
      first = false
      return { ...data, n: 1 }
    })
    expect(await metricValue(m.casConflicts)).toBe(1)

    const text = await registry.metrics()
    for (const name of [
      'hits_total',
      'misses_total',
      'evictions_total',
      'refresh_queries_total',
      'refresh_errors_total',
      'refresh_latency_seconds',
      'tracked_entries',
      'in_flight_entries',
      'notifications_total',
      'oldest_snapshot_age_seconds',
    ]) {
      expect(text).toContain(`coordinate_cache_${name}`)
    }
    await cache.close()
  })

  it('puts two caches on one registry under two prefixes', async () => {
    const registry = new Registry()
    const one = cacheCoordinate(backend, { clock, closeBackend: false, metricsRegistry: registry })
    const two = cacheCoordinate(backend, { clock, closeBackend: false, metricsRegistry: registry, metricsPrefix: 'other_cache_' })
    await one.namespace('one')
    await two.namespace('two')
    const text = await registry.metrics()
    expect(text).toContain('coordinate_cache_misses_total{level="namespace",op="lookup"} 1')
    expect(text).toContain('other_cache_misses_total{level="namespace",op="lookup"} 1')
    expect(() => cacheCoordinate(backend, { clock, closeBackend: false, metricsRegistry: registry })).toThrow()
    await Promise.all([one.close(), two.close()])
  })
})
