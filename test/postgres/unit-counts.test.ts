import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { Namespace, WorkSpec } from '../../src/coordinate/api.js'
import { FakeClock, MINUTE } from '../../src/coordinate/clock.js'
import { CoordinateError } from '../../src/coordinate/errors.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import { schemaMigrator } from '../../src/postgres/migrate.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { unitStatusSql } from '../../src/postgres/sql/fragments.js'
import { createFileDatabase } from '../support/database.js'

// The unit counts the database keeps (migrations/0003_unit_counts.ts) against a COUNT(*) of
// every unit's derived status, read in one snapshot: they must agree at every moment, not
// only once writers are done.

const SCHEMA = 'coordinate'
const SPECS = ['alpha', 'beta', 'gamma']

type Counts = Record<string, number>

/** Kept and counted units per "spec/status" at `now`, both in one REPEATABLE READ snapshot. */
async function bothCounts(db: Kysely<unknown>, now: Date): Promise<{ kept: Counts; counted: Counts }> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const kept = await sql<{ k: string; n: number }>`
        SELECT s.name || '/' || c.status AS k, c.count::integer AS n
        FROM work_unit_counts(ARRAY(SELECT id FROM work_spec), ${now}) c JOIN work_spec s ON s.id = c.spec_id`.execute(trx)
      const counted = await sql<{ k: string; n: number }>`
        SELECT s.name || '/' || ${unitStatusSql(now)} AS k, count(*)::integer AS n
        FROM work_unit u JOIN work_spec s ON s.id = u.work_spec_id GROUP BY 1`.execute(trx)
      const asRecord = (rows: { k: string; n: number }[]): Counts => Object.fromEntries(rows.map((r) => [r.k, r.n]).sort())
      return { kept: asRecord(kept.rows), counted: asRecord(counted.rows) }
    })
}

/** Adds units of every kind: plain, delayed, claimed (some to lapse), finished, failed. */
async function fill(ns: Namespace, clock: FakeClock, prefix: string, n: number): Promise<void> {
  const worker = await ns.worker(`filler-${prefix}`)
  for (const name of SPECS) {
    const spec = await ns.workSpec(name)
    await spec.addWorkUnits(
      Array.from({ length: n }, (_, i) => ({
        key: `${prefix}${i}`,
        ...(i % 7 === 0 ? { meta: { notBefore: new Date(clock.now().getTime() + (i % 2 === 0 ? MINUTE : 3 * MINUTE)) } } : {}),
      })),
    )
    // Half the leases lapse when the clock moves two minutes on.
    const lapsing = await worker.requestAttempts({ numberOfWorkUnits: Math.floor(n / 6), workSpecs: [name], lifetimeMs: MINUTE })
    const attempts = await worker.requestAttempts({ numberOfWorkUnits: Math.floor(n / 6), workSpecs: [name], lifetimeMs: 5 * MINUTE })
    expect(lapsing.length + attempts.length).toBe(2 * Math.floor(n / 6))
    await ns.completeAttempts(attempts.slice(0, 10).map((attempt, i) => ({ attempt, status: i % 2 === 0 ? ('finished' as const) : ('failed' as const) })))
  }
}

// A unit deleted meanwhile, or a lease the clock ended, is a race this test makes on purpose.
function lostRace(error: unknown): void {
  if (!(error instanceof CoordinateError) || !['GONE', 'NOT_PENDING', 'LOST_LEASE'].includes(error.code)) throw error
}

describe('kept unit counts (real server)', async () => {
  const database = await createFileDatabase()
  const url = database.url
  const db = url === undefined ? undefined : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${SCHEMA}` }) }) })
  const clock = new FakeClock()
  let coordinate: PostgresCoordinate | undefined
  afterAll(async () => {
    await coordinate?.close()
    await db?.destroy()
    await database.drop()
  })

  it.runIf(url !== undefined)('start from the units a database migrated before them holds', async () => {
    const before = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 })
    const ns = await before.namespace('counts')
    for (const name of SPECS) await ns.setWorkSpec({ name })
    await fill(ns, clock, 'old', 300)
    await before.close()
    // Back to the schema before the counts existed, with its units still there.
    const { error } = await schemaMigrator(db!, SCHEMA).migrateTo('0001_baseline')
    expect(error).toBeUndefined()
    const tables = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM pg_class WHERE relname LIKE 'work_unit_count%'`.execute(db!)
    expect(tables.rows).toEqual([{ n: 0 }])

    coordinate = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0, poolSize: 12 })
    clock.advance(2 * MINUTE) // some leases lapse, some not-befores pass
    const { kept, counted } = await bothCounts(db!, clock.now())
    expect(kept).toEqual(counted)
    expect(Object.keys(kept)).toEqual(expect.arrayContaining(['alpha/available', 'alpha/pending', 'alpha/delayed', 'alpha/finished', 'alpha/failed']))
  })

  it.runIf(url !== undefined)('stay exact at every moment under concurrent claims, completions, retries, deletes and bulk adds', async () => {
    const ns = await coordinate!.namespace('counts')
    const specs: WorkSpec[] = await Promise.all(SPECS.map((name) => ns.workSpec(name)))
    let running = true
    let checks = 0
    let round = 0
    const mismatches: string[] = []
    // A failing task is recorded, never left to reject unawaited: every task settles before the
    // test goes on, so a failure is reported as itself and nothing still runs when afterAll
    // closes the pool and drops the database.
    const failures: string[] = []
    const record = (task: string) => (error: unknown) => {
      failures.push(`${task}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    }
    const whileRunning = (task: string, step: () => Promise<void>): Promise<void> =>
      (async () => {
        while (running && failures.length === 0) await step()
      })().catch(record(task))
    const checker = whileRunning('checker', async () => {
      const { kept, counted } = await bothCounts(db!, clock.now())
      if (JSON.stringify(kept) !== JSON.stringify(counted)) mismatches.push(JSON.stringify({ kept, counted }))
      checks++
    })
    const folder = whileRunning('folder', async () => {
      await sql`SELECT fold_work_unit_counts()`.execute(db!)
    })
    const workers = Array.from({ length: 6 }, async (_, w) => {
      const worker = await ns.worker(`w${w}`)
      for (let i = 0; i < 40 && failures.length === 0; i++) {
        const attempts = await worker.requestAttempts({ numberOfWorkUnits: w % 2 === 0 ? 1 : 10, lifetimeMs: MINUTE })
        for (const [j, attempt] of attempts.entries()) {
          const pick = (i + j + w) % 5
          // pick 4: left running, to lapse when the clock moves
          const done =
            pick === 0 ? attempt.finish() : pick === 1 ? attempt.fail() : pick === 2 ? attempt.retry(undefined, (j % 2) * MINUTE) : pick === 3 ? attempt.expire() : null
          await done?.catch(lostRace)
        }
        if (w === 0 && i % 5 === 0) clock.advance(MINUTE / 2)
      }
    }).map((task, w) => task.catch(record(`worker w${w}`)))
    const others = (async () => {
      for (; round < 30 && failures.length === 0; round++) {
        const spec = specs[round % (round > 20 ? 2 : specs.length)]!
        await spec.addWorkUnits(Array.from({ length: 50 }, (_, i) => ({ key: `new${round}-${i}`, meta: { priority: i % 3 } })))
        // Re-adding existing keys resets finished and failed units (an upsert: insert and update at once).
        await spec.addWorkUnits(Array.from({ length: 20 }, (_, i) => ({ key: `old${round * 5 + i}` })))
        await spec.deleteWorkUnits({ statuses: [round % 2 === 0 ? 'finished' : 'failed'], limit: 10 })
        await spec.setWorkUnitPriorities({ statuses: ['available'], limit: 20 }, round)
        if (round === 20) await ns.destroyWorkSpec(SPECS[2]!)
      }
    })().catch(record(`adder, round ${round}`))
    await Promise.all([...workers, others])
    running = false
    await Promise.all([checker, folder])
    expect(failures).toEqual([])
    await coordinate!.expireLeases()
    expect(mismatches.slice(0, 1)).toEqual([])
    expect(checks).toBeGreaterThan(10)

    // What the API answers agrees with a count of every unit, for every scope.
    const { counted } = await bothCounts(db!, clock.now())
    const fromSummary = Object.fromEntries((await coordinate!.summarize()).map((r) => [`${r.workSpec}/${r.status}`, r.count]).sort())
    expect(fromSummary).toEqual(counted)
    expect(Object.keys(counted).some((k) => k.startsWith('gamma/'))).toBe(false)
    for (const spec of specs.slice(0, 2)) {
      const own = Object.fromEntries(Object.entries(counted).filter(([k]) => k.startsWith(`${spec.name}/`)).map(([k, n]) => [k.split('/')[1]!, n]))
      expect(await spec.countWorkUnitStatus()).toEqual(own)
      const meta = await spec.meta({ withCounts: true })
      expect([meta.availableCount, meta.pendingCount]).toEqual([own.available ?? 0, own.pending ?? 0])
    }
    // A fold moves every delta into the totals and changes no count.
    await sql`SELECT fold_work_unit_counts()`.execute(db!)
    const deltas = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM work_unit_count_delta`.execute(db!)
    expect(deltas.rows).toEqual([{ n: 0 }])
    expect((await bothCounts(db!, clock.now())).kept).toEqual(counted)
  })
})
