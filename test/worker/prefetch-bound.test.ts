import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Attempt, AttemptRequest } from '../../src/coordinate/api.js'
import { PostgresWorker } from '../../src/postgres/worker.js'
import { runWorkers } from '../../src/worker/runtime.js'
import { ManualTimers } from '../../src/worker/timers.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { EventLog } from './support.js'

// With prefetch the runtime leases units beyond its free slots, and runs two claims at once so
// quick handlers need not wait out a round trip. The bound (docs/worker.md, "Concurrency and
// claiming"): at most `prefetch` claimed units wait for a slot, and the units leased, counting
// those asked for by claims still in flight, never exceed concurrency + prefetch.

const { coordinate, clock } = await openTestCoordinate()
const UNITS = 120
const CONCURRENCY = 2
const PREFETCH = 8

afterEach(() => void vi.restoreAllMocks())

describe('the worker runtime with prefetch', () => {
  it('never leases more than concurrency + prefetch units, nor queues more than prefetch, through a drain of quick handlers', async () => {
    const ns = await coordinate.namespace('prefetch-bound')
    const spec = await ns.setWorkSpec({ name: 'quick' })
    await spec.addWorkUnits(Array.from({ length: UNITS }, (_, i) => ({ key: `u${String(i).padStart(3, '0')}` })))

    let asked = 0 // units asked for by claims in flight
    let received = 0
    let reported = 0 // units the runtime announced as claimed, once it queued or started them
    let started = 0
    let ended = 0
    let mostLeased = 0
    let mostQueued = 0
    const leased = (): number => asked + received - ended
    const request = PostgresWorker.prototype.requestAttempts
    vi.spyOn(PostgresWorker.prototype, 'requestAttempts').mockImplementation(async function (this: PostgresWorker, req?: AttemptRequest): Promise<Attempt[]> {
      const count = req?.numberOfWorkUnits ?? 1
      asked += count
      mostLeased = Math.max(mostLeased, leased())
      try {
        const attempts = await request.call(this, req)
        received += attempts.length
        return attempts
      } finally {
        asked -= count
      }
    })

    const log = new EventLog()
    const runtime = await runWorkers(coordinate, {
      namespace: 'prefetch-bound',
      concurrency: CONCURRENCY,
      prefetch: PREFETCH,
      clock,
      timers: new ManualTimers(clock),
      tasks: {
        quick: async () => {
          started++
          // A turn of the event loop: long enough for claims to overlap with handlers.
          await new Promise((resolve) => setImmediate(resolve))
          ended++
        },
      },
      onEvent: (event) => {
        if (event.type === 'claimed') {
          reported += event.count
          mostQueued = Math.max(mostQueued, reported - started)
        }
        log.push(event)
      },
    })
    try {
      await log.completed(UNITS)
    } finally {
      await runtime.stop({ gracePeriodMs: 0 })
    }
    expect(started).toBe(UNITS)
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: UNITS })
    expect(mostLeased).toBeLessThanOrEqual(CONCURRENCY + PREFETCH)
    expect(mostQueued).toBeLessThanOrEqual(PREFETCH)
    // Units did wait for a slot: the drain exercised the queue.
    expect(mostQueued).toBeGreaterThan(0)
  })
})
