import { describe, expect, it } from 'vitest'
import type { WorkSpecProxy } from '../../src/cache/index.js'
import { type ChangeEvent, SECOND } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { deferred } from './support/counting-backend.js'
import { nextEvent } from './support/feed.js'
import { metricValue, openCache } from './support/open-cache.js'

const { coordinate: backend, clock } = await openTestCoordinate()
const SNAPSHOTS = 'WorkSpec.workUnitSnapshots'

/** A spec with `count` units u000…, added behind the cache's back. */
async function seed(namespace: string, spec: string, count: number): Promise<void> {
  const raw = await (await backend.namespace(namespace)).setWorkSpec({ name: spec })
  await raw.addWorkUnits(Array.from({ length: count }, (_, i) => ({ key: `u${String(i).padStart(3, '0')}`, data: { i } })))
}

/** Every unit of the spec, tracked by the cache but with no snapshot yet. */
async function track(spec: WorkSpecProxy): Promise<void> {
  await spec.workUnits()
}

function keysOf(args: unknown[][]): string[][] {
  // Within a batch units come in LRU order; sorted here so tests read plainly.
  return args.map(([keys]) => (keys as Uint8Array[]).map((key) => Buffer.from(key).toString()).sort())
}

/** Whether a unit-change event names the unit `key` (an event without keys names every unit). */
function names(event: ChangeEvent, key: string): boolean {
  return event.kind === 'work-units' && (event.keys === null || event.keys.some((k) => Buffer.from(k).toString() === key))
}

/**
 * Returns once the cache has heard of every change made so far. Completions are announced a
 * moment after they commit, one announcement after another, so one more completion (through the
 * backend, in a namespace the cache holds nothing of) is heard after all of them; a check made
 * before that could see a late event land in its middle.
 */
async function everyChangeHeard(): Promise<void> {
  const ns = await backend.namespace('marker')
  const marker = await ns.setWorkSpec({ name: 'marker' })
  const key = `m${++markers}`
  await marker.addWorkUnit(key)
  const heard = nextEvent(backend.changes(), (e) => e.kind === 'work-units' && e.namespace === 'marker' && names(e, key))
  await (await (await ns.worker('marker')).makeAttempt(await marker.workUnit(key))).finish()
  await heard
}
let markers = 0

describe('auto-refresh loop', () => {
  it('refreshes tracked units with one query per batch, grouped by spec', async () => {
    await seed('batching', 'big', 250)
    await seed('batching', 'small', 30)
    const { cache, log } = openCache(backend, clock, { batchSize: 100 })
    const ns = await cache.namespace('batching')
    const big = await ns.workSpec('big')
    const small = await ns.workSpec('small')
    await track(big)
    await track(small)
    log.reset()
    await cache.refreshNow()
    expect(log.snapshot()).toEqual({ [SNAPSHOTS]: 4 }) // ceil(250/100) + ceil(30/100)
    expect(keysOf(log.args(SNAPSHOTS)).map((keys) => keys.length).sort((a, b) => a - b)).toEqual([30, 50, 100, 100])
    expect(await metricValue(cache.metrics.refreshQueries)).toBe(4)
    // Every unit now reads from its snapshot.
    log.reset()
    const units = await big.workUnits()
    for (const unit of units) expect(await unit.data()).toEqual({ i: Number(unit.name.slice(1)) })
    expect(log.snapshot()).toEqual({ 'WorkSpec.workUnits': 1 })
  })

  it('keeps terminal units out of the fast loop, but notifications still reach them', async () => {
    const { cache, log } = openCache(backend, clock, { changes: backend.changes(), start: true })
    await backend.changes().ready()
    const ns = await cache.namespace('terminal')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const worker = await ns.worker('w')
    for (const key of ['a', 'b', 'c']) await spec.addWorkUnit(key)
    const done = await spec.workUnit('a')
    await (await worker.makeAttempt(done)).finish()
    await (await worker.makeAttempt(await spec.workUnit('b'))).fail()
    await everyChangeHeard()
    expect(await done.status()).toBe('finished')
    expect(await (await spec.workUnit('b')).status()).toBe('failed')
    log.reset()
    await cache.refreshNow()
    expect(keysOf(log.args(SNAPSHOTS))).toEqual([['c']])
    // Another process re-adds the finished unit: the notification drops its snapshot, and it is back in the loop.
    const heard = nextEvent(backend.changes(), (e) => e.kind === 'work-units' && e.workSpec === 'spec' && e.namespace === 'terminal' && names(e, 'a'))
    await (await (await backend.namespace('terminal')).workSpec('spec')).addWorkUnit('a', { again: true })
    await heard
    log.reset()
    await cache.refreshNow()
    expect(keysOf(log.args(SNAPSHOTS))).toEqual([['a', 'c']])
    expect(await done.status()).toBe('available')
    expect(await done.data()).toEqual({ again: true })
  })

  it('marks every unit of every batch in flight before the first query, batch heads included', async () => {
    await seed('in-flight', 'spec', 3)
    const { cache, log } = openCache(backend, clock, { batchSize: 1, parallelism: 1 })
    await track(await (await cache.namespace('in-flight')).workSpec('spec'))
    const gate = deferred()
    const called = deferred()
    log.before = async (call) => {
      if (call !== SNAPSHOTS) return
      called.resolve()
      await gate.promise
    }
    const cycle = cache.refreshNow()
    await called.promise
    expect(await metricValue(cache.metrics.inFlightEntries)).toBe(3)
    gate.resolve()
    await cycle
    log.before = undefined
    expect(await metricValue(cache.metrics.inFlightEntries)).toBe(0)
    expect(log.count(SNAPSHOTS)).toBe(3)
  })

  it('runs at most `parallelism` batch queries at once', async () => {
    await seed('parallel', 'spec', 12)
    const { cache, log } = openCache(backend, clock, { batchSize: 1, parallelism: 3 })
    await track(await (await cache.namespace('parallel')).workSpec('spec'))
    let running = 0
    let most = 0
    log.before = (call) => {
      if (call !== SNAPSHOTS) return
      running++
      most = Math.max(most, running)
    }
    log.after = (call) => {
      if (call === SNAPSHOTS) running--
    }
    await cache.refreshNow()
    log.before = log.after = undefined
    expect(log.count(SNAPSHOTS)).toBe(12)
    expect(most).toBe(3)
  })

  it('takes a token per batch from the global rate limit', async () => {
    await seed('rate', 'spec', 15)
    const { cache } = openCache(backend, clock, { batchSize: 1, parallelism: 15, refreshRatePerSecond: 10 })
    await track(await (await cache.namespace('rate')).workSpec('spec'))
    const started = performance.now()
    await cache.refreshNow()
    // Ten tokens of burst, then one every 100 ms for the other five.
    expect(performance.now() - started).toBeGreaterThanOrEqual(400)
    expect(await metricValue(cache.metrics.refreshQueries)).toBe(15)
  })

  it('backs a failing name off exponentially with jitter, and never requeues it within a cycle', async () => {
    await seed('backoff', 'bad', 2)
    await seed('backoff', 'good', 1)
    const { cache, log } = openCache(backend, clock, { maxBackoffMs: 60 * SECOND })
    const ns = await cache.namespace('backoff')
    const bad = await ns.workSpec('bad')
    await track(bad)
    await track(await ns.workSpec('good'))
    let failing = true
    log.before = (_call, args) => {
      const keys = args[0] as Uint8Array[] | undefined
      if (failing && _call === SNAPSHOTS && keys?.length === 2) throw new Error('database hiccup')
    }
    const cycleKeys = async () => {
      log.reset()
      await cache.refreshNow()
      return keysOf(log.args(SNAPSHOTS)).map((keys) => keys.join(',')).sort()
    }
    expect(await cycleKeys()).toEqual(['u000', 'u000,u001'])
    expect(await metricValue(cache.metrics.refreshErrors)).toBe(1)
    // In backoff: skipped, however often cycles run.
    expect(await cycleKeys()).toEqual(['u000'])
    expect(await cycleKeys()).toEqual(['u000'])
    // One failure waits 0.5–1 s.
    clock.advance(1000)
    expect(await cycleKeys()).toEqual(['u000', 'u000,u001'])
    // Two failures wait 1–2 s.
    clock.advance(900)
    expect(await cycleKeys()).toEqual(['u000'])
    clock.advance(1100)
    failing = false
    expect(await cycleKeys()).toEqual(['u000', 'u000,u001'])
    // Success resets the backoff.
    expect(await cycleKeys()).toEqual(['u000', 'u000,u001'])
    expect(await metricValue(cache.metrics.refreshErrors)).toBe(2)
    log.before = undefined
  })

  it('never lets a refresh result overwrite a newer local write', async () => {
    await seed('lost-update', 'spec', 1)
    const { cache, log } = openCache(backend, clock)
    const spec = await (await cache.namespace('lost-update')).workSpec('spec')
    const unit = await spec.workUnit('u000')
    expect(await unit.data()).toEqual({ i: 0 })
    // The batch reads the row, then its result is held back while a local write lands.
    const read = deferred()
    const release = deferred()
    log.after = async (call) => {
      if (call !== SNAPSHOTS) return
      read.resolve()
      await release.promise
    }
    const cycle = cache.refreshNow()
    await read.promise
    await unit.setData({ i: 'local' })
    release.resolve()
    await cycle
    log.after = undefined
    log.reset()
    expect(await unit.data()).toEqual({ i: 'local' })
    expect(log.count()).toBe(0)

    // Same with a write that only invalidates (an attempt), then a stale result.
    const worker = await (await cache.namespace('lost-update')).worker('w')
    const read2 = deferred()
    const release2 = deferred()
    log.after = async (call) => {
      if (call !== SNAPSHOTS) return
      read2.resolve()
      await release2.promise
    }
    const cycle2 = cache.refreshNow()
    await read2.promise
    await worker.makeAttempt(unit)
    release2.resolve()
    await cycle2
    log.after = undefined
    expect(await unit.status()).toBe('pending')
  })

  it('forget drops the entry at the next cycle, but not a name re-added meanwhile', async () => {
    const { cache } = openCache(backend, clock)
    const ns = await cache.namespace('forget')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const kept = await spec.addWorkUnit('kept', { v: 1 })
    const dropped = await spec.addWorkUnit('dropped', { v: 1 })
    spec.forget('kept')
    spec.forget('dropped')
    // Still served until the cycle runs.
    expect(await spec.workUnit('dropped')).toBe(dropped)
    spec.forget('dropped')
    await spec.addWorkUnit('kept', { v: 2 })
    const tracked = await metricValue(cache.metrics.trackedEntries, { level: 'work_unit' })
    await cache.refreshNow()
    expect(await metricValue(cache.metrics.trackedEntries, { level: 'work_unit' })).toBe(tracked - 1)
    expect(await spec.workUnit('kept')).toBe(kept)
    expect(await kept.data()).toEqual({ v: 2 })
    const again = await spec.workUnit('dropped')
    expect(again).not.toBe(dropped)
    expect(await again.data()).toEqual({ v: 1 })
    // The dropped proxy still works by name, reading the database.
    expect(await dropped.data()).toEqual({ v: 1 })
  })

  it('a unit deleted behind the cache is marked missing and left out of later cycles', async () => {
    await seed('missing', 'spec', 2)
    const { cache, log } = openCache(backend, clock)
    const spec = await (await cache.namespace('missing')).workSpec('spec')
    await track(spec)
    const gone = await spec.workUnit('u001')
    await (await (await backend.namespace('missing')).workSpec('spec')).deleteWorkUnits({ names: ['u001'] })
    await cache.refreshNow()
    log.reset()
    await cache.refreshNow()
    expect(keysOf(log.args(SNAPSHOTS))).toEqual([['u000']])
    await expect(gone.status()).rejects.toThrow('no longer exists')
  })
})

describe('auto-refresh loop and destroyed specs', () => {
  it('treats the units of a destroyed spec as missing, not as failures', async () => {
    await seed('destroyed', 'spec', 3)
    const { cache, log } = openCache(backend, clock)
    const ns = await cache.namespace('destroyed')
    await track(await ns.workSpec('spec'))
    await ns.destroyWorkSpec('spec')
    await cache.refreshNow()
    expect(await metricValue(cache.metrics.refreshErrors)).toBe(0)
    log.reset()
    await cache.refreshNow()
    expect(log.count(SNAPSHOTS)).toBe(0)
    // Re-created, the names come back into the loop on their next lookup.
    await seed('destroyed', 'spec', 3)
    const unit = await (await ns.workSpec('spec')).workUnit('u002')
    expect(await unit.data()).toEqual({ i: 2 })
  })
})
