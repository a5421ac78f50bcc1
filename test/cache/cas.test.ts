import { describe, expect, it } from 'vitest'
import { ConflictError, type DataDict, InvalidInputError } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { metricValue, openCache } from './support/open-cache.js'
import { casUpdate } from '../../src/cache/cas-update.js'

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

  it('after a conflict, runs fn again with the row locked; ConflictError only past the deadline', async () => {
    const { cache } = openCache(backend, clock, { updateDeadlineMs: 300 })
    const unit = await (await (await cache.namespace('cas-conflict')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    const raw = await (await (await backend.namespace('cas-conflict')).workSpec('spec')).workUnit('u')
    await unit.status()
    // A competing writer sneaks in once: the second try, on the locked path, lands.
    let calls = 0
    const result = await unit.update(async (data) => {
      if (++calls === 1) await raw.setData({ n: 100 })
      return { n: (data.n as number) + 1 }
    })
    expect(result).toEqual({ n: 101 })
    expect(calls).toBe(2)
    expect(await metricValue(cache.metrics.casLockedUpdates)).toBe(1)
    // fn waits for a competing write of its own each time: on the locked path that write waits
    // for our row lock, which we hold until the deadline, then ConflictError; ours never lands.
    calls = 0
    const competing: Promise<number>[] = []
    const error = await unit
      .update((data) => {
        calls++
        const write = raw.setData({ n: -calls })
        competing.push(write)
        return write.then(() => ({ n: (data.n as number) + 1000 }))
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConflictError)
    expect((error as Error).message).toContain('work unit "u"')
    expect(calls).toBe(2)
    await Promise.all(competing)
    // What the cache holds is the competitor's committed write, never ours.
    expect(await unit.data()).toEqual({ n: -2 })
    expect(await unit.data({ fresh: true })).toEqual({ n: -2 })
    expect(await metricValue(cache.metrics.casConflicts)).toBe(2)
  })

  it('on a backend without row locks, re-reads and retries casRetries times, then ConflictError', async () => {
    const { cache } = openCache(backend, clock, { casRetries: 3 })
    const unit = await (await (await cache.namespace('cas-lock-free')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
    const raw = await (await (await backend.namespace('cas-lock-free')).workSpec('spec')).workUnit('u')
    const ctx = { options: { casRetries: 3, updateDeadlineMs: 10_000 }, metrics: cache.metrics } as unknown as Parameters<typeof casUpdate>[0]
    let calls = 0
    const target = {
      what: 'work unit "u"',
      cached: () => undefined,
      fetch: async () => ({ data: await raw.data(), version: (await raw.snapshot()).version }),
      write: (data: DataDict, ifVersion: number) => raw.setData(data, { ifVersion }),
      // The handle offered has no updateDataLocked(), as a backend without row locks.
      withHandle: <R>(op: (handle: object) => Promise<R>) => op({}),
      wrote: () => undefined,
      stale: () => undefined,
    }
    const error = await casUpdate(ctx, target, async (data) => {
      calls++
      await raw.setData({ n: -calls })
      return { n: (data.n as number) + 1000 }
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConflictError)
    expect(calls).toBe(4)
    expect(await unit.data({ fresh: true })).toEqual({ n: -4 })
    // Without a competitor, the same path lands on its first try.
    expect(await casUpdate(ctx, target, (data) => ({ n: (data.n as number) + 1 }))).toEqual({ n: -3 })
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

describe('update() on embedded PGlite', () => {
  it('takes the row-locked path after a conflict, and a failure there writes nothing', async () => {
    const { openCoordinate } = await import('../../src/postgres/open.js')
    const { cacheCoordinate } = await import('../../src/cache/index.js')
    const embedded = await openCoordinate({ leaseSweepMs: 0 })
    const cache = cacheCoordinate(embedded)
    try {
      const unit = await (await (await cache.namespace('')).setWorkSpec({ name: 'spec' })).addWorkUnit('u', { n: 0 })
      const raw = await (await (await embedded.namespace('')).workSpec('spec')).workUnit('u')
      await unit.data()
      let calls = 0
      const sneakIn = async (data: DataDict): Promise<DataDict> => {
        if (++calls === 1) await raw.setData({ n: 10 })
        return { n: (data.n as number) + 1 }
      }
      expect(await unit.update(sneakIn)).toEqual({ n: 11 })
      expect(await metricValue(cache.metrics.casLockedUpdates)).toBe(1)
      calls = 0
      await expect(
        unit.update(async (data) => {
          if (++calls === 1) await raw.setData({ n: 20 })
          else throw new Error('no')
          return data
        }),
      ).rejects.toThrow('no')
      expect(await unit.data()).toEqual({ n: 20 })
      expect(await raw.data()).toEqual({ n: 20 })
    } finally {
      await cache.close()
    }
  })
})
