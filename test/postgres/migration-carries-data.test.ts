import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { FakeClock, MINUTE } from '../../src/coordinate/clock.js'
import { encodeData } from '../../src/coordinate/cbor-data.js'
import type { Attempt, WorkUnit } from '../../src/coordinate/api.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { schemaMigrator } from '../../src/postgres/migrate.js'
import { createFileDatabase } from '../support/database.js'
import { withSchemaClient } from '../support/schema-client.js'

// A database filled while it had only the baseline schema, written row by row as that
// release's code left its rows (units in every state, attempts in every status, with the
// baseline's `active` flag on each, workers with a parent), then opened by the current code:
// the migrations after the baseline must carry every row across so that each read answers as
// before, and the next claim and completion work on the old rows. They rewrite no table (a
// rewrite would lock a large store for as long as it copies): every row keeps its place.

const SCHEMA = 'coordinate'
const T0 = Date.UTC(2026, 0, 1)
const HOUR = 60 * MINUTE

/** Migrates the schema (created first when `create`) up or down to the named migration. */
async function migrateTo(url: string | undefined, migration: string, create: boolean): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${SCHEMA}` })
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
  try {
    if (create) await pool.query(`CREATE SCHEMA ${SCHEMA}`)
    const { error } = await schemaMigrator(db, SCHEMA).migrateTo(migration)
    expect(error).toBeUndefined()
  } finally {
    await db.destroy()
  }
}

describe('a database filled under the baseline schema, then migrated (real server)', async () => {
  const database = await createFileDatabase()
  const url = database.url
  afterAll(() => database.drop())

  /** Builds the baseline schema and fills it; returns the attempt ids by name. */
  async function fillBaseline(): Promise<Record<string, string>> {
    await migrateTo(url, '0001_baseline', true)
    return withSchemaClient(url, async (client) => {
      const at = (ms: number) => new Date(T0 + ms)
      const one = async (text: string, values: unknown[]) => (await client.query<{ id: string }>(text, values)).rows[0]!.id
      const ns = await one(`INSERT INTO namespace (name) VALUES ('old') RETURNING id::text`, [])
      const spec = await one(`INSERT INTO work_spec (namespace_id, name, data) VALUES ($1, 'spec', $2) RETURNING id::text`, [
        ns,
        Buffer.from(encodeData({ name: 'spec' })),
      ])
      const worker = (name: string, parent: string | null) =>
        one(`INSERT INTO worker (namespace_id, name, parent_id, data, expiration, last_update) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`, [
          ns,
          name,
          parent,
          Buffer.from(encodeData({})),
          at(HOUR),
          at(0),
        ])
      const parent = await worker('parent', null)
      const child = await worker('child', parent)
      const other = await worker('other', null)
      const unit = (name: string, state: string, notBefore: Date | null) =>
        one(`INSERT INTO work_unit (work_spec_id, name, data, state, not_before) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`, [
          spec,
          Buffer.from(name),
          Buffer.from(encodeData({ unit: name })),
          state,
          notBefore,
        ])
      // An attempt as the baseline's code wrote it: `active` true exactly while pending.
      const attempt = (unitId: string, workerId: string, status: string, start: number, end: number | null, expiration: number, data: object | null) =>
        one(
          `INSERT INTO attempt (work_unit_id, work_spec_id, worker_id, status, data, start_time, end_time, expiration_time, active)
           VALUES ($1, $2, $3, $4::text, $5, $6, $7, $8, $4::text = 'pending') RETURNING id::text`,
          [unitId, spec, workerId, status, data && Buffer.from(encodeData(data as never)), at(start), end === null ? null : at(end), at(expiration)],
        )
      const activate = (unitId: string, attemptId: string, state: string, lease: number | null) =>
        client.query(`UPDATE work_unit SET state = $2, active_attempt_id = $3, lease_expires = $4 WHERE id = $1`, [
          unitId,
          state,
          attemptId,
          lease === null ? null : at(lease),
        ])

      await unit('fresh', 'available', null)
      const expired = await unit('expired', 'available', null)
      const expiredAttempt = await attempt(expired, other, 'expired', -2 * HOUR, -HOUR, -HOUR, null)
      const delayed = await unit('delayed', 'available', at(HOUR))
      const retryable = await attempt(delayed, other, 'retryable', -HOUR, -HOUR / 2, HOUR, { why: 'later' })
      const pending = await unit('pending', 'pending', null)
      const running = await attempt(pending, child, 'pending', -MINUTE, null, HOUR, null)
      await activate(pending, running, 'pending', HOUR)
      const lapsed = await unit('lapsed', 'pending', null)
      const lapsedAttempt = await attempt(lapsed, other, 'pending', -2 * HOUR, null, -HOUR, null)
      await activate(lapsed, lapsedAttempt, 'pending', -HOUR)
      const finished = await unit('finished', 'finished', null)
      const finishedAttempt = await attempt(finished, child, 'finished', -HOUR, -HOUR / 2, HOUR, { out: 1 })
      await activate(finished, finishedAttempt, 'finished', null)
      const failed = await unit('failed', 'failed', null)
      const firstTry = await attempt(failed, other, 'expired', -3 * HOUR, -2 * HOUR, -2 * HOUR, null)
      const failedAttempt = await attempt(failed, child, 'failed', -HOUR, -HOUR / 2, HOUR, { traceback: 'boom' })
      await activate(failed, failedAttempt, 'failed', null)
      return { expiredAttempt, retryable, running, lapsedAttempt, finishedAttempt, firstTry, failedAttempt }
    })
  }

  /** Where each unit and attempt row is stored, and the two tables' storage parameters. */
  const storage = () =>
    withSchemaClient(url, async (client) => ({
      places: (await client.query(`SELECT 'unit ' || id || ' ' || ctid AS place FROM work_unit UNION ALL SELECT 'attempt ' || id || ' ' || ctid FROM attempt ORDER BY 1`)).rows,
      options: (await client.query(`SELECT relname, reloptions FROM pg_class WHERE oid IN ('work_unit'::regclass, 'attempt'::regclass) ORDER BY relname`)).rows,
    }))

  it.runIf(url !== undefined)('reads every unit, attempt and worker as before, then claims and completes', async () => {
    const ids = await fillBaseline()
    const before = await storage()
    const clock = new FakeClock(T0)
    const coordinate = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 })
    try {
      // Room for HOT updates (0004) on pages filled from now on; the old rows stay put.
      const after = await storage()
      expect(after.places).toEqual(before.places)
      expect(after.options).toEqual([
        { relname: 'attempt', reloptions: ['fillfactor=50'] },
        { relname: 'work_unit', reloptions: ['fillfactor=40'] },
      ])
      const ns = await coordinate.namespace('old')
      const spec = await ns.workSpec('spec')
      const units = new Map((await spec.workUnits()).map((unit) => [unit.name, unit]))
      const statusOf = async (unit: WorkUnit) => [unit.name, await unit.status()]
      expect(await Promise.all([...units.values()].map(statusOf))).toEqual([
        ['delayed', 'delayed'],
        ['expired', 'available'],
        ['failed', 'failed'],
        ['finished', 'finished'],
        ['fresh', 'available'],
        ['lapsed', 'available'],
        ['pending', 'pending'],
      ])
      expect(await spec.countWorkUnitStatus()).toEqual({ available: 3, delayed: 1, pending: 1, finished: 1, failed: 1 })

      const describeAttempt = async (attempt: Attempt) => ({
        id: attempt.id,
        worker: attempt.worker.name,
        status: await attempt.status(),
        data: await attempt.data(),
        end: (await attempt.endTime())?.getTime() ?? null,
      })
      const unit = (key: string) => units.get(key)!
      const active = async (key: string) => {
        const attempt = await unit(key).activeAttempt()
        return attempt && (await describeAttempt(attempt))
      }
      expect(await active('fresh')).toBeNull()
      expect(await active('expired')).toBeNull()
      expect(await active('lapsed')).toBeNull()
      expect(await active('pending')).toEqual({ id: ids.running, worker: 'child', status: 'pending', data: { unit: 'pending' }, end: null })
      expect(await active('finished')).toEqual({ id: ids.finishedAttempt, worker: 'child', status: 'finished', data: { out: 1 }, end: T0 - HOUR / 2 })
      expect(await active('failed')).toEqual({ id: ids.failedAttempt, worker: 'child', status: 'failed', data: { traceback: 'boom' }, end: T0 - HOUR / 2 })
      const history = async (key: string) => Promise.all((await unit(key).attempts()).map(async (a) => [a.id, await a.status()]))
      expect(await history('failed')).toEqual([
        [ids.firstTry, 'expired'],
        [ids.failedAttempt, 'failed'],
      ])
      expect(await history('lapsed')).toEqual([[ids.lapsedAttempt, 'expired']])
      expect(await history('delayed')).toEqual([[ids.retryable, 'retryable']])
      expect(await unit('failed').numAttempts()).toBe(2)
      const snapshots = await spec.workUnitSnapshots(['finished', 'pending', 'fresh'])
      expect(snapshots.map((s) => [new TextDecoder().decode(s.key), s.state, s.leaseExpires?.getTime() ?? null, s.attemptData])).toEqual([
        ['finished', 'finished', null, { out: 1 }],
        ['fresh', 'available', null, null],
        ['pending', 'pending', T0 + HOUR, null],
      ])

      const child = await ns.worker('child')
      const parent = await ns.worker('parent')
      const other = await ns.worker('other')
      expect((await child.activeAttempts()).map((a) => a.id)).toEqual([ids.running])
      expect((await parent.childAttempts()).map((a) => a.id)).toEqual([ids.running])
      expect(await other.activeAttempts()).toEqual([])
      expect((await other.allAttempts()).map((a) => a.id)).toEqual([ids.expiredAttempt, ids.retryable, ids.lapsedAttempt, ids.firstTry])
      expect((await child.parent())?.name).toBe('parent')

      // The next claim takes the three available units (the lapsed lease among them, its old
      // attempt written down as expired) and nothing else; the completion finishes them.
      const claimed = await other.requestAttempts({ numberOfWorkUnits: 10, lifetimeMs: MINUTE })
      expect(claimed.map((a) => a.workUnit.name).sort()).toEqual(['expired', 'fresh', 'lapsed'])
      expect((await other.activeAttempts()).map((a) => a.id).sort()).toEqual(claimed.map((a) => a.id).sort())
      await ns.completeAttempts(claimed.map((attempt) => ({ attempt, status: 'finished' as const })))
      expect(await other.activeAttempts()).toEqual([])
      expect(await history('lapsed')).toEqual([
        [ids.lapsedAttempt, 'expired'],
        [claimed.find((a) => a.workUnit.name === 'lapsed')!.id, 'finished'],
      ])
      // The attempt that was running before the migration finishes like a new one.
      const running = (await child.activeAttempts())[0]!
      await running.finish({ done: true })
      expect(await child.activeAttempts()).toEqual([])
      expect(await unit('pending').status()).toBe('finished')
      expect(await spec.countWorkUnitStatus()).toEqual({ delayed: 1, finished: 5, failed: 1 })
      clock.advance(2 * HOUR)
      const later = await other.requestAttempts({ numberOfWorkUnits: 10 })
      expect(later.map((a) => a.workUnit.name)).toEqual(['delayed'])
      await later[0]!.fail({ traceback: 'again' })
      expect(await history('delayed')).toEqual([
        [ids.retryable, 'retryable'],
        [later[0]!.id, 'failed'],
      ])
    } finally {
      await coordinate.close()
    }
  })
})

// A database whose unit counts (0003) still hold deltas in 0003's form, one row per (spec,
// state) and statement, not yet folded: 0005 folds them into the totals before it changes the
// delta rows' form, so every count reads as before, and later writes add deltas in the new form.
describe('unit-count deltas written under 0004, then migrated (real server)', async () => {
  const database = await createFileDatabase()
  const url = database.url
  afterAll(() => database.drop())

  it.runIf(url !== undefined)('keeps every count across the change of the delta rows', async () => {
    await migrateTo(url, '0004_room_for_hot_updates', true)
    await withSchemaClient(url, async (client) => {
      const ns = (await client.query<{ id: string }>(`INSERT INTO namespace (name) VALUES ('old') RETURNING id::text`)).rows[0]!.id
      for (const name of ['a', 'b']) {
        const spec = (
          await client.query<{ id: string }>(`INSERT INTO work_spec (namespace_id, name, data) VALUES ($1, $2, $3) RETURNING id::text`, [
            ns,
            name,
            Buffer.from(encodeData({ name })),
          ])
        ).rows[0]!.id
        // Statements as 0004's code made them: each leaves its deltas, per (spec, state).
        await client.query(`INSERT INTO work_unit (work_spec_id, name, data) SELECT $1, ('u' || g)::bytea, '\\xa0' FROM generate_series(1, 20) g`, [spec])
        await client.query(`UPDATE work_unit SET state = 'finished' WHERE work_spec_id = $1 AND name IN ('u1', 'u2', 'u3')`, [spec])
        await client.query(`UPDATE work_unit SET state = 'failed' WHERE work_spec_id = $1 AND name = 'u4'`, [spec])
        await client.query(`DELETE FROM work_unit WHERE work_spec_id = $1 AND name IN ('u5', 'u6')`, [spec])
      }
      const deltas = await client.query<{ n: number }>(`SELECT count(*)::integer AS n FROM work_unit_count_delta`)
      expect(deltas.rows[0]!.n).toBeGreaterThan(0)
    })

    const coordinate = await openCoordinate({ databaseUrl: url, clock: new FakeClock(T0), leaseSweepMs: 0 })
    try {
      const ns = await coordinate.namespace('old')
      const [a, b] = [await ns.workSpec('a'), await ns.workSpec('b')]
      const migrated = { available: 14, finished: 3, failed: 1 }
      expect(await a.countWorkUnitStatus()).toEqual(migrated)
      expect(await b.countWorkUnitStatus()).toEqual(migrated)
      // Folded and replaced: the old deltas are in the totals, the new table has none yet.
      const kept = await withSchemaClient(url, async (client) => ({
        deltas: (await client.query(`SELECT * FROM work_unit_count_delta`)).rows,
        totals: (await client.query(`SELECT s.name, c.state, c.n::integer AS n FROM work_unit_count c JOIN work_spec s ON s.id = c.work_spec_id ORDER BY 1, 2`)).rows,
      }))
      expect(kept.deltas).toEqual([])
      expect(kept.totals).toEqual(
        ['a', 'b'].flatMap((name) => [
          { name, state: 'available', n: 14 },
          { name, state: 'failed', n: 1 },
          { name, state: 'finished', n: 3 },
        ]),
      )

      // Claims, completions and adds after the migration write one delta row per statement and spec.
      const worker = await ns.worker('w')
      const claimed = await worker.requestAttempts({ numberOfWorkUnits: 4, workSpecs: ['a'] })
      expect(claimed).toHaveLength(4)
      expect(await a.countWorkUnitStatus()).toEqual({ ...migrated, available: 10, pending: 4 })
      await ns.completeAttempts(claimed.map((attempt, i) => ({ attempt, status: i === 0 ? ('failed' as const) : ('finished' as const) })))
      await b.addWorkUnits([{ key: 'new1' }, { key: 'new2' }])
      expect(await a.countWorkUnitStatus()).toEqual({ available: 10, finished: 6, failed: 2 })
      expect(await b.countWorkUnitStatus()).toEqual({ ...migrated, available: 16 })
      const rows = await withSchemaClient(url, (client) =>
        client.query(`SELECT s.name, d.available::integer AS available, d.pending::integer AS pending, d.finished::integer AS finished,
                        d.failed::integer AS failed FROM work_unit_count_delta d JOIN work_spec s ON s.id = d.work_spec_id ORDER BY d.ctid`),
      )
      expect(rows.rows).toEqual([
        { name: 'a', available: -4, pending: 4, finished: 0, failed: 0 },
        { name: 'a', available: 0, pending: -4, finished: 3, failed: 1 },
        { name: 'b', available: 2, pending: 0, finished: 0, failed: 0 },
      ])

      // Down to 0004 again: 0003's counts are back, the units counted again as 0003 counts them.
      await migrateTo(url, '0004_room_for_hot_updates', false)
      await withSchemaClient(url, async (client) => {
        const kept = await client.query(`SELECT s.name || '/' || c.state AS k, sum(c.n)::integer AS n
          FROM (SELECT work_spec_id, state, n FROM work_unit_count UNION ALL SELECT work_spec_id, state, n FROM work_unit_count_delta) c
          JOIN work_spec s ON s.id = c.work_spec_id GROUP BY 1 HAVING sum(c.n) <> 0 ORDER BY 1`)
        const counted = await client.query(`SELECT s.name || '/' || u.state AS k, count(*)::integer AS n
          FROM work_unit u JOIN work_spec s ON s.id = u.work_spec_id GROUP BY 1 ORDER BY 1`)
        expect(kept.rows).toEqual(counted.rows)
        expect(counted.rows).toHaveLength(6)
      })
    } finally {
      await coordinate.close()
    }
  })
})
