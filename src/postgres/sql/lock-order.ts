import { type RawBuilder, sql } from 'kysely'

// The one order writers lock rows in: a unit's attempts before the unit, attempts by (unit id,
// attempt id), units by id. Completions, releases, lease expiry and renewals reach the attempt
// first by their nature (they update it, then its unit); makeAttempt and every deletion of units
// (deleteWorkUnits, destroyWorkSpec, prune), which start from the unit or the spec, take these
// locks first (src/postgres/make-attempt.ts, unit-deletion.ts).

/** The units a lock statement covers: these ids, or every unit of one spec (however many). */
export type UnitSet = readonly string[] | { readonly specId: string }

/** True when a unit set names no unit by id (a spec's units are counted only by the database). */
export function isEmptyUnitSet(units: UnitSet): boolean {
  return !('specId' in units) && units.length === 0
}

// A spec's units are named by a subquery, so a spec of millions of units never passes through Node.
function unitIdIn(units: UnitSet): RawBuilder<unknown> {
  return 'specId' in units ? sql`IN (SELECT id FROM work_unit WHERE work_spec_id = ${units.specId})` : sql`= ANY(${units}::bigint[])`
}

/**
 * Locks every attempt of these units in (unit, attempt) order, the order a completion batch
 * locks its attempts in (attempt-completion.ts sorts its batch so). Then lockUnitsSql: with every
 * lock taken in one global order, a completion and a deletion (or two deletions) of the same
 * units cannot wait on each other in a cycle.
 */
export function lockAttemptsSql(units: UnitSet): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
      WITH attempts AS (
        SELECT 1 FROM attempt WHERE work_unit_id ${unitIdIn(units)} ORDER BY work_unit_id, id FOR UPDATE
      )
      SELECT (SELECT count(*) FROM attempts)::integer AS n`
}

/** Locks these units in id order (after their attempts: lockAttemptsSql). */
export function lockUnitsSql(units: UnitSet): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
      WITH units AS (SELECT 1 FROM work_unit WHERE id ${unitIdIn(units)} ORDER BY id FOR UPDATE)
      SELECT (SELECT count(*) FROM units)::integer AS n`
}

/**
 * Run once the units are locked: locks their attempts again, without waiting. It takes only the
 * attempts a claim made between lockAttemptsSql and lockUnitsSql (no attempt is made for a unit
 * without its lock, so none can come later), and fails with lock_not_available rather than wait
 * for one: waiting for an attempt while holding its unit is the cycle this order rules out.
 */
export function lockLateAttemptsSql(units: UnitSet): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
      WITH attempts AS (SELECT 1 FROM attempt WHERE work_unit_id ${unitIdIn(units)} FOR UPDATE NOWAIT)
      SELECT (SELECT count(*) FROM attempts)::integer AS n`
}

/** Orders bigint ids given as decimal strings (no leading zeros) without parsing them, as the locks are taken. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
