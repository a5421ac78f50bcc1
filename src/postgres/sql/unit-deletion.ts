import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitQuery } from '../../coordinate/api.js'
import { limitSql, workUnitQuerySql } from './fragments.js'

// A unit deletion's statements, run in one transaction (src/postgres/unit-deletion.ts): select,
// then lock the selected units' attempts and the units (sql/lock-order.ts), then delete the
// units, whose trigger deletes the attempts.

/** The units a query selects, in key order; locks nothing. */
export function unitsToDeleteSql(specId: string, query: WorkUnitQuery, now: Date): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      SELECT u.id::text FROM work_unit u
      WHERE ${workUnitQuerySql(specId, query, now)}
      ORDER BY u.name ${limitSql(query)}`
}

/** Deletes those of the selected units that the query still selects, now that they are locked. */
export function deleteStillSelectedUnitsSql(specId: string, query: WorkUnitQuery, now: Date, ids: readonly string[]): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      DELETE FROM work_unit u
      WHERE u.id = ANY(${ids}::bigint[]) AND ${workUnitQuerySql(specId, withoutLimit(query), now)}
      RETURNING u.id::text`
}

function withoutLimit(query: WorkUnitQuery): WorkUnitQuery {
  return { ...query, limit: undefined }
}
