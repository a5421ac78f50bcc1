import { expect, vi } from 'vitest'
import type { Coordinate } from '../../src/coordinate/api.js'
import { PostgresAttempt } from '../../src/postgres/attempt.js'
import { runWorkers } from '../../src/worker/runtime.js'

/** What watchClaimTakes returns: a check to make once the claims have been served. */
export interface ClaimTakes {
  /** Stops watching; expects `count` attempts to have had their claim data taken exactly once, and to hold none now. */
  expectTakenOnce(count: number): void
}

/**
 * Watches every take of claim data on the backend's (Postgres) attempts: whatever serves the
 * claims must take each attempt's data once, so the attempts it keeps for their leases hold none.
 */
export function watchClaimTakes(): ClaimTakes {
  const takes = vi.spyOn(PostgresAttempt.prototype, 'takeClaimData')
  return {
    expectTakenOnce(count) {
      const attempts = [...takes.mock.contexts] as PostgresAttempt[]
      takes.mockRestore()
      expect(attempts).toHaveLength(count)
      expect(new Set(attempts).size).toBe(count)
      expect(attempts.map((attempt) => attempt.takeClaimData())).toEqual(Array(count).fill(undefined))
    },
  }
}

/** Runs a worker runtime on spec `s` of `namespace` until `count` units were handled; their [name, data], sorted. */
export async function handledUnits(coordinate: Coordinate, namespace: string, count: number): Promise<unknown[]> {
  const seen: unknown[] = []
  let resolve = (): void => undefined
  const done = new Promise<void>((r) => (resolve = r))
  const runtime = await runWorkers(coordinate, {
    namespace,
    tasks: {
      s: (unit) => {
        seen.push([unit.name, unit.data])
        if (seen.length === count) resolve()
      },
    },
  })
  await done
  await runtime.stop()
  return seen.sort()
}
