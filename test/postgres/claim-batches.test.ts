import { afterAll, describe, expect, it, vi } from 'vitest'
import type { Attempt, AttemptRequest, Namespace } from '../../src/coordinate/api.js'
import { InvalidInputError } from '../../src/coordinate/errors.js'
import { type ClaimItem, claimBatched } from '../../src/postgres/claim-batches.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import type { PostgresNamespace } from '../../src/postgres/namespace.js'
import type { PostgresWorkSpec } from '../../src/postgres/work-spec.js'
import type { PostgresWorker } from '../../src/postgres/worker.js'
import { CLAIM_SQL } from '../../src/postgres/sql/claim.js'
import { CLAIM_FOR_WORKERS_SQL } from '../../src/postgres/sql/claim-for-workers.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// Concurrent requestAttempts calls share claim statements (src/postgres/claim-batches.ts): while
// claims are in flight, the ones that arrive go together in the next statement. Each worker must
// still get exactly what a claim of its own would give it.

/** Counts the claim statements `ns`'s store runs: single claims, and batches with their sizes. */
function countClaims(ns: Namespace): { singles: number; batches: number[]; restore: () => void } {
  const { store } = ns as PostgresNamespace
  const counts = { singles: 0, batches: [] as number[], restore: () => spy.mockRestore() }
  const call = store.call.bind(store)
  const spy = vi.spyOn(store, 'call').mockImplementation((text, values, executor) => {
    if (text === CLAIM_SQL) counts.singles++
    if (text === CLAIM_FOR_WORKERS_SQL) counts.batches.push((values[0] as unknown[]).length)
    return call(text, values, executor)
  })
  return counts
}

/** One claim of `count` units from `spec` for `worker`, as requestAttempts hands it to the batcher. */
function claimItem(ns: PostgresNamespace, spec: PostgresWorkSpec, worker: PostgresWorker, count: number, maxRunning: number): ClaimItem {
  const now = ns.store.now()
  return { specId: spec.id, workerId: worker.id, count, now, expiration: new Date(now.getTime() + 60_000), maxRunning, countAttempts: false, namespaceId: ns.id }
}

describe('claims from many workers share statements', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()
  // A pool as wide as the workers, so that claims are not merely queued on connections.
  const wide: PostgresCoordinate = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0, poolSize: 16 }) : coordinate
  afterAll(async () => {
    if (wide !== coordinate) await wide.close()
  })

  it('gathers claims made together into one statement, and gives each worker its own units', async () => {
    const ns = await wide.namespace('together')
    const spec = await ns.setWorkSpec({ name: 'a' })
    await spec.addWorkUnits(Array.from({ length: 100 }, (_, i) => ({ key: `u${String(i).padStart(3, '0')}` })))
    const workers = await Promise.all(Array.from({ length: 16 }, (_, i) => ns.worker(`w${i}`)))
    // A first claim makes the choice of spec remembered, so each later claim goes straight to
    // the claim statement without a scheduler query first: all 16 reach the batcher at once.
    await (await workers[0]!.requestAttempts({ workSpecs: ['a'] }))[0]!.finish()
    const claims = countClaims(ns)
    try {
      const got = await Promise.all(workers.map((worker, i) => worker.requestAttempts({ workSpecs: ['a'], numberOfWorkUnits: 1 + (i % 3) })))
      // The first two go at once (two may be in flight); the other fourteen wait and share one.
      expect(claims.singles).toBe(2)
      expect(claims.batches).toEqual([14])
      got.forEach((attempts, i) => {
        expect(attempts.length).toBe(1 + (i % 3))
        for (const attempt of attempts) expect(attempt.worker.name).toBe(`w${i}`)
      })
      // No unit to two workers; each batch claimed in claim order, so together the first units.
      const names = got.flat().map((attempt) => attempt.workUnit.name)
      expect(new Set(names).size).toBe(names.length)
      expect([...names].sort()).toEqual(Array.from({ length: names.length }, (_, i) => `u${String(i + 1).padStart(3, '0')}`))
      const active = (await Promise.all(workers.map((worker) => worker.activeAttempts()))).map((attempts) => attempts.length)
      expect(active).toEqual(workers.map((_, i) => 1 + (i % 3)))
    } finally {
      claims.restore()
    }
  })

  it('does each of many units exactly once across 16 workers with their own counts and spec filters', async () => {
    const ns = await wide.namespace('drain')
    for (const name of ['a', 'b', 'c']) {
      const spec = await ns.setWorkSpec({ name })
      await spec.addWorkUnits(Array.from({ length: 600 }, (_, i) => ({ key: `${name}${i}` })))
    }
    const filters = [['a'], ['b'], ['a', 'c'], ['b', 'c'], undefined]
    const claims = countClaims(ns)
    const done: string[] = []
    try {
      await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const worker = await ns.worker(`d${i}`)
          const request: AttemptRequest = { numberOfWorkUnits: 1 + (i % 4), workSpecs: filters[i % filters.length] }
          for (;;) {
            const attempts: Attempt[] = await worker.requestAttempts(request)
            if (attempts.length === 0) return
            expect(attempts.length).toBeLessThanOrEqual(request.numberOfWorkUnits ?? 1)
            for (const attempt of attempts) {
              if (request.workSpecs) expect(request.workSpecs).toContain(attempt.workUnit.workSpec.name)
              done.push(`${attempt.workUnit.workSpec.name}/${attempt.workUnit.name}`)
            }
            await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
          }
        }),
      )
    } finally {
      claims.restore()
    }
    expect(done.length).toBe(1800)
    expect(new Set(done).size).toBe(1800)
    for (const name of ['a', 'b', 'c']) expect(await (await ns.workSpec(name)).countWorkUnitStatus()).toEqual({ finished: 600 })
    // Claims shared statements: some batches held several workers' claims.
    expect(claims.batches.some((size) => size > 1)).toBe(true)
  })

  it('holds max_running across the claims of one batch', async () => {
    const ns = await wide.namespace('capped')
    const spec = await ns.setWorkSpec({ name: 'capped', max_running: 3 })
    await spec.addWorkUnits(Array.from({ length: 20 }, (_, i) => ({ key: `c${i}` })))
    const workers = await Promise.all(Array.from({ length: 10 }, (_, i) => ns.worker(`m${i}`)))
    const got = await Promise.all(workers.map((worker) => worker.requestAttempts({ workSpecs: ['capped'], numberOfWorkUnits: 2 })))
    expect(got.flat().length).toBe(3)
    expect(await spec.countWorkUnitStatus()).toEqual({ pending: 3, available: 17 })

    // The same straight through the batcher, so a batch surely forms: the first two claims go at
    // once and reach the cap between them; the eight that share the next statement get nothing.
    const other = (await wide.namespace('capped-batch')) as PostgresNamespace
    const capped = (await other.setWorkSpec({ name: 'capped', max_running: 3 })) as PostgresWorkSpec
    await capped.addWorkUnits(Array.from({ length: 20 }, (_, i) => ({ key: `c${i}` })))
    const worker = (await other.worker('m')) as PostgresWorker
    const claims = countClaims(other)
    try {
      const rows = await Promise.all(Array.from({ length: 10 }, () => claimBatched(other.store, claimItem(other, capped, worker, 2, 3))))
      expect(claims.singles).toBe(2)
      expect(claims.batches).toEqual([8])
      expect(rows.flat().length).toBe(3)
    } finally {
      claims.restore()
    }
    expect(await capped.countWorkUnitStatus()).toEqual({ pending: 3, available: 17 })
  })

  it('runs each claim of a batch alone when the batch fails, so only the claim at fault fails', async () => {
    const ns = (await coordinate.namespace('batch-fallback')) as PostgresNamespace
    const spec = (await ns.setWorkSpec({ name: 's' })) as PostgresWorkSpec
    await spec.addWorkUnits(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })))
    const worker = (await ns.worker('alive')) as PostgresWorker
    const claim = (count: number): ClaimItem => claimItem(ns, spec, worker, count, 0)
    const claims = countClaims(ns)
    try {
      // Made together: the first two go at once, the last two share the next statement, where
      // a count that slipped past validation fails the whole statement.
      const results = await Promise.allSettled([claim(2), claim(2), claim(2), claim(-1)].map((item) => claimBatched(ns.store, item)))
      expect(claims.batches).toEqual([2])
      expect(claims.singles).toBe(4)
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected'])
      expect(results[3]?.status === 'rejected' && (results[3].reason as Error).message).toMatch(/LIMIT must not be negative/)
      expect(results.flatMap((result) => (result.status === 'fulfilled' ? result.value : [])).length).toBe(6)
    } finally {
      claims.restore()
    }
    expect(await spec.countWorkUnitStatus()).toEqual({ pending: 6, available: 4 })
  })

  it('fails only the caller whose request is bad, before it joins a batch', async () => {
    const ns = await coordinate.namespace('bad-input')
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnits(Array.from({ length: 8 }, (_, i) => ({ key: `k${i}` })))
    const workers = await Promise.all(Array.from({ length: 4 }, (_, i) => ns.worker(`b${i}`)))
    const results = await Promise.allSettled(
      workers.map((worker, i) => worker.requestAttempts({ workSpecs: ['s'], numberOfWorkUnits: i === 2 ? -1 : 2 })),
    )
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(results[2]?.status === 'rejected' && results[2].reason).toBeInstanceOf(InvalidInputError)
    expect(results.flatMap((result) => (result.status === 'fulfilled' ? result.value : [])).length).toBe(6)
  })
})
