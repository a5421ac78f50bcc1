import { afterAll, describe, expect, it } from 'vitest'
import type { Attempt, Namespace } from '../../src/coordinate/api.js'
import { FakeClock, MINUTE } from '../../src/coordinate/clock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

/** Runs `workers` loops that claim batches and finish them until the spec runs dry; returns unit names in finish order. */
async function drain(namespaces: Namespace[], workers: number, spec: string): Promise<string[]> {
  const done: string[] = []
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      const ns = namespaces[i % namespaces.length]!
      const worker = await ns.worker(`racer-${i}`)
      for (;;) {
        const attempts: Attempt[] = await worker.requestAttempts({ numberOfWorkUnits: 1 + (i % 7) * 5, workSpecs: [spec] })
        if (attempts.length === 0) return
        await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
        for (const a of attempts) done.push(a.workUnit.name)
      }
    }),
  )
  return done
}

describe('claims under concurrency (real server)', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()
  // A second Coordinate on the same database stands in for a second daemon.
  const second: PostgresCoordinate = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0, poolSize: 10 }) : coordinate
  const wide: PostgresCoordinate = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0, poolSize: 16 }) : coordinate
  afterAll(async () => {
    for (const extra of [second, wide]) if (extra !== coordinate) await extra.close()
  })

  it('16 workers on their own connections do each of 10k units exactly once', async () => {
    const ns = await wide.namespace('race16')
    const spec = await ns.setWorkSpec({ name: 'race' })
    await spec.addWorkUnits(Array.from({ length: 10_000 }, (_, i) => ({ key: `u${String(i).padStart(5, '0')}` })))
    const done = await drain([ns], 16, 'race')
    expect(done.length).toBe(10_000)
    expect(new Set(done).size).toBe(10_000)
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 10_000 })
  })

  it('two Coordinates on one database (two daemons) share the work without duplicates', async () => {
    const a = await coordinate.namespace('two-daemons')
    const b = await second.namespace('two-daemons')
    const spec = await a.setWorkSpec({ name: 'shared' })
    await spec.addWorkUnits(Array.from({ length: 4000 }, (_, i) => ({ key: `s${i}` })))
    const done = await drain([a, b], 12, 'shared')
    expect(done.length).toBe(4000)
    expect(new Set(done).size).toBe(4000)
    expect(await (await b.workSpec('shared')).countWorkUnitStatus()).toEqual({ finished: 4000 })
  })

  it('never has more than max_running units pending, as seen by a concurrent observer', async () => {
    const ns = await wide.namespace('capped')
    const spec = await ns.setWorkSpec({ name: 'capped', max_running: 5 })
    await spec.addWorkUnits(Array.from({ length: 600 }, (_, i) => ({ key: `c${i}` })))
    let running = true
    let highest = 0
    let observations = 0
    const observer = (async () => {
      while (running) {
        const pending = (await spec.countWorkUnitStatus()).pending ?? 0
        highest = Math.max(highest, pending)
        observations++
      }
    })()
    const finished: string[] = []
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const worker = await ns.worker(`capped-${i}`)
        for (;;) {
          const attempts = await worker.requestAttempts({ numberOfWorkUnits: 3 })
          if (attempts.length === 0) {
            if ((await spec.countWorkUnitStatus()).available === undefined) return
            continue
          }
          // Hold the lease across a few round trips so workers overlap.
          for (const a of attempts) await a.workUnit.status()
          await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
          finished.push(...attempts.map((a) => a.workUnit.name))
        }
      }),
    )
    running = false
    await observer
    expect(new Set(finished).size).toBe(600)
    expect(observations).toBeGreaterThan(10)
    expect(highest).toBeGreaterThan(0)
    expect(highest).toBeLessThanOrEqual(5)
  })

  it('re-offers a dead worker\'s units once its lease runs out, through the sweep', async () => {
    const ns = await coordinate.namespace('dead-worker')
    const spec = await ns.setWorkSpec({ name: 'work' })
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }])
    const dead = await ns.worker('dead')
    const taken = await dead.requestAttempts({ numberOfWorkUnits: 2, lifetimeMs: MINUTE })
    expect(taken.map((a) => a.workUnit.name)).toEqual(['a', 'b'])
    const alive = await ns.worker('alive')
    expect(await alive.requestAttempts()).toEqual([])
    clock.advance(MINUTE + 1)
    expect(await coordinate.expireLeases()).toBe(2)
    expect(await taken[0]!.status()).toBe('expired')
    expect(await dead.activeAttempts()).toEqual([])
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 2 })
    const again = await alive.requestAttempts({ numberOfWorkUnits: 5 })
    expect(again.map((a) => a.workUnit.name)).toEqual(['a', 'b'])
    await expect(taken[0]!.finish()).rejects.toMatchObject({ code: 'NOT_PENDING' })
  })

  it('sweeps on its own timer', async () => {
    // On PGlite in memory there is only the file's Coordinate, so its clock is the one to move.
    const local = url ? new FakeClock(clock.now()) : clock
    const own = url ? await openCoordinate({ databaseUrl: url, clock: local, leaseSweepMs: 0 }) : coordinate
    try {
      const ns = await own.namespace('sweeper')
      const spec = await ns.setWorkSpec({ name: 'work' })
      await spec.addWorkUnit('a')
      await (await ns.worker('w')).requestAttempts({ lifetimeMs: 1000 })
      local.advance(2000)
      let swept!: () => void
      const sweptOnce = new Promise<void>((resolve) => (swept = resolve))
      own.startLeaseSweeper(5, undefined, (n) => n > 0 && swept())
      await sweptOnce
      own.stopLeaseSweeper()
      const [row] = await spec.workUnitSnapshots(['a'])
      expect(row?.state).toBe('available')
    } finally {
      if (own !== coordinate) await own.close()
    }
  })
})

