import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitQuery } from '../../coordinate/api.js'
import { limitSql, workUnitQuerySql } from './fragments.js'

// A unit deletion's statements, run in this order in one transaction (src/postgres/unit-deletion.ts).
// Every writer that touches both an attempt and its unit locks the attempt first (completion,
// release, lease expiry, renewal), so a deletion does too: it locks the attempts of the units it
// selected, then the units, and only then deletes the units, whose trigger deletes the attempts.

/** A unit a deletion selected, and the active attempt it had then. */
export interface UnitToDelete {
  id: string
  active_attempt_id: string | null
}

/** The units a query selects (among `within`, when given), in key order, with their active attempts; locks nothing. */
export function unitsToDeleteSql(specId: string, query: WorkUnitQuery, now: Date, within?: readonly string[]): RawBuilder<UnitToDelete> {
  const among = within === undefined ? sql`` : sql`AND u.id = ANY(${within}::bigint[])`
  return sql<UnitToDelete>`
      SELECT u.id::text, u.active_attempt_id::text FROM work_unit u
      WHERE ${workUnitQuerySql(specId, query, now)} ${among}
      ORDER BY u.name ${within === undefined ? limitSql(query) : sql``}`
}

/**
 * Deletes the units that still match the query and still have the active attempt they had when
 * selected: a unit claimed since has an attempt whose lock this deletion does not hold yet, so
 * it is left for another round.
 */
export function deleteUnchangedUnitsSql(specId: string, query: WorkUnitQuery, now: Date, units: readonly UnitToDelete[]): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      DELETE FROM work_unit u
      USING unnest(${units.map((unit) => unit.id)}::bigint[], ${units.map((unit) => unit.active_attempt_id)}::bigint[]) AS s (id, active)
      WHERE u.id = s.id AND u.active_attempt_id IS NOT DISTINCT FROM s.active AND ${workUnitQuerySql(specId, withoutLimit(query), now)}
      RETURNING u.id::text`
}

function withoutLimit(query: WorkUnitQuery): WorkUnitQuery {
  return { ...query, limit: undefined }
}
