import { type RawBuilder, sql } from 'kysely'

/** A row of guardedUpdateSql(): the new version if updated, and the version found either way. */
export interface GuardedUpdateRow {
  version: string | null
  found: string | null
}

/**
 * UPDATE … SET <assignments> and a new version on one row, only if it is still at `expected`
 * when given (compare-and-swap); also reads the row's version, to tell a conflict from a gone row.
 */
export function guardedUpdateSql(
  table: 'work_unit' | 'work_spec',
  id: string,
  assignments: RawBuilder<unknown>,
  expected: number | undefined,
): RawBuilder<GuardedUpdateRow> {
  const check = expected === undefined ? sql`` : sql`AND version = ${expected}`
  return sql<GuardedUpdateRow>`
    WITH updated AS (
      UPDATE ${sql.table(table)} SET ${assignments}, version = nextval('version_seq')
      WHERE id = ${id} ${check}
      RETURNING version
    )
    SELECT (SELECT version FROM updated) AS version, (SELECT version FROM ${sql.table(table)} WHERE id = ${id}) AS found`
}
