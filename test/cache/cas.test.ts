import { describe, expect, it } from 'vitest'
import { ConflictError, type DataDict, InvalidInputError } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { metricValue, openCache } from './support/open-cache.js'

const { coordinate: backend, clock } = await openTestCoordinate()

describe('compare-and-swap update()', () => {
  it('writes fn(data) against the version read; the snapshot becomes the new row exactly', async () => {
    const { cache, log } = openCache(backend, clock)
    const unit = await (await (await cache.namespace('cas-basic')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 1 })
    const before = await unit.snapshot()
    log.reset()
    expect(await unit.update((data) => ({ ...data, n: (data.n as number) + 1 }))).toEqual({ n: 2 })
    // One write, no read: the base was the cached snapshot and the result replaced it.
    expect(log.snapshot()).toEqual({ 'WorkUnit.setData': 1 })
    log.reset()
    const after = await unit.snapshot()
    expect(after.version).toBe(before.version + 1)
    expect(after.unitData).toEqual({ n: 2 })
    expect(log.count()).toBe(0)
  })

  it('re-reads and retries on a conflict, then gives up with ConflictError after casRetries', async () => {
    const { cache } = openCache(backend, clock, { casRetries: 3 })
    const unit = await (await (await cache.namespace('cas-conflict')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    const raw = await (await (await backend.namespace('cas-conflict')).workSpec('spec')).workUnit('u')
    await unit.status()
    // A competing writer sneaks in once: the second try lands.
    let calls = 0
    const result = await unit.update(async (data) => {
      if (++calls === 1) await raw.setData({ n: 100 })
      return { n: (data.n as number) + 1 }
    })
    expect(result).toEqual({ n: 101 })
    expect(calls).toBe(2)
    // A competing writer before every try: 1 + 3 retries, then ConflictError.
    calls = 0
    const error = await unit
      .update(async (data) => {
        calls++
        await raw.setData({ n: -calls })
        return { n: (data.n as number) + 1000 }
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConflictError)
    expect(calls).toBe(4)
    // What the cache holds is the competitor's committed write, never ours.
    expect(await unit.data({ fresh: true })).toEqual({ n: -4 })
    expect(await metricValue(cache.metrics.casConflicts)).toBe(5)
  })

  it('leaves the cached value unchanged after a failed write, even if fn edited its argument', async () => {
    const { cache, log } = openCache(backend, clock)
    const unit = await (await (await cache.namespace('cas-failed')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { list: [1] })
    expect(await unit.data()).toEqual({ list: [1] })
    await expect(
      unit.update((data) => {
        ;(data.list as number[]).push(2)
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    await expect(unit.update(() => ({ bad: undefined }) as unknown as DataDict)).rejects.toBeInstanceOf(InvalidInputError)
    log.reset()
    expect(await unit.data()).toEqual({ list: [1] })
    expect(log.count()).toBe(0)
    expect(await unit.data({ fresh: true })).toEqual({ list: [1] })
  })

  it('serialises updates of one key in the process: no conflicts among them', async () => {
    const { cache } = openCache(backend, clock)
    const unit = await (await (await cache.namespace('cas-mutex')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    await Promise.all(Array.from({ length: 20 }, () => unit.update(async (data) => ({ n: (data.n as number) + 1 }))))
    expect(await unit.data({ fresh: true })).toEqual({ n: 20 })
    expect(await metricValue(cache.metrics.casConflicts)).toBe(0)
  })

  it('works on a work spec definition, re-deriving its meta', async () => {
    const { cache } = openCache(backend, clock)
    const spec = await (await cache.namespace('cas-spec')).setWorkSpec({ name: 'spec', priority: 1 })
    await Promise.all(
      Array.from({ length: 5 }, () => spec.update((data) => ({ ...data, priority: (data.priority as number) + 1 }))),
    )
    expect(await spec.data()).toEqual({ name: 'spec', priority: 6 })
    expect((await spec.meta()).priority).toBe(6)
    expect((await spec.meta({ fresh: true })).priority).toBe(6)
  })
})
