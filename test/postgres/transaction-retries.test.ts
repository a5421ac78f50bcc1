import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import type { PostgresNamespace } from '../../src/postgres/namespace.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { Store } from '../../src/postgres/store.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

const { url } = await openTestCoordinate()

// What each run of the transaction meets, from the real server: a deadlock victim's error
// (raised with its SQLSTATE), or its own connection ended under it (pg_terminate_backend).
type Failure = 'deadlock' | 'connection lost'
const FAIL = {
  deadlock: sql`DO $$ BEGIN RAISE EXCEPTION 'chosen as deadlock victim' USING ERRCODE = '40P01'; END $$`,
  'connection lost': sql`SELECT pg_terminate_backend(pg_backend_pid())`,
}

async function runThrough(store: Store, failures: readonly Failure[]): Promise<{ result: string; runs: number }> {
  let runs = 0
  const result = await store.transaction(async (trx) => {
    const failure = failures[runs++]
    if (failure !== undefined) await FAIL[failure].execute(trx)
    return (await sql<{ ok: string }>`SELECT 'done' AS ok`.execute(trx)).rows[0]!.ok
  })
  return { result, runs }
}

// A pool of one gives a transaction two tries after a lost connection (one more than the pool
// holds), so the budget is small enough to see what uses it up. Only on a server: embedded
// PGlite has no backend to terminate.
describe.runIf(url !== undefined)('Store.transaction on a pool of one runs a transaction again', async () => {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0, poolSize: 1 })
  afterAll(() => coordinate.close())
  const store = ((await coordinate.namespace('retries')) as PostgresNamespace).store

  it('after two deadlocks and then a lost connection: deadlock reruns do not use up the tries a lost connection gets', async () => {
    const before = store.deadlockRetries
    expect(await runThrough(store, ['deadlock', 'deadlock', 'connection lost'])).toEqual({ result: 'done', runs: 4 })
    expect(store.deadlockRetries - before).toBe(2)
  })

  it('but not after a second lost connection, which says nothing was applied', async () => {
    await expect(runThrough(store, ['connection lost', 'connection lost'])).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE', applied: 'no' })
  })
})
