import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import { ClosedError } from '../../src/coordinate/index.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { countingBackend, deferred } from './support/counting-backend.js'
import { ManualFeed, countListeners } from './support/feed.js'
import { metricValue, openCache } from './support/open-cache.js'

const { coordinate: backend, clock, url } = await openTestCoordinate()

// Any rejection nobody handled, from anywhere in this file, fails the last test.
const unhandled: unknown[] = []
const trap = (reason: unknown) => unhandled.push(reason)
beforeAll(() => {
  process.on('unhandledRejection', trap)
})
afterAll(() => {
  process.off('unhandledRejection', trap)
})

/** Lets pending rejections surface (Node reports them after the microtask queue drains). */
async function drain(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve))
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}

describe('lifecycle', () => {
  it('start and close are idempotent; after close every call fails with ClosedError', async () => {
    const { coordinate } = countingBackend(backend)
    const cache = cacheCoordinate(coordinate, { clock, closeBackend: false, start: false })
    cache.start()
    cache.start()
    const unit = await (await (await cache.namespace('closing')).setWorkSpec({ name: 'spec' })).addWorkUnit('u')
    expect(await unit.status()).toBe('available')
    const first = cache.close()
    expect(cache.close()).toBe(first)
    await first
    await expect(cache.namespace('closing')).rejects.toBeInstanceOf(ClosedError)
    await expect(unit.status()).rejects.toBeInstanceOf(ClosedError)
    expect(() => cache.start()).toThrow(ClosedError)
    // The backend stays open (closeBackend: false).
    expect(await (await backend.namespace('closing')).workSpecNames()).toEqual(['spec'])
  })

  it('closes the backend too by default, as Coordinate.close() promises', async () => {
    const own = await openCoordinate({ clock, leaseSweepMs: 0, ...(url ? { databaseUrl: url } : {}) })
    const cache = cacheCoordinate(own, { clock })
    await cache.namespace('x')
    await cache.close()
    await expect(own.namespace('x')).rejects.toBeInstanceOf(ClosedError)
  })

  it('arms only unref\'d timers, and none once closed', async () => {
    const before = timeouts()
    const cache = cacheCoordinate(countingBackend(backend).coordinate, { clock, closeBackend: false, resyncPeriodMs: 60_000 })
    expect(timeouts()).toBe(before)
    await cache.close()
    expect(timeouts()).toBe(before)
  })

  it('close waits for the cycle in flight', async () => {
    const { cache, log } = openCache(backend, clock)
    const spec = await (await cache.namespace('close-waits')).setWorkSpec({ name: 'spec' })
    await spec.addWorkUnit('u')
    const read = deferred()
    const release = deferred()
    log.after = async (call) => {
      if (call !== 'WorkSpec.workUnitSnapshots') return
      read.resolve()
      await release.promise
    }
    const cycle = cache.refreshNow()
    await read.promise
    let closed = false
    const closing = cache.close().then(() => {
      closed = true
    })
    await drain()
    expect(closed).toBe(false)
    release.resolve()
    await closing
    await cycle
    expect(closed).toBe(true)
    expect(await metricValue(cache.metrics.inFlightEntries)).toBe(0)
  })

  it.runIf(url !== undefined)('subscribes on start and ends its LISTEN connection on close', async () => {
    const own = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 })
    const before = await countListeners(url!)
    const cache = cacheCoordinate(own, { clock, changes: own.changes() })
    await own.changes().ready()
    expect(await countListeners(url!)).toBe(before + 1)
    await cache.close()
    await vi.waitFor(async () => expect(await countListeners(url!)).toBe(before))
  })

  it('never lets a rejection escape: failing backend, timer-driven cycles, resyncs, odd events, close', async () => {
    const { coordinate, log } = countingBackend(backend)
    const feed = new ManualFeed()
    const cache = cacheCoordinate(coordinate, { clock, closeBackend: false, changes: feed, resyncPeriodMs: 1, refreshRatePerSecond: 1000 })
    const spec = await (await cache.namespace('no-unhandled')).setWorkSpec({ name: 'spec' })
    const units = await Promise.all(['a', 'b', 'c'].map((key) => spec.addWorkUnit(key)))
    log.before = (call) => {
      if (call !== 'Namespace.setWorkSpec') throw new Error(`backend down: ${call}`)
    }
    // Timer-driven cycles (every ~1 ms) fail and are counted; the loop carries on, the failed
    // units backing off (on the fake clock) until the clock moves past their backoff.
    await vi.waitFor(async () => expect(await metricValue(cache.metrics.refreshErrors)).toBeGreaterThanOrEqual(1))
    await vi.waitFor(async () => expect(await metricValue(cache.metrics.refreshCycles)).toBeGreaterThanOrEqual(5))
    const errors = await metricValue(cache.metrics.refreshErrors)
    clock.advance(1000)
    await vi.waitFor(async () => expect(await metricValue(cache.metrics.refreshErrors)).toBeGreaterThan(errors))
    // Fire-and-forget cycles from resync events, and events the router cannot make sense of.
    feed.emit({ kind: 'resync' })
    feed.emit({ kind: 'work-units', namespace: 'no-unhandled', workSpec: 'spec', keys: [{} as Uint8Array] })
    feed.emit({ kind: 'work-spec', namespace: 'nope', workSpec: 'nope' })
    feed.emit({ kind: 'namespace', namespace: 'no-unhandled' })
    feed.emit({ kind: 'resync' })
    // Reads fail to their callers, not into the void.
    await expect(units[0]!.status()).rejects.toThrow('backend down')
    await expect(cache.refreshNow()).resolves.toBeUndefined()
    const cycles = await metricValue(cache.metrics.refreshCycles)
    await vi.waitFor(async () => expect(await metricValue(cache.metrics.refreshCycles)).toBeGreaterThan(cycles))
    await cache.close()
    expect(feed.size).toBe(0)
    log.before = undefined
    await drain()
    expect(unhandled).toEqual([])
  })
})
