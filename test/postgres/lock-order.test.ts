import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import type { Attempt, AttemptCompletion, Namespace, WorkSpec } from '../../src/coordinate/api.js'
import { MINUTE } from '../../src/coordinate/clock.js'
import { CoordinateError, DeletionConflictError } from '../../src/coordinate/errors.js'
import type { PostgresAttempt } from '../../src/postgres/attempt.js'
import type { PostgresNamespace } from '../../src/postgres/namespace.js'
import { lockLateAttemptsSql } from '../../src/postgres/sql/lock-order.js'
import { waitForLockWait } from '../support/lock-wait.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// Every writer locks a unit's attempts, in (unit, attempt) order, before the unit; otherwise
// two writers deadlock and Postgres aborts one of them. Store runs a deadlock victim's
// statement again, and counts it: with one lock order that count stays 0.

const { coordinate, clock, url } = await openTestCoordinate()
const ROUNDS = 100
const UNITS = 24
const SWEEP_ROUNDS = 20

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

/** A namespace whose spec 'spec' holds units 'a' and 'b', each with a pending attempt of worker 'w'. */
async function twoUnitsWithAttempts(name: string): Promise<{ ns: Namespace; spec: WorkSpec; attempts: Attempt[] }> {
  const ns = await coordinate.namespace(name)
  const worker = await ns.worker('w')
  const spec = await ns.setWorkSpec({ name: 'spec' })
  await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }])
  const attempts = [await worker.makeAttempt(await spec.workUnit('a')), await worker.makeAttempt(await spec.workUnit('b'))]
  return { ns, spec, attempts }
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

describe.runIf(url !== undefined)('lease expiry and unit deletion on the same units (real server)', () => {
  it('never deadlock, and every unit is either deleted or freed with its attempt expired', async () => {
    const ns = await coordinate.namespace('lease-order')
    const worker = await ns.worker('w')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const before = coordinate.observability().deadlockRetries()
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const keys = Array.from({ length: UNITS }, (_, i) => `r${round}-${String(i).padStart(2, '0')}`)
      await spec.addWorkUnits(keys.map((key) => ({ key })))
      const units = await Promise.all(keys.map((key) => spec.workUnit(key)))
      // Leases made last-unit first and lapsing in that order: a sweep that took its rows in
      // the order it finds them would lock them against the (unit, attempt) order.
      for (let i = UNITS - 1; i >= 0; i--) await worker.makeAttempt(units[i]!, (UNITS - i) * 1000)
      clock.advance(UNITS * 1000 + 1)
      const sweeps = [coordinate.expireLeases(), coordinate.expireLeases()]
      const deletions = [spec.deleteWorkUnits({ names: keys.slice(0, UNITS / 2 + 2) }), spec.deleteWorkUnits({ names: keys.slice(UNITS / 2 - 2).reverse() })]
      const expired = (await Promise.all(sweeps)).reduce((a, b) => a + b, 0)
      const removed = (await Promise.all(deletions)).reduce((a, b) => a + b, 0)
      const left = await spec.workUnits({ names: keys })
      expect(removed + left.length).toBe(UNITS)
      expect(expired).toBeGreaterThanOrEqual(left.length)
      expect(expired).toBeLessThanOrEqual(UNITS)
      for (const unit of left) expect(await unit.status()).toBe('available')
    }
    expect(coordinate.observability().deadlockRetries() - before).toBe(0)
  }, 120_000)
})

describe.runIf(url !== undefined)('a writer Postgres picks as a deadlock victim', () => {
  // One writer that runs as a single statement, one that runs as a transaction.
  const writers = {
    'a completion batch (one statement)': async (ns: Namespace, attempts: Attempt[]) => {
      await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
      return { finished: 2 }
    },
    'a unit deletion (a transaction)': async (ns: Namespace) => {
      expect(await (await ns.workSpec('spec')).deleteWorkUnits({ names: ['a', 'b'] })).toBe(2)
      return {}
    },
  }

  it.each(Object.entries(writers))('runs again once the other writer is done, and is counted: %s', async (title, write) => {
    const { ns, spec, attempts } = await twoUnitsWithAttempts(`deadlock-victim ${title}`)
    const before = coordinate.observability().deadlockRetries()
    // A session that takes the two attempts in the wrong order, against a writer that takes
    // them in the right one. It waits ten times longer than the writer before checking for a
    // deadlock, so the writer's check finds the cycle and the writer is the victim.
    const other = new pg.Client({ connectionString: url })
    await other.connect()
    const lockAttempt = (key: string) =>
      other.query(`SELECT 1 FROM coordinate.attempt a JOIN coordinate.work_unit u ON u.id = a.work_unit_id WHERE u.name = '${key}'::bytea FOR UPDATE OF a`)
    try {
      await other.query("SET deadlock_timeout = '10s'")
      await other.query('BEGIN')
      await lockAttempt('b')
      const written = write(ns, attempts)
      await waitForLockWait(other)
      await lockAttempt('a')
      // The victim's locks go when Postgres aborts it; the writer hears of it a round trip later
      // (a transaction's after its ROLLBACK). Once, unless a loaded host let the writer's next
      // try take the lock before this session woke.
      await vi.waitFor(() => expect(coordinate.observability().deadlockRetries() - before).toBeGreaterThanOrEqual(1), { timeout: 5_000, interval: 10 })
      await other.query('COMMIT')
      const expected = await written
      expect(await spec.countWorkUnitStatus()).toEqual(expected)
    } finally {
      await other.end()
    }
  }, 30_000)
})

// A unit of this namespace's spec 'spec', by key: its attempts (`a`) or the unit itself (`u`).
const UNIT_ROWS = `coordinate.attempt a JOIN coordinate.work_unit u ON u.id = a.work_unit_id
  JOIN coordinate.work_spec s ON s.id = u.work_spec_id JOIN coordinate.namespace n ON n.id = s.namespace_id
  WHERE n.name = $1 AND s.name = 'spec' AND u.name = $2::bytea`

describe.runIf(url !== undefined)('deletions that start from the spec or the units, against a writer holding an attempt', () => {
  // A session holds a unit's attempt and then asks for the unit, as a completion does. A
  // deletion that locked the unit first and waits for the attempt closes a cycle: Postgres
  // aborts the deletion, which runs again and is counted. One that takes the attempts first
  // waits at the attempt, holding nothing the session asks for.
  const deletions = {
    destroyWorkSpec: async (ns: Namespace) => {
      await ns.destroyWorkSpec('spec')
      expect(await ns.workSpecNames()).toEqual([])
    },
    'prune of finished units': async (ns: Namespace) => {
      await coordinate.prune({ finishedUnitsOlderThanMs: MINUTE })
      expect(await (await ns.workSpec('spec')).workUnits({})).toEqual([])
    },
  }

  it.each(Object.entries(deletions))('takes the attempts first, so never deadlocks: %s', async (title, remove) => {
    const { ns, attempts } = await twoUnitsWithAttempts(`attempts-first ${title}`)
    await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
    clock.advance(2 * MINUTE)
    const before = coordinate.observability().deadlockRetries()
    const other = new pg.Client({ connectionString: url })
    await other.connect()
    try {
      // Ten times the deletion's deadlock_timeout: if there is a cycle, the deletion's check finds it.
      await other.query("SET deadlock_timeout = '10s'")
      await other.query('BEGIN')
      await other.query(`SELECT 1 FROM ${UNIT_ROWS} FOR UPDATE OF a`, [ns.name, 'b'])
      const removed = remove(ns)
      await waitForLockWait(other)
      await other.query(`SELECT 1 FROM ${UNIT_ROWS} FOR UPDATE OF u`, [ns.name, 'b'])
      await other.query('COMMIT')
      await removed
    } finally {
      await other.end()
    }
    expect(coordinate.observability().deadlockRetries() - before).toBe(0)
  }, 30_000)
})

describe.runIf(url !== undefined)('pruning attempts, against a writer that locks them in order', () => {
  const policies = { 'old attempts': { attemptsOlderThanMs: MINUTE }, 'attempts beyond the newest': { keepAttemptsPerUnit: 0 } }

  it.each(Object.entries(policies))('takes them in (unit, attempt) order, so never deadlocks: %s', async (title, policy) => {
    const ns = await coordinate.namespace(`attempts in order ${title}`)
    const worker = await ns.worker('w')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }])
    const units = [await spec.workUnit('a'), await spec.workUnit('b')]
    // Unit b's attempt made and finished first, so a scan meets it before unit a's; then
    // pending ones that leave both inactive, so prunable.
    const ofB = await worker.makeAttempt(units[1]!)
    await ofB.finish()
    const ofA = await worker.makeAttempt(units[0]!)
    await ofA.finish()
    const ended = [ofA, ofB]
    for (const unit of units) await worker.makeAttempt(unit)
    clock.advance(2 * MINUTE)
    const before = coordinate.observability().deadlockRetries()
    const other = new pg.Client({ connectionString: url })
    await other.connect()
    const lock = (attempt: Attempt) => other.query('SELECT 1 FROM coordinate.attempt WHERE id = $1 FOR UPDATE', [(attempt as PostgresAttempt).id])
    try {
      await other.query("SET deadlock_timeout = '10s'")
      await other.query('BEGIN')
      await lock(ended[0]!)
      const pruned = coordinate.prune(policy)
      await waitForLockWait(other)
      await lock(ended[1]!)
      await other.query('COMMIT')
      expect((await pruned).attempts).toBeGreaterThanOrEqual(2)
    } finally {
      await other.end()
    }
    expect(coordinate.observability().deadlockRetries() - before).toBe(0)
    for (const unit of units) expect(await unit.attempts()).toHaveLength(1)
  }, 30_000)
})

describe.runIf(url !== undefined)('a unit deletion whose units keep getting attempts it cannot lock', () => {
  /**
   * Runs `spec.deleteWorkUnits({})` while, in its first `rounds` rounds, another session gives
   * unit 'a' a new attempt and holds it just as the deletion goes to lock late attempts: what a
   * claim landing between the deletion's attempt and unit locks, and a completion of its
   * attempt, would leave. Returns the deletion's outcome and how many attempts were planted.
   */
  async function deleteAgainstPlantedAttempts(title: string, rounds: number): Promise<{ outcome: Promise<number>; planted: () => number; ns: Namespace }> {
    const ns = await coordinate.namespace(`planted ${title}`)
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await ns.worker('w')
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }, { key: 'c' }])
    const { store } = ns as PostgresNamespace
    const other = new pg.Client({ connectionString: url })
    await other.connect()
    const rows = store.rows.bind(store)
    const lateLock = lockLateAttemptsSql([]).compile(store.db).sql
    let planted = 0
    const spy = vi.spyOn(store, 'rows').mockImplementation(async (query, executor) => {
      const plant = planted < rounds && query.compile(executor ?? store.db).sql === lateLock
      if (plant) {
        planted++
        const made = await other.query<{ id: string }>(
          `INSERT INTO coordinate.attempt (work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
           SELECT u.id, u.work_spec_id, w.id, now(), now() + interval '1 minute'
           FROM coordinate.work_unit u JOIN coordinate.work_spec s ON s.id = u.work_spec_id
           JOIN coordinate.namespace n ON n.id = s.namespace_id JOIN coordinate.worker w ON w.namespace_id = n.id
           WHERE n.name = $1 AND s.name = 'spec' AND u.name = 'a'::bytea RETURNING id::text`,
          [ns.name],
        )
        await other.query('BEGIN')
        await other.query('SELECT 1 FROM coordinate.attempt WHERE id = $1 FOR UPDATE', [made.rows[0]!.id])
      }
      try {
        return await rows(query, executor)
      } finally {
        if (plant) await other.query('COMMIT')
      }
    })
    const outcome = spec.deleteWorkUnits({}).finally(async () => {
      spy.mockRestore()
      await other.end()
    })
    return { outcome, planted: () => planted, ns }
  }

  it('starts again from the selection when a round cannot take every attempt, and deletes everything', async () => {
    const { outcome, planted, ns } = await deleteAgainstPlantedAttempts('once', 1)
    expect(await outcome).toBe(3)
    expect(planted()).toBe(1)
    expect(await (await ns.workSpec('spec')).workUnits({})).toEqual([])
  })

  it('gives up with DeletionConflictError after ten such rounds, having deleted nothing', async () => {
    const { outcome, planted, ns } = await deleteAgainstPlantedAttempts('always', Number.POSITIVE_INFINITY)
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DeletionConflictError)
    expect(error).toMatchObject({ code: 'CONFLICT', rounds: 10 })
    expect(planted()).toBe(10)
    const spec = await ns.workSpec('spec')
    expect((await spec.workUnits({})).map((unit) => unit.name)).toEqual(['a', 'b', 'c'])
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 3 })
  })
})
