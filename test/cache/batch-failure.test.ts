import { describe, expect, it } from 'vitest'
import { DatabaseUnavailableError, MINUTE } from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { openCache } from './support/open-cache.js'

const { coordinate: backend, clock } = await openTestCoordinate()

// Callers may hand the cache's namespace the backend's own attempts (made before the cache, or by
// another layer). A batch whose reply is lost after its commit must not leave their units'
// snapshots cached: the cache hears of the write only from the failed call.
describe('a batch call with a raw backend attempt that fails after its commit', () => {
  /** A cached unit with a pending raw attempt, whose batch calls lose their reply after committing. */
  async function pendingRawAttempt(namespace: string) {
    const { cache, log } = openCache(backend, clock)
    const ns = await cache.namespace(namespace)
    const unit = await (await ns.setWorkSpec({ name: 'spec' })).addWorkUnit('u', { v: 1 })
    const rawNs = await backend.namespace(namespace)
    const raw = await (await rawNs.worker('w')).makeAttempt(await (await rawNs.workSpec('spec')).workUnit('u'))
    expect(await unit.status()).toBe('pending')
    expect(await unit.data()).toEqual({ v: 1 })
    log.after = (call) => {
      if (call === 'Namespace.renewAttempts' || call === 'Namespace.completeAttempts') throw new DatabaseUnavailableError('unknown', 'reply lost')
    }
    return { ns, unit, raw }
  }

  it('renewAttempts: the next read shows the renewal\'s data', async () => {
    const { ns, unit, raw } = await pendingRawAttempt('lost-renewal')
    await expect(ns.renewAttempts([{ attempt: raw, extendMs: MINUTE, data: { v: 2 } }])).rejects.toThrow(DatabaseUnavailableError)
    expect(await unit.data()).toEqual({ v: 2 })
  })

  it('completeAttempts: the next read shows the unit finished', async () => {
    const { ns, unit, raw } = await pendingRawAttempt('lost-completion')
    await expect(ns.completeAttempts([{ attempt: raw, status: 'finished', data: { v: 3 } }])).rejects.toThrow(DatabaseUnavailableError)
    expect(await unit.status()).toBe('finished')
    expect(await unit.data()).toEqual({ v: 3 })
  })
})

// The same for a finish through the cache's own attempt: the units it chained into the "then"
// spec changed too, and the cache hears of that only from the failed call.
describe('a finish through the cache that fails after its commit', () => {
  /** A cached unit of the "then" spec, and a cache attempt whose finish will chain into it. */
  async function chainingAttempt(namespace: string, lostCall: string) {
    const { cache, log } = openCache(backend, clock)
    const ns = await cache.namespace(namespace)
    const one = await ns.setWorkSpec({ name: 'one', then: 'two' })
    const two = await ns.setWorkSpec({ name: 'two', disabled: true })
    const target = await two.addWorkUnit('t', { v: 'orig' })
    expect(await target.data()).toEqual({ v: 'orig' })
    await one.addWorkUnit('a')
    const [attempt] = await (await ns.worker('w')).requestAttempts({ workSpecs: ['one'] })
    log.after = (call) => {
      if (call === lostCall) throw new DatabaseUnavailableError('unknown', 'reply lost')
    }
    return { ns, target, attempt: attempt! }
  }

  it('completeAttempts: the next read of a chained unit shows its new data', async () => {
    const { ns, target, attempt } = await chainingAttempt('lost-chain-batch', 'Namespace.completeAttempts')
    await expect(ns.completeAttempts([{ attempt, status: 'finished', data: { output: { t: { v: 'chained' } } } }])).rejects.toThrow(DatabaseUnavailableError)
    expect(await target.data()).toEqual({ v: 'chained' })
  })

  it('Attempt.finish: the next read of a chained unit shows its new data', async () => {
    const { target, attempt } = await chainingAttempt('lost-chain-single', 'Attempt.finish')
    await expect(attempt.finish({ output: { t: { v: 'chained' } } })).rejects.toThrow(DatabaseUnavailableError)
    expect(await target.data()).toEqual({ v: 'chained' })
  })
})

// A caller may keep a namespace proxy after the LRU dropped it; the units it reaches then are
// held by the proxy filed for the name since, which a failed batch must invalidate as well.
describe('a failed batch through a namespace proxy the LRU dropped', () => {
  it('still drops the snapshots the live proxy holds', async () => {
    const { cache, log } = openCache(backend, clock, { limits: { namespaces: 1 } })
    const dropped = await cache.namespace('dropped-ns')
    await cache.namespace('other-ns')
    const live = await cache.namespace('dropped-ns')
    expect(live).not.toBe(dropped)
    const unit = await (await live.setWorkSpec({ name: 'spec' })).addWorkUnit('u', { v: 1 })
    const rawNs = await backend.namespace('dropped-ns')
    const raw = await (await rawNs.worker('w')).makeAttempt(await (await rawNs.workSpec('spec')).workUnit('u'))
    expect(await unit.status()).toBe('pending')
    log.after = (call) => {
      if (call === 'Namespace.completeAttempts') throw new DatabaseUnavailableError('unknown', 'reply lost')
    }
    await expect(dropped.completeAttempts([{ attempt: raw, status: 'finished' }])).rejects.toThrow(DatabaseUnavailableError)
    expect(await unit.status()).toBe('finished')
  })
})
