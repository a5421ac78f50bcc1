import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { WorkUnitStatus } from '../../src/coordinate/status.js'
import { type WorkUnitSnapshot, snapshotStatus } from '../../src/coordinate/work-unit-snapshot.js'
import { unitStatusSql } from '../../src/postgres/sql/fragments.js'
import { createFileDatabase } from '../support/database.js'

// A unit's status is derived twice: in SQL for reads, counts and queries
// (src/postgres/sql/fragments.ts) and in TypeScript for the cache's snapshots
// (src/coordinate/work-unit-snapshot.ts). One table of cases runs through both, so the two
// rules cannot drift apart.

const NOW = new Date('2026-01-01T12:00:00.000Z')
const at = (offsetMs: number | null) => (offsetMs === null ? null : new Date(NOW.getTime() + offsetMs))

interface Case {
  state: WorkUnitSnapshot['state']
  /** Lease end relative to now (ms), or null. */
  lease: number | null
  /** Not-before relative to now (ms), or null. */
  notBefore: number | null
  status: WorkUnitStatus
}

const CASES: Case[] = [
  { state: 'available', lease: null, notBefore: null, status: 'available' },
  { state: 'available', lease: null, notBefore: -1, status: 'available' },
  { state: 'available', lease: null, notBefore: 0, status: 'available' },
  { state: 'available', lease: null, notBefore: 1, status: 'delayed' },
  { state: 'pending', lease: 1, notBefore: null, status: 'pending' },
  { state: 'pending', lease: 0, notBefore: null, status: 'pending' },
  { state: 'pending', lease: -1, notBefore: null, status: 'available' },
  { state: 'pending', lease: -1, notBefore: 1, status: 'delayed' },
  { state: 'pending', lease: 1, notBefore: 1, status: 'pending' },
  { state: 'pending', lease: null, notBefore: null, status: 'available' },
  { state: 'finished', lease: null, notBefore: null, status: 'finished' },
  { state: 'finished', lease: null, notBefore: 1, status: 'finished' },
  { state: 'failed', lease: -1, notBefore: 1, status: 'failed' },
]

function tsStatus(c: Case): WorkUnitStatus {
  const snapshot: WorkUnitSnapshot = {
    key: new Uint8Array(),
    version: 1,
    state: c.state,
    leaseExpires: at(c.lease),
    notBefore: at(c.notBefore),
    priority: 0,
    unitData: {},
    attemptData: null,
  }
  return snapshotStatus(snapshot, NOW)
}

describe('the unit status rule, in SQL and in TypeScript (real server)', async () => {
  const database = await createFileDatabase()
  const db = database.url === undefined ? undefined : new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) })
  afterAll(async () => {
    await db?.destroy()
    await database.drop()
  })

  it.runIf(db !== undefined)('gives the same status for every case in the table', async () => {
    const rows = sql.join(CASES.map((c, i) => sql`(${i}::integer, ${c.state}::text, ${at(c.lease)}::timestamptz, ${at(c.notBefore)}::timestamptz)`))
    const { rows: fromSql } = await sql<{ i: number; status: WorkUnitStatus }>`
      SELECT u.i, ${unitStatusSql(NOW)} AS status
      FROM (VALUES ${rows}) AS u (i, state, lease_expires, not_before) ORDER BY u.i`.execute(db!)
    const expected = CASES.map((c) => `${c.state} lease ${c.lease} notBefore ${c.notBefore}: ${c.status}`)
    expect(fromSql.map((row, i) => `${CASES[i]!.state} lease ${CASES[i]!.lease} notBefore ${CASES[i]!.notBefore}: ${row.status}`)).toEqual(expected)
    expect(CASES.map((c) => `${c.state} lease ${c.lease} notBefore ${c.notBefore}: ${tsStatus(c)}`)).toEqual(expected)
  })
})
