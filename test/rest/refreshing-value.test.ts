import { afterEach, describe, expect, it, vi } from 'vitest'
import { RefreshingValue } from '../../src/rest/refreshing-value.js'

// The shared, background-refreshed value behind the /metrics unit counts.
function deferredLoads() {
  const pending: ((value: number) => void)[] = []
  const load = vi.fn(() => new Promise<number>((resolve) => pending.push(resolve)))
  return { load, resolveNext: (value: number) => pending.shift()!(value) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('RefreshingValue', () => {
  it('shares one load among concurrent first readers', async () => {
    const { load, resolveNext } = deferredLoads()
    const value = new RefreshingValue(load, 5_000)
    const reads = [value.get(), value.get(), value.get()]
    resolveNext(7)
    expect(await Promise.all(reads)).toEqual([7, 7, 7])
    expect(load).toHaveBeenCalledTimes(1)
    expect(await value.get()).toBe(7)
    expect(load).toHaveBeenCalledTimes(1)
  })

  it('gives up on a slow first load after waitMs and serves it once it arrives', async () => {
    const { load, resolveNext } = deferredLoads()
    const value = new RefreshingValue(load, 5_000)
    expect(await value.getWithin(5)).toBeUndefined()
    expect(value.ageMs()).toBeUndefined()
    resolveNext(3)
    await vi.waitFor(() => expect(value.ageMs()).toBeDefined())
    expect(await value.getWithin(5)).toBe(3)
    expect(load).toHaveBeenCalledTimes(1)
  })

  it('serves a stale value at once and refreshes it behind, once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { load, resolveNext } = deferredLoads()
    const value = new RefreshingValue(load, 5_000)
    const first = value.get()
    resolveNext(1)
    expect(await first).toBe(1)
    vi.setSystemTime(Date.now() + 6_000)
    expect(await value.get()).toBe(1)
    expect(await value.get()).toBe(1)
    expect(load).toHaveBeenCalledTimes(2)
    resolveNext(2)
    await vi.waitFor(async () => expect(await value.get()).toBe(2))
  })

  it('waits a bounded time for a stale value\'s refresh, else serves the stale value', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { load, resolveNext } = deferredLoads()
    const value = new RefreshingValue(load, 1_000)
    const first = value.getWithin(50)
    resolveNext(1)
    expect(await first).toBe(1)
    expect(await value.getWithin(50)).toBe(1) // fresh: no load
    vi.setSystemTime(Date.now() + 2_000)
    const waiting = value.getWithin(60_000)
    resolveNext(2)
    expect(await waiting).toBe(2) // stale: the refresh's value, not the old one
    vi.setSystemTime(Date.now() + 2_000)
    expect(await value.getWithin(5)).toBe(2) // the refresh is slow: the last value
    expect(load).toHaveBeenCalledTimes(3)
    resolveNext(3)
    await vi.waitFor(async () => expect(await value.getWithin(5)).toBe(3))
  })

  it('spaces refreshes by twenty times the last load', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { load, resolveNext } = deferredLoads()
    const value = new RefreshingValue(load, 1_000)
    const first = value.get()
    vi.setSystemTime(Date.now() + 2_000) // the load took 2 s
    resolveNext(1)
    await first
    vi.setSystemTime(Date.now() + 30_000) // older than maxAge, younger than 40 s
    await value.get()
    expect(load).toHaveBeenCalledTimes(1)
    vi.setSystemTime(Date.now() + 11_000)
    await value.get()
    expect(load).toHaveBeenCalledTimes(2)
  })
})
