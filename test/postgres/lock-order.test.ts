import { describe, expect, it } from 'vitest'
import type { Attempt, AttemptCompletion } from '../../src/coordinate/api.js'
import { MINUTE } from '../../src/coordinate/clock.js'
import { CoordinateError } from '../../src/coordinate/errors.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// Completions lock attempt then unit; a unit deletion must too, or the two deadlock and
// Postgres aborts one of them. Store runs a deadlock victim's statement again, and counts it:
// with one lock order that count stays 0.

const { coordinate, url } = await openTestCoordinate()
const ROUNDS = 100
const UNITS = 24

// A completion that lost the race to a deletion: its attempt is gone, or no longer pending.
function lostToDeletion(error: unknown): void {
  if (!(error instanceof CoordinateError) || !['GONE', 'NOT_PENDING'].includes(error.code)) throw error
}

/** The attempts in batches of `size`, each batch in an order of its own (a worker's, not the database's). */
function shuffledBatches(attempts: readonly Attempt[], size: number, round: number): AttemptCompletion[][] {
  const batches: AttemptCompletion[][] = []
  for (let i = 0; i < attempts.length; i += size) {
    const batch = attempts.slice(i, i + size).map((attempt, j) => ({ attempt, status: (round + j) % 3 === 0 ? ('failed' as const) : ('finished' as const) }))
    batches.push(round % 2 === 0 ? batch.reverse() : [...batch.slice(size / 2), ...batch.slice(0, size / 2)])
  }
  return batches
}

describe.runIf(url !== undefined)('unit deletion and completion batches on the same units (real server)', () => {
  it('never deadlock, and every unit is either deleted or completed, counted exactly', async () => {
    const ns = await coordinate.namespace('lock-order')
    const worker = await ns.worker('w')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    let deleted = 0
    let completed = 0
    for (let round = 0; round < ROUNDS; round++) {
      const keys = Array.from({ length: UNITS }, (_, i) => `r${round}-${String(i).padStart(2, '0')}`)
      await spec.addWorkUnits(keys.map((key) => ({ key })))
      const attempts = await worker.requestAttempts({ numberOfWorkUnits: UNITS, lifetimeMs: MINUTE })
      expect(attempts).toHaveLength(UNITS)
      // Reversed and interleaved batches, against deletions of overlapping halves by name and one by status.
      const completions = shuffledBatches(attempts, 6, round).map(async (batch) => {
        try {
          await ns.completeAttempts(batch)
          return batch.length
        } catch (error) {
          lostToDeletion(error)
          return 0
        }
      })
      const deletions = [
        spec.deleteWorkUnits({ names: keys.slice(0, UNITS / 2 + 2) }),
        spec.deleteWorkUnits({ names: keys.slice(UNITS / 2 - 2).reverse() }),
        spec.deleteWorkUnits({ statuses: ['pending'], limit: UNITS / 4 }),
      ]
      const done = (await Promise.all(completions)).reduce((a, b) => a + b, 0)
      const removed = (await Promise.all(deletions)).reduce((a, b) => a + b, 0)
      const left = await spec.workUnits({ names: keys })
      // Each unit was deleted once, or outlived the deletions (then a completion or the status filter spared it).
      expect(removed + left.length).toBe(UNITS)
      for (const unit of left) expect(['finished', 'failed']).toContain(await unit.status())
      expect(done).toBeGreaterThanOrEqual(left.length)
      deleted += removed
      completed += done
    }
    expect(coordinate.observability().deadlockRetries()).toBe(0)
    // The kept counts agree with the units that are left.
    const remaining = await spec.workUnits({})
    const byStatus: Record<string, number> = {}
    for (const unit of remaining) {
      const status = await unit.status()
      byStatus[status] = (byStatus[status] ?? 0) + 1
    }
    expect(await spec.countWorkUnitStatus()).toEqual(byStatus)
    expect(deleted + remaining.length).toBe(ROUNDS * UNITS)
    console.log(`${ROUNDS} rounds: ${deleted} units deleted, ${completed} attempts completed, ${coordinate.observability().deadlockRetries()} deadlock retries`)
  }, 120_000)
})
