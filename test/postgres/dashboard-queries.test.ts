import { describe, expect, it } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import { prefixEnd } from '../../src/postgres/dashboard-queries.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')

describe('dashboard queries', async () => {
  const { coordinate, clock } = await openTestCoordinate()
  const queries = coordinate.dashboardQueries()

  it('finds the end of a prefix range, carrying past 0xff', () => {
    expect([...prefixEnd(Uint8Array.of(0x61, 0x62))!]).toEqual([0x61, 0x63])
    expect([...prefixEnd(Uint8Array.of(0x61, 0xff))!]).toEqual([0x62])
    expect(prefixEnd(Uint8Array.of(0xff, 0xff))).toBeNull()
  })

  it('lists units by prefix and status, paging by key', async () => {
    const ns = await coordinate.namespace('listing')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(['a1', 'b1', 'b2', 'b3', 'c1'].map((key) => ({ key })))
    const [attempt] = await (await ns.worker('w')).requestAttempts({ workSpecs: ['spec'] })
    expect(attempt!.workUnit.name).toBe('a1')
    const base = { namespace: 'listing', workSpec: 'spec', sort: 'key' as const }
    const first = await queries.listUnits({ ...base, prefix: Buffer.from('b'), limit: 2 })
    expect(first.map((r) => text(r.key))).toEqual(['b1', 'b2'])
    const second = await queries.listUnits({ ...base, prefix: Buffer.from('b'), limit: 2, after: { key: first[1]!.key } })
    expect(second.map((r) => text(r.key))).toEqual(['b3'])
    const pending = await queries.listUnits({ ...base, statuses: ['pending'], limit: 10 })
    expect(pending.map((r) => [text(r.key), r.status, r.worker])).toEqual([['a1', 'pending', 'w']])
  })

  it('sorts by priority, highest first, and pages through ties by key', async () => {
    const ns = await coordinate.namespace('by-priority')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits([
      { key: 'low', meta: { priority: 1 } },
      { key: 'high', meta: { priority: 9 } },
      { key: 'mid-a', meta: { priority: 5 } },
      { key: 'mid-b', meta: { priority: 5 } },
    ])
    const base = { namespace: 'by-priority', workSpec: 'spec', sort: 'priority' as const, limit: 2 }
    const first = await queries.listUnits(base)
    expect(first.map((r) => text(r.key))).toEqual(['high', 'mid-a'])
    const last = first[1]!
    const second = await queries.listUnits({ ...base, after: { key: last.key, priority: last.priority } })
    expect(second.map((r) => text(r.key))).toEqual(['mid-b', 'low'])
  })

  it('sorts by last attempt time, newest first, never-attempted last', async () => {
    const ns = await coordinate.namespace('by-time')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(['u1', 'u2', 'u3'].map((key) => ({ key })))
    const worker = await ns.worker('w')
    const [first] = await worker.requestAttempts({ workSpecs: ['spec'] })
    await first!.finish()
    clock.advance(MINUTE)
    const [second] = await worker.requestAttempts({ workSpecs: ['spec'] })
    await second!.fail()
    const base = { namespace: 'by-time', workSpec: 'spec', sort: 'time' as const, limit: 2 }
    const page = await queries.listUnits(base)
    expect(page.map((r) => [text(r.key), r.status])).toEqual([['u2', 'failed'], ['u1', 'finished']])
    const cursor = { key: page[1]!.key, time: page[1]!.lastTime!.getTime() }
    expect((await queries.listUnits({ ...base, after: cursor })).map((r) => text(r.key))).toEqual(['u3'])
  })

  it('counts finished and failed attempts per minute, and expired leases per spec', async () => {
    const ns = await coordinate.namespace('stats')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(['a', 'b', 'c', 'd'].map((key) => ({ key })))
    const since = clock.now()
    const worker = await ns.worker('w')
    const attempts = await worker.requestAttempts({ workSpecs: ['spec'], numberOfWorkUnits: 3, lifetimeMs: 10 * MINUTE })
    await attempts[0]!.finish()
    await attempts[1]!.fail()
    expect(await queries.stuck('stats')).toEqual([])
    clock.advance(11 * MINUTE)
    const rows = await queries.throughput(since, 'stats')
    expect(rows.map((r) => [r.workSpec, r.finished, r.failed])).toEqual([['spec', 1, 1]])
    expect(await queries.stuck('stats')).toEqual([{ namespace: 'stats', workSpec: 'spec', expired: 1 }])
  })

  it('lists workers with their parents and leases, and counts active and stale ones', async () => {
    const ns = await coordinate.namespace('workers')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits([{ key: 'job' }])
    const parent = await ns.worker('parent')
    await parent.update({ mode: 'run', data: { host: 'h1' }, expiration: new Date(clock.now().getTime() + MINUTE) })
    const child = await ns.worker('child')
    await child.setParent(parent)
    await child.update({ expiration: new Date(clock.now().getTime() + 20 * MINUTE) })
    await child.requestAttempts({ workSpecs: ['spec'], lifetimeMs: 20 * MINUTE })
    clock.advance(2 * MINUTE)
    const { workers, attempts } = await queries.workers('workers', 100)
    expect(workers.map((w) => [w.name, w.parent, w.mode, w.data])).toEqual([
      ['child', 'parent', '', {}],
      ['parent', null, 'run', { host: 'h1' }],
    ])
    expect(attempts.map((a) => [a.worker, a.workSpec, text(a.key)])).toEqual([['child', 'spec', 'job']])
    const counts = await queries.workerCounts()
    expect(counts.find((c) => c.namespace === 'workers')).toEqual({ namespace: 'workers', active: 1, stale: 1 })
  })

  it('rejects a limit out of range', async () => {
    await expect(queries.listUnits({ namespace: 'x', workSpec: 'y', sort: 'key', limit: 0 })).rejects.toThrow(/limit/)
  })
})
