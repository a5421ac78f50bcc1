import { type RawBuilder, sql } from 'kysely'

// The one order writers lock rows in: a unit's attempts before the unit, attempts by (unit id,
// attempt id), units by id. Completions, releases, lease expiry and renewals reach the attempt
// first by their nature (they update it, then its unit); a unit deletion and makeAttempt, which
// start from the unit, take these locks first (src/postgres/unit-deletion.ts, make-attempt.ts).

/**
 * Locks every attempt of these units in (unit, attempt) order, the order a completion batch
 * locks its attempts in (attempt-completion.ts sorts its batch so). Then lockUnitsSql: with every
 * lock taken in one global order, a completion and a deletion (or two deletions) of the same
 * units cannot wait on each other in a cycle.
 */
export function lockAttemptsSql(unitIds: readonly string[]): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
      WITH attempts AS (
        SELECT 1 FROM attempt WHERE work_unit_id = ANY(${unitIds}::bigint[]) ORDER BY work_unit_id, id FOR UPDATE
      )
      SELECT (SELECT count(*) FROM attempts)::integer AS n`
}

/** Locks these units in id order (after their attempts: lockAttemptsSql). */
export function lockUnitsSql(unitIds: readonly string[]): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`
      WITH units AS (SELECT 1 FROM work_unit WHERE id = ANY(${unitIds}::bigint[]) ORDER BY id FOR UPDATE)
      SELECT (SELECT count(*) FROM units)::integer AS n`
}

/** Orders bigint ids given as decimal strings (no leading zeros) without parsing them, as the locks are taken. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
