import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import type { TaskHandler } from '../../src/worker/options.js'
import { TaskAbortedError } from '../../src/worker/task-outcome.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { gate, startRuntime } from './support.js'

const LEASE = 3 * MINUTE

describe('worker runtime faults', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()

  /** Runs one unit through `handler` and returns the unit's status and data afterwards. */
  async function runOne(namespace: string, handler: TaskHandler) {
    const ns = await coordinate.namespace(namespace)
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnit('u', { input: 1 })
    const { log, runtime } = await startRuntime(coordinate, clock, { namespace, tasks: { s: handler } })
    await log.completed(1, 'failed')
    await runtime.stop()
    const unit = await spec.workUnit('u')
    return { status: await unit.status(), data: await unit.data() }
  }

  it.each([
    ['a string', 'oops', /a string \("oops"\), not an Error/],
    ['undefined', undefined, /threw undefined/],
    ['a plain object', { code: 7 }, /not an Error/],
  ])('fails the unit when a handler throws %s', async (_what, thrown, message) => {
    const { status, data } = await runOne(`throw-${String(_what).replace(/\W/g, '')}`, () => {
      throw thrown
    })
    expect(status).toBe('failed')
    expect(data.input).toBe(1)
    expect((data.error as { name: string }).name).toBe('NonErrorThrown')
    expect(String(data.traceback)).toMatch(message)
  })

  it.each([
    ['a function', () => () => 1, /a function/],
    ['a list', () => [1, 2], /must be a dict/],
    ['a BigInt beyond 64 bits', () => ({ big: 2n ** 70n }), /cannot be stored/],
    ['a cycle', () => {
      const loop: Record<string, unknown> = {}
      loop.self = loop
      return loop
    }, /nested more than/],
  ])('fails the unit when a handler returns %s', async (what, handler, message) => {
    const { status, data } = await runOne(`return-${what.replace(/\W/g, '')}`, handler)
    expect(status).toBe('failed')
    expect((data.error as { name: string }).name).toBe('InvalidTaskOutputError')
    expect(String((data.error as { message: string }).message)).toMatch(message)
    expect(data.input).toBe(1)
  })

  it('renews leases while a handler runs past its first lease', async () => {
    const ns = await coordinate.namespace('renew')
    const spec = await ns.setWorkSpec({ name: 'long' })
    await spec.addWorkUnit('u')
    const release = gate()
    const started = gate()
    const { log, timers } = await startRuntime(coordinate, clock, {
      namespace: 'renew',
      leaseMs: LEASE,
      tasks: {
        long: async () => {
          started.open()
          await release.promise
          return { done: true }
        },
      },
    })
    await started.promise
    // Three leases' worth of time, one renewal interval at a time.
    for (let i = 0; i < 9; i++) {
      const renewed = log.next((e) => e.type === 'renewed')
      timers.advance(LEASE / 3 + LEASE / 30)
      await renewed
      expect(await (await spec.workUnit('u')).status()).toBe('pending')
    }
    const attempt = await (await spec.workUnit('u')).activeAttempt()
    expect((await attempt!.expirationTime()).getTime()).toBeGreaterThan(clock.now().getTime())
    release.open()
    await log.completed(1)
    expect(await (await spec.workUnit('u')).data()).toEqual({ done: true })
  })

  it('aborts a handler that never resolves once another worker holds its unit, and writes nothing', async () => {
    const ns = await coordinate.namespace('lost')
    const spec = await ns.setWorkSpec({ name: 'stuck' })
    await spec.addWorkUnit('u')
    const aborted = gate<unknown>()
    const started = gate()
    const { log, runtime } = await startRuntime(coordinate, clock, {
      namespace: 'lost',
      leaseMs: LEASE,
      tasks: {
        stuck: (_unit, { signal }) => {
          signal.addEventListener('abort', () => aborted.open(signal.reason))
          started.open()
          return new Promise(() => undefined)
        },
      },
    })
    await started.promise
    const thief = await ns.worker('thief')
    const theirs = await thief.makeAttempt(await spec.workUnit('u'), LEASE)
    expect(await runtime.renewLeases()).toBe(0)
    expect(await aborted.promise).toBeInstanceOf(TaskAbortedError)
    expect(log.events.filter((e) => e.type === 'lease-lost')).toHaveLength(1)
    expect(runtime.running).toBe(0)
    expect(await theirs.status()).toBe('pending')
    await theirs.finish({ by: 'thief' })
    expect(await (await spec.workUnit('u')).data()).toEqual({ by: 'thief' })
  })

  it('drops the result of a handler whose lease ran out before it returned', async () => {
    const ns = await coordinate.namespace('late')
    const spec = await ns.setWorkSpec({ name: 'late' })
    await spec.addWorkUnit('u', { v: 0 })
    const release = gate()
    const started = gate()
    const { log, runtime } = await startRuntime(coordinate, clock, {
      namespace: 'late',
      leaseMs: LEASE,
      tasks: {
        late: async () => {
          started.open()
          await release.promise
          return { v: 1 }
        },
      },
    })
    await started.promise
    // The clock jumps past the lease without any renewal tick (a paused process, say).
    clock.advance(LEASE + 1)
    const lost = log.next((e) => e.type === 'lease-lost')
    release.open()
    await lost
    const unit = await spec.workUnit('u')
    expect(await unit.status()).toBe('available')
    expect(await unit.data()).toEqual({ v: 0 })
    expect(log.events.filter((e) => e.type === 'completed')).toEqual([])
    await runtime.stop()
  })

  it('on stop, lets quick handlers finish and gives the others back at once', async () => {
    const ns = await coordinate.namespace('stop')
    const spec = await ns.setWorkSpec({ name: 'st' })
    await spec.addWorkUnits([{ key: 'quick' }, { key: 'stubborn' }])
    const quick = gate()
    const bothStarted = gate()
    let started = 0
    let stubbornSignal: AbortSignal | undefined
    const { runtime, timers } = await startRuntime(coordinate, clock, {
      namespace: 'stop',
      leaseMs: LEASE,
      tasks: {
        st: async (unit, { signal }) => {
          if (++started === 2) bothStarted.open()
          if (unit.name === 'quick') {
            await quick.promise
            return { quick: true }
          }
          stubbornSignal = signal
          return new Promise(() => undefined)
        },
      },
    })
    await bothStarted.promise
    const graceBegun = timers.sleepRequested(5_000)
    const stopped = runtime.stop({ gracePeriodMs: 5_000 })
    quick.open()
    await graceBegun
    timers.advance(5_000)
    await stopped
    expect(stubbornSignal?.aborted).toBe(true)
    expect(await (await spec.workUnit('quick')).status()).toBe('finished')
    // Back at once: the lease would not have ended for minutes.
    const stubborn = await spec.workUnit('stubborn')
    expect(await stubborn.status()).toBe('available')
    expect(await (await stubborn.attempts())[0]!.status()).toBe('expired')
    expect(await (await ns.worker(runtime.workerName)).active()).toBe(false)
  })

  // PGlite (the fallback when no server is reachable) cannot lose its connections.
  it.runIf(url !== undefined)('rides out a database outage while handlers run, and finishes each unit once', async () => {
    const ns = await coordinate.namespace('outage')
    const spec = await ns.setWorkSpec({ name: 'o' })
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }])
    const release = gate()
    let runs = 0
    const bothStarted = gate()
    const { log, runtime, timers } = await startRuntime(coordinate, clock, {
      namespace: 'outage',
      leaseMs: LEASE,
      tasks: {
        o: async () => {
          if (++runs === 2) bothStarted.open()
          await release.promise
          return { ok: true }
        },
      },
    })
    await bothStarted.promise
    const adminUrl = new URL(url!)
    const database = adminUrl.pathname.slice(1)
    adminUrl.pathname = '/postgres'
    const admin = new pg.Client({ connectionString: adminUrl.toString() })
    await admin.connect()
    try {
      // What a restart looks like from here: every connection dropped, new ones refused.
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database])
      expect(await runtime.renewLeases()).toBe(0)
      expect(log.events.some((e) => e.type === 'database-error' && e.during === 'lease renewal')).toBe(true)
      expect(log.events.some((e) => e.type === 'lease-lost')).toBe(false)
      // The handlers end while the database is still down: their results wait.
      const writeFailed = log.next((e) => e.type === 'database-error' && e.during === 'writing a result')
      release.open()
      await writeFailed
    } finally {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`)
      await admin.end()
    }
    expect(await runtime.renewLeases()).toBe(2)
    // The write's backoff runs on the fake clock.
    timers.advance(30_000)
    await log.completed(2)
    expect(runs).toBe(2)
    for (const key of ['a', 'b']) {
      const unit = await spec.workUnit(key)
      expect(await unit.status()).toBe('finished')
      expect(await unit.numAttempts()).toBe(1)
    }
  })
})
