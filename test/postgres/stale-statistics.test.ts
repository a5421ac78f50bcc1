import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Attempt } from '../../src/coordinate/api.js'
import type { PostgresAttempt } from '../../src/postgres/attempt.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { withSchemaClient } from '../support/schema-client.js'

// Claims and completions must cost O(batch) however stale the planner's statistics are. These
// tests do not time anything: they call the stored functions of src/postgres/sql/ directly, inside a
// transaction that is rolled back, and read what that transaction did to the tables from
// pg_stat_xact_user_tables (per backend, updated as the executor runs, so no waiting).
//
// The setup leaves statistics that know only spec A, then makes spec B with 20,000 units. The
// planner then estimates B at about one row, and the choice between walking the claim index in
// order and reading B through the (work_spec_id, name) unique index and sorting comes down to
// small index details (tree heights, index sizes at the last ANALYZE). Spec 'gone' (40,000
// units, destroyed before the ANALYZE and not vacuumed) leaves the claim index a level deeper
// than the unique index, which on PostgreSQL 15 tips an unpinned claim onto the sort plan: one
// claim reads all 20,000 units of B (checked by hand with `ALTER FUNCTION claim_work_units RESET
// ALL`). A completion of 100 attempts likewise seq-scans the whole attempt table when unpinned.
// With the functions' SET clauses every call reads about as many rows as it changes.

const SCHEMA = 'coordinate'
const B_UNITS = 20_000
const B_CLAIMED = 5_000

interface Counters {
  seq_scan: number
  seq_tup_read: number
  idx_scan: number
  idx_tup_fetch: number
}

type CountersByTable = Record<'work_unit' | 'attempt', Counters>

describe('claims and completions with stale statistics (real server)', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()

  // Filled by beforeAll.
  let ids: { namespace: string; specB: string; worker: string; specCount: string; specVersion: string }
  let pendingB: string[]
  let pendingUnitsB: string[]

  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return withSchemaClient(url, async (client) => (await client.query<R>(text, values)).rows, SCHEMA)
  }

  async function counters(client: pg.Client): Promise<CountersByTable> {
    const { rows } = await client.query<Counters & { relname: 'work_unit' | 'attempt' }>(
      `SELECT relname, seq_scan::int, seq_tup_read::int, idx_scan::int, idx_tup_fetch::int
       FROM pg_stat_xact_user_tables WHERE schemaname = $1 AND relname IN ('work_unit', 'attempt')`,
      [SCHEMA],
    )
    const zero = { seq_scan: 0, seq_tup_read: 0, idx_scan: 0, idx_tup_fetch: 0 }
    const by = { work_unit: { ...zero }, attempt: { ...zero } }
    for (const { relname, ...rest } of rows) by[relname] = rest
    return by
  }

  /**
   * Runs `statement` on a fresh session inside BEGIN … ROLLBACK and returns its rows with what
   * it did to work_unit and attempt (the difference of the transaction's counters around it).
   */
  async function measure(statement: string, values: unknown[]): Promise<{ rows: Record<string, unknown>[]; read: CountersByTable }> {
    return withSchemaClient(url, async (client) => {
      await client.query('BEGIN')
      const before = await counters(client)
      const { rows } = await client.query(statement, values)
      const after = await counters(client)
      await client.query('ROLLBACK')
      const diff = (table: 'work_unit' | 'attempt'): Counters => ({
        seq_scan: after[table].seq_scan - before[table].seq_scan,
        seq_tup_read: after[table].seq_tup_read - before[table].seq_tup_read,
        idx_scan: after[table].idx_scan - before[table].idx_scan,
        idx_tup_fetch: after[table].idx_tup_fetch - before[table].idx_tup_fetch,
      })
      return { rows, read: { work_unit: diff('work_unit'), attempt: diff('attempt') } }
    }, SCHEMA)
  }

  const claimCall = `SELECT unit_id::text, convert_from(unit_name, 'UTF8') AS name, attempt_id::text
    FROM claim_work_units($1::bigint, $2::bigint, $3::integer, $4::timestamptz, $5::timestamptz, 0, false,
      $6::bigint, $7::bigint, $8::bigint)`

  /** claim_work_units' arguments for `limit` units of B, with or without the remembered-choice fingerprint. */
  function claimArgs(limit: number, fingerprint: boolean): unknown[] {
    const now = clock.now()
    const expiration = new Date(now.getTime() + 60_000)
    const checks = fingerprint ? [ids.namespace, ids.specCount, ids.specVersion] : [null, null, null]
    return [ids.specB, ids.worker, limit, now, expiration, ...checks]
  }

  const completeCall = `SELECT complete_attempts($1::bigint[], $2::bigint[], $3::text[], $4::bytea[], $5::timestamptz, false) IS NOT NULL AS returned`

  beforeAll(async () => {
    if (url === undefined) return
    // No autovacuum or autoanalyze may refresh the statistics (or clean up) mid-file.
    await query('ALTER TABLE work_unit SET (autovacuum_enabled = false)')
    await query('ALTER TABLE attempt SET (autovacuum_enabled = false)')
    const ns = await coordinate.namespace('stale')
    const gone = await ns.setWorkSpec({ name: 'gone' })
    await gone.addWorkUnits(Array.from({ length: 40_000 }, (_, i) => ({ key: `g${String(i).padStart(5, '0')}` })))
    await ns.destroyWorkSpec('gone')
    const a = await ns.setWorkSpec({ name: 'A' })
    await a.addWorkUnits(Array.from({ length: 2_000 }, (_, i) => ({ key: `a${String(i).padStart(5, '0')}` })))
    const worker = await ns.worker('w')
    for (let i = 0; i < 4; i++) {
      const got = await worker.requestAttempts({ numberOfWorkUnits: 450, workSpecs: ['A'] })
      await ns.completeAttempts(got.map((attempt) => ({ attempt, status: 'finished' as const })))
    }
    // From here on the statistics know spec A (and 1,800 attempts) only.
    await query('ANALYZE')
    const b = await ns.setWorkSpec({ name: 'B' })
    await b.addWorkUnits(Array.from({ length: B_UNITS }, (_, i) => ({ key: `b${String(i).padStart(5, '0')}` })))
    const claimed: Attempt[] = []
    while (claimed.length < B_CLAIMED) claimed.push(...(await worker.requestAttempts({ numberOfWorkUnits: 500, workSpecs: ['B'] })))
    pendingB = claimed.map((attempt) => attempt.id)
    pendingUnitsB = claimed.map((attempt) => (attempt as PostgresAttempt).workUnit.id)
    const [row] = await query<{ namespace: string; specB: string; worker: string; specCount: string; specVersion: string }>(
      `SELECT n.id::text AS namespace, (SELECT id::text FROM work_spec WHERE namespace_id = n.id AND name = 'B') AS "specB",
         (SELECT id::text FROM worker WHERE namespace_id = n.id AND name = 'w') AS worker,
         (SELECT count(*)::text FROM work_spec WHERE namespace_id = n.id) AS "specCount",
         (SELECT max(version)::text FROM work_spec WHERE namespace_id = n.id) AS "specVersion"
       FROM namespace n WHERE n.name = 'stale'`,
    )
    ids = row!
  }, 60_000)

  it.runIf(url !== undefined)('sets the scene: the statistics know only spec A and a fraction of the attempts', async () => {
    const [stats] = await query<{ unit_tuples: number; units: number; attempt_tuples: number; attempts: number; known_specs: string | null }>(
      `SELECT (SELECT reltuples FROM pg_class WHERE oid = 'work_unit'::regclass) AS unit_tuples,
         (SELECT count(*)::int FROM work_unit) AS units,
         (SELECT reltuples FROM pg_class WHERE oid = 'attempt'::regclass) AS attempt_tuples,
         (SELECT count(*)::int FROM attempt) AS attempts,
         (SELECT most_common_vals::text FROM pg_stats WHERE schemaname = $1 AND tablename = 'work_unit' AND attname = 'work_spec_id') AS known_specs`,
      [SCHEMA],
    )
    expect(stats!.unit_tuples).toBeLessThanOrEqual(2_000)
    expect(stats!.units).toBe(2_000 + B_UNITS)
    expect(stats!.unit_tuples * 5).toBeLessThan(stats!.units)
    expect(stats!.attempt_tuples).toBeLessThanOrEqual(1_800)
    expect(stats!.attempts).toBe(1_800 + B_CLAIMED)
    expect(stats!.known_specs).not.toContain(ids.specB)
  })

  it.runIf(url !== undefined)('claims one unit of the new spec without reading its other units', async () => {
    const { rows, read } = await measure(claimCall, claimArgs(1, false))
    // Claim order: the first unit of B that the library has not taken yet.
    expect(rows).toMatchObject([{ name: `b${String(B_CLAIMED).padStart(5, '0')}` }])
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.seq_tup_read).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(50)
    expect(read.attempt.seq_scan).toBe(0)
  })

  it.runIf(url !== undefined)('claims one unit through the remembered-choice checks without reading B\'s leases or units', async () => {
    const { rows, read } = await measure(claimCall, claimArgs(1, true))
    expect(rows).toMatchObject([{ name: `b${String(B_CLAIMED).padStart(5, '0')}` }])
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(50)
    // 5,000 leases of B are out: the lapsed-lease check probes for one, it does not read them.
    expect(read.attempt.seq_scan).toBe(0)
    expect(read.attempt.idx_tup_fetch).toBeLessThan(50)
  })

  it.runIf(url !== undefined)('a claim of 100 reads about 100 units', async () => {
    const { rows, read } = await measure(claimCall, claimArgs(100, false))
    expect(rows).toHaveLength(100)
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(250)
  })

  it.runIf(url !== undefined)('tells whether the new spec has a unit available with one probe', async () => {
    const { rows, read } = await measure('SELECT spec_has_available_unit($1::bigint, $2::timestamptz) AS has', [ids.specB, clock.now()])
    expect(rows).toEqual([{ has: true }])
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(50)
  })

  it.runIf(url !== undefined)('completes one attempt without reading the attempt table', async () => {
    const id = pendingB[pendingB.length - 1]!
    const unitId = pendingUnitsB[pendingUnitsB.length - 1]!
    const { rows, read } = await measure(completeCall, [[unitId], [id], ['finished'], [null], clock.now()])
    expect(rows).toEqual([{ returned: true }])
    expect(read.attempt.seq_scan).toBe(0)
    expect(read.attempt.idx_tup_fetch).toBeLessThan(10)
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(10)
  })

  it.runIf(url !== undefined)('completes 100 attempts with about 100 probes of each table', async () => {
    const batch = pendingB.slice(0, 100)
    const { rows, read } = await measure(completeCall, [pendingUnitsB.slice(0, 100), batch, batch.map(() => 'finished'), batch.map(() => null), clock.now()])
    expect(rows).toEqual([{ returned: true }])
    expect(read.attempt.seq_scan).toBe(0)
    expect(read.attempt.seq_tup_read).toBe(0)
    expect(read.attempt.idx_tup_fetch).toBeLessThan(250)
    expect(read.work_unit.seq_scan).toBe(0)
    expect(read.work_unit.idx_tup_fetch).toBeLessThan(250)
  })

  it.runIf(url !== undefined)('left the data as it was: every measured call was rolled back', async () => {
    expect(await (await (await coordinate.namespace('stale')).workSpec('B')).countWorkUnitStatus()).toEqual({
      pending: B_CLAIMED,
      available: B_UNITS - B_CLAIMED,
    })
  })
})
