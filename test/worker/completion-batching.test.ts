import { afterEach, describe, expect, it, vi } from 'vitest'
import type { AttemptCompletion } from '../../src/coordinate/api.js'
import { PostgresNamespace } from '../../src/postgres/namespace.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { gate, startRuntime } from './support.js'

// Results that arrive in the same turn of the event loop go to the database in one
// completeAttempts call: the completer waits for setImmediate before it takes its first batch.

const { coordinate, clock } = await openTestCoordinate()

afterEach(() => void vi.restoreAllMocks())

describe('the worker runtime writing results', () => {
  it('writes the results of handlers that end in the same turn in one completeAttempts call', async () => {
    const ns = await coordinate.namespace('coalesced')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(Array.from({ length: 6 }, (_, i) => ({ key: `u${i}`, data: { i } })))
    const allStarted = gate()
    const release = gate()
    let started = 0
    const { log } = await startRuntime(coordinate, clock, {
      namespace: 'coalesced',
      concurrency: 6,
      tasks: {
        spec: async (unit) => {
          if (++started === 6) allStarted.open()
          await release.promise
          return { done: unit.data.i }
        },
      },
    })
    await allStarted.promise
    const writes = vi.spyOn(PostgresNamespace.prototype, 'completeAttempts')
    // One resolution ends all six handlers within the same turn.
    release.open()
    await log.completed(6)
    const batches = writes.mock.calls.map(([completions]: [readonly AttemptCompletion[]]) => completions.map((c) => c.attempt.workUnit.name).sort())
    expect(batches).toEqual([['u0', 'u1', 'u2', 'u3', 'u4', 'u5']])
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 6 })
    expect(await (await spec.workUnit('u3')).data()).toEqual({ done: 3 })
  })
})
