import { afterEach, describe, expect, it, vi } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import { PostgresAttempt } from '../../src/postgres/attempt.js'
import { PostgresNamespace } from '../../src/postgres/namespace.js'
import { TaskAbortedError } from '../../src/worker/task-outcome.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { gate, startRuntime } from './support.js'

const LEASE = 3 * MINUTE

describe('worker lease renewal', async () => {
  const { coordinate, clock } = await openTestCoordinate()
  afterEach(() => vi.restoreAllMocks())

  it('renews every running attempt in one call per tick and aborts only the one whose lease was lost', async () => {
    const ns = await coordinate.namespace('batched')
    const spec = await ns.setWorkSpec({ name: 'long' })
    for (const key of ['a', 'b', 'c']) await spec.addWorkUnit(key)
    const release = gate()
    const aborted = new Map<string, unknown>()
    let started = 0
    const allStarted = gate()
    const { log, runtime, timers } = await startRuntime(coordinate, clock, {
      namespace: 'batched',
      leaseMs: LEASE,
      concurrency: 3,
      tasks: {
        long: async (unit, { signal }) => {
          signal.addEventListener('abort', () => aborted.set(unit.name, signal.reason))
          if (++started === 3) allStarted.open()
          await release.promise
          return { done: unit.name }
        },
      },
    })
    await allStarted.promise
    // Another worker takes b while our handler still runs.
    const unitB = await spec.workUnit('b')
    await unitB.clearActiveAttempt()
    const theirs = await (await ns.worker('thief')).makeAttempt(unitB, LEASE)
    // Counted on the real backend's methods; nothing is stubbed.
    const batches = vi.spyOn(PostgresNamespace.prototype, 'renewAttempts')
    const singles = vi.spyOn(PostgresAttempt.prototype, 'renew')

    const renewed = log.next((e) => e.type === 'renewed')
    timers.advance(LEASE / 3 + LEASE / 30)
    expect(await renewed).toEqual({ type: 'renewed', count: 2 })

    expect(batches).toHaveBeenCalledTimes(1)
    expect(batches.mock.calls[0]![0].map((r) => r.attempt.workUnit.name).sort()).toEqual(['a', 'b', 'c'])
    expect(singles).not.toHaveBeenCalled()
    expect([...aborted.keys()]).toEqual(['b'])
    expect(aborted.get('b')).toBeInstanceOf(TaskAbortedError)
    expect(log.events.filter((e) => e.type === 'lease-lost').map((e) => 'unit' in e && e.unit)).toEqual(['b'])
    expect(runtime.running).toBe(2)

    release.open()
    await log.completed(2)
    expect(await (await spec.workUnit('a')).data()).toEqual({ done: 'a' })
    expect(await (await spec.workUnit('c')).data()).toEqual({ done: 'c' })
    // b's result was discarded: the thief's attempt is untouched.
    expect(await theirs.status()).toBe('pending')
    expect((await unitB.activeAttempt())?.id).toBe(theirs.id)
  })
})
