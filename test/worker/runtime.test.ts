import { describe, expect, it } from 'vitest'
import { InvalidInputError } from '../../src/coordinate/errors.js'
import type { TaskUnit } from '../../src/worker/options.js'
import { runWorkers } from '../../src/worker/runtime.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { gate, startRuntime } from './support.js'

describe('worker runtime', async () => {
  const { coordinate, clock } = await openTestCoordinate()

  it('runs each unit through its spec handler and stores the returned data', async () => {
    const ns = await coordinate.namespace('basic')
    const spec = await ns.setWorkSpec({ name: 'double' })
    await spec.addWorkUnits([1, 2, 3].map((n) => ({ key: `u${n}`, data: { n } })))
    const seen: TaskUnit[] = []
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'basic',
      tasks: {
        double: (unit) => {
          seen.push(unit)
          return { n: unit.data.n, doubled: Number(unit.data.n) * 2 }
        },
      },
    })
    await log.completed(3)
    expect(seen.map((u) => [u.name, u.workSpec, u.namespace, u.data]).sort()).toEqual([
      ['u1', 'double', 'basic', { n: 1 }],
      ['u2', 'double', 'basic', { n: 2 }],
      ['u3', 'double', 'basic', { n: 3 }],
    ])
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 3 })
    expect(await (await spec.workUnit('u2')).data()).toEqual({ n: 2, doubled: 4 })
  })

  it('feeds a returned output to the then spec', async () => {
    const ns = await coordinate.namespace('chain')
    const first = await ns.setWorkSpec({ name: 'first', then: 'second' })
    const second = await ns.setWorkSpec({ name: 'second' })
    await first.addWorkUnit('a', {})
    const ran: string[] = []
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'chain',
      tasks: {
        first: () => ({ output: { 'a-next': { from: 'a' } } }),
        second: (unit) => {
          ran.push(`${unit.name}:${String(unit.data.from)}`)
        },
      },
    })
    await log.completed(2)
    expect(ran).toEqual(['a-next:a'])
    expect(await second.countWorkUnitStatus()).toEqual({ finished: 1 })
  })

  it('fails a unit whose handler throws, with the error in the attempt data', async () => {
    const ns = await coordinate.namespace('throws')
    const spec = await ns.setWorkSpec({ name: 'boom' })
    await spec.addWorkUnit('x', { keep: true })
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'throws',
      tasks: {
        boom: () => {
          throw new RangeError('out of range')
        },
      },
    })
    await log.completed(1, 'failed')
    const unit = await spec.workUnit('x')
    expect(await unit.status()).toBe('failed')
    const data = await unit.data()
    expect(data.keep).toBe(true)
    expect(data.error).toEqual({ name: 'RangeError', message: 'out of range' })
    expect(String(data.traceback)).toMatch(/^RangeError: out of range\n\s+at /)
  })

  it('retries a throwing unit within max_retries, then fails it', async () => {
    const ns = await coordinate.namespace('retries')
    const spec = await ns.setWorkSpec({ name: 'flaky', max_retries: 3 })
    await spec.addWorkUnit('y')
    let calls = 0
    const { log, timers } = await startRuntime(coordinate, clock, {
      namespace: 'retries',
      retryDelayMs: () => 60_000,
      tasks: {
        flaky: () => {
          calls++
          throw new Error(`try ${calls}`)
        },
      },
    })
    await log.completed(1, 'retried')
    expect(await (await spec.workUnit('y')).status()).toBe('delayed')
    // The delay passes: the poll finds the unit again.
    timers.advance(60_001)
    await log.completed(2, 'retried')
    timers.advance(60_001)
    await log.completed(1, 'failed')
    expect(calls).toBe(3)
    const unit = await spec.workUnit('y')
    expect(await unit.status()).toBe('failed')
    expect((await unit.data()).error).toEqual({ name: 'Error', message: 'try 3' })
    expect((await unit.attempts()).length).toBe(3)
  })

  it('never runs more handlers than the concurrency, and claims no more than the free slots', async () => {
    const ns = await coordinate.namespace('limits')
    const spec = await ns.setWorkSpec({ name: 'slow' })
    await spec.addWorkUnits(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })))
    const release = gate()
    let running = 0
    let most = 0
    const { runtime, log } = await startRuntime(coordinate, clock, {
      namespace: 'limits',
      concurrency: 3,
      tasks: {
        slow: async () => {
          most = Math.max(most, ++running)
          await release.promise
          running--
        },
      },
    })
    await log.next((e) => e.type === 'claimed')
    expect(runtime.running).toBe(3)
    const worker = await ns.worker(runtime.workerName)
    expect((await worker.activeAttempts()).length).toBe(3)
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 7, pending: 3 })
    release.open()
    await log.completed(10)
    expect(most).toBe(3)
  })

  it('holds each spec to its own limit', async () => {
    const ns = await coordinate.namespace('per-spec')
    const a = await ns.setWorkSpec({ name: 'a' })
    const b = await ns.setWorkSpec({ name: 'b' })
    await a.addWorkUnits(Array.from({ length: 5 }, (_, i) => ({ key: `a${i}` })))
    await b.addWorkUnits(Array.from({ length: 5 }, (_, i) => ({ key: `b${i}` })))
    const release = gate()
    const running = { a: 0, b: 0 }
    const most = { a: 0, b: 0 }
    const handler = (name: 'a' | 'b') => async () => {
      most[name] = Math.max(most[name], ++running[name])
      await release.promise
      running[name]--
    }
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'per-spec',
      concurrency: 4,
      specConcurrency: { a: 1 },
      tasks: { a: handler('a'), b: handler('b') },
    })
    while (running.a + running.b < 4) await log.next((e) => e.type === 'claimed')
    expect(running).toEqual({ a: 1, b: 3 })
    release.open()
    await log.completed(10)
    expect(most.a).toBe(1)
  })

  it('registers its worker with host, pid and specs, and deactivates it on stop', async () => {
    const ns = await coordinate.namespace('registry')
    await ns.setWorkSpec({ name: 'r' })
    await ns.worker('supervisor')
    const { runtime } = await startRuntime(coordinate, clock, {
      namespace: 'registry',
      workerName: 'node-1',
      parent: 'supervisor',
      concurrency: 5,
      tasks: { r: () => undefined },
    })
    const worker = await ns.worker('node-1')
    expect(await worker.active()).toBe(true)
    expect(await worker.mode()).toBe('run')
    expect((await worker.parent())?.name).toBe('supervisor')
    const data = await worker.data()
    expect(data).toMatchObject({ pid: process.pid, runtime: 'node', concurrency: 5, work_specs: ['r'] })
    expect((data.versions as { node: string }).node).toBe(process.versions.node)
    await runtime.stop()
    expect(await worker.active()).toBe(false)
    expect(await worker.mode()).toBe('stopped')
  })

  it('wakes an idle runtime through the change feed, with no poll', async () => {
    const ns = await coordinate.namespace('wake')
    const spec = await ns.setWorkSpec({ name: 'w' })
    // The runtime's timers run on the fake clock, which this test never moves: no poll can fire.
    const { log } = await startRuntime(coordinate, clock, { namespace: 'wake', tasks: { w: () => ({ ok: true }) } })
    await log.next((e) => e.type === 'idle')
    await spec.addWorkUnit('late')
    await log.completed(1)
    expect(await (await spec.workUnit('late')).data()).toEqual({ ok: true })
  })

  it('reports progress into the attempt data', async () => {
    const ns = await coordinate.namespace('progress')
    const spec = await ns.setWorkSpec({ name: 'p' })
    await spec.addWorkUnit('one', { step: 0 })
    const reported = gate()
    const release = gate()
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'progress',
      tasks: {
        p: async (unit, { progress }) => {
          await progress({ ...unit.data, step: 1 })
          reported.open()
          await release.promise
        },
      },
    })
    await reported.promise
    const attempt = await (await spec.workUnit('one')).activeAttempt()
    expect(await attempt?.data()).toEqual({ step: 1 })
    release.open()
    await log.completed(1)
    // Returning nothing keeps the data the handler last reported.
    expect(await (await spec.workUnit('one')).data()).toEqual({ step: 1 })
  })

  it('rejects bad options with a typed error and registers nothing', async () => {
    const ns = await coordinate.namespace('bad-options')
    const cases: [string, object][] = [
      ['no tasks', { namespace: 'bad-options', tasks: {} }],
      ['handler not a function', { namespace: 'bad-options', tasks: { a: 'nope' } }],
      ['zero concurrency', { namespace: 'bad-options', tasks: { a: () => 1 }, concurrency: 0 }],
      ['limit for unknown spec', { namespace: 'bad-options', tasks: { a: () => 1 }, specConcurrency: { b: 1 } }],
      ['renew after the lease', { namespace: 'bad-options', tasks: { a: () => 1 }, renewFraction: 1.5 }],
    ]
    for (const [what, options] of cases) {
      await expect(runWorkers(coordinate, options as never), what).rejects.toBeInstanceOf(InvalidInputError)
    }
    expect(await ns.workers()).toEqual([])
  })
})
