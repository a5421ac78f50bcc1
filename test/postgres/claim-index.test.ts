import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import type { PostgresAttempt } from '../../src/postgres/attempt.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { withSchemaClient } from '../support/schema-client.js'

// The claim index (migrations/0001_baseline.ts) selects claimable units by `active_attempt_id IS NULL` rather than by
// `state = 'available'`, which is right only while every write keeps the two in step, and
// pays off only if completions then update unit rows in place (HOT).

const SCHEMA = 'coordinate'

describe('the claim index keyed on the active attempt (real server)', async () => {
  const { coordinate, clock, url } = await openTestCoordinate()

  const withClient = <T>(fn: (client: pg.Client) => Promise<T>) => withSchemaClient(url, fn, SCHEMA)

  /** Units whose stored state and active attempt disagree about being available. */
  async function outOfStep(namespace: string): Promise<{ name: string; state: string }[]> {
    return withClient(async (client) =>
      (
        await client.query<{ name: string; state: string }>(
          `SELECT convert_from(u.name, 'UTF8') AS name, u.state FROM work_unit u
           JOIN work_spec s ON s.id = u.work_spec_id JOIN namespace n ON n.id = s.namespace_id
           WHERE n.name = $1 AND (u.state = 'available') <> (u.active_attempt_id IS NULL)`,
          [namespace],
        )
      ).rows,
    )
  }

  it.runIf(url !== undefined)('keeps every unit available exactly when it has no active attempt, through every transition', async () => {
    const ns = await coordinate.namespace('ci-transitions')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const keys = ['finished', 'failed', 'retried', 'expired', 'cleared', 'forced', 'readded', 'lapsed', 'untouched']
    await spec.addWorkUnits(keys.map((key) => ({ key })))
    const worker = await ns.worker('w')
    const claimed = await worker.requestAttempts({ numberOfWorkUnits: 8, lifetimeMs: MINUTE })
    const byKey = new Map(claimed.map((attempt) => [attempt.workUnit.name, attempt]))
    expect([...byKey.keys()].sort()).toEqual(keys.slice(0, 8).sort())
    expect(await outOfStep('ci-transitions')).toEqual([])

    await byKey.get('finished')!.finish()
    await byKey.get('failed')!.fail()
    await byKey.get('retried')!.retry()
    await byKey.get('expired')!.expire()
    await byKey.get('cleared')!.finish()
    await (await spec.workUnit('cleared')).clearActiveAttempt()
    await byKey.get('forced')!.finish()
    await worker.makeAttempt(await spec.workUnit('forced'))
    await byKey.get('readded')!.finish()
    await spec.addWorkUnit('readded', { again: true })
    clock.advance(2 * MINUTE)
    await coordinate.expireLeases()
    expect(await outOfStep('ci-transitions')).toEqual([])

    // What a claim now offers is what reads as available ('forced' holds a fresh 15-minute lease).
    const expected: Record<string, string> = { finished: 'finished', failed: 'failed', forced: 'pending' }
    for (const key of keys) expect([key, await (await spec.workUnit(key)).status()]).toEqual([key, expected[key] ?? 'available'])
    const again = await worker.requestAttempts({ numberOfWorkUnits: 20 })
    expect(again.map((attempt) => attempt.workUnit.name).sort()).toEqual(keys.filter((key) => !(key in expected)).sort())
    expect(await outOfStep('ci-transitions')).toEqual([])
  })

  it.runIf(url !== undefined)('finishes a unit with an in-place (HOT) update of its row', async () => {
    const ns = await coordinate.namespace('ci-hot')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}` })))
    const [attempt] = await (await ns.worker('w')).requestAttempts()
    const updates = await withClient(async (client) => {
      await client.query('BEGIN')
      await client.query(`SELECT complete_attempts(ARRAY[$1]::bigint[], ARRAY[$2]::bigint[], ARRAY['finished'], ARRAY[NULL]::bytea[], $3, false)`, [
        (attempt as PostgresAttempt).workUnit.id,
        attempt!.id,
        clock.now(),
      ])
      const { rows } = await client.query<{ n_tup_upd: number; n_tup_hot_upd: number }>(
        `SELECT n_tup_upd::int, n_tup_hot_upd::int FROM pg_stat_xact_user_tables WHERE schemaname = $1 AND relname = 'work_unit'`,
        [SCHEMA],
      )
      await client.query('COMMIT')
      return rows[0]
    })
    expect(updates).toEqual({ n_tup_upd: 1, n_tup_hot_upd: 1 })
    expect(await (await spec.workUnit('k0')).status()).toBe('finished')
  })
})
