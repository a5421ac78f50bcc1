import { type RawBuilder, sql } from 'kysely'

// Adding units in bulk (src/postgres/work-unit-upsert.ts runs these).

/** A batch's four columns as Postgres array literals (built by the caller, off the driver). */
export interface UnitColumns {
  names: string
  datas: string
  priorities: string
  notBefores: string
}

function insertSql(specId: string, columns: UnitColumns, onConflict: RawBuilder<unknown>, returning: RawBuilder<unknown>): RawBuilder<{ id: string }> {
  // The key-share lock on the spec row stands in for a foreign key: a concurrent destroyWorkSpec
  // waits for this statement, and its trigger then deletes what we inserted.
  return sql<{ id: string }>`
    INSERT INTO work_unit AS u (work_spec_id, name, data, priority, not_before)
    SELECT s.id, k.name, k.data, k.priority, k.not_before
    FROM (SELECT id FROM work_spec WHERE id = ${specId} FOR KEY SHARE) s,
         unnest(${columns.names}::bytea[], ${columns.datas}::bytea[],
                ${columns.priorities}::double precision[], ${columns.notBefores}::timestamptz[])
           AS k (name, data, priority, not_before)
    ${onConflict}
    ${returning}`
}

/** Inserts new units and counts them; fails with unique_violation if any key exists (0 rows: no spec). */
export function insertWorkUnitsSql(specId: string, columns: UnitColumns): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`WITH inserted AS (${insertSql(specId, columns, sql``, sql`RETURNING 1`)}) SELECT count(*)::integer AS n FROM inserted`
}

/**
 * Upserts units. A new key is inserted; an existing one gets the new data and meta, and if it
 * was finished or failed it becomes available again (its history stays); a pending unit keeps
 * running.
 */
export function upsertWorkUnitsSql(specId: string, columns: UnitColumns): RawBuilder<{ id: string }> {
  return insertSql(
    specId,
    columns,
    sql`ON CONFLICT (work_spec_id, name) DO UPDATE SET
        data = EXCLUDED.data,
        priority = EXCLUDED.priority,
        not_before = EXCLUDED.not_before,
        version = nextval('version_seq'),
        state = CASE WHEN u.state IN ('finished', 'failed') THEN 'available' ELSE u.state END,
        active_attempt_id = CASE WHEN u.state IN ('finished', 'failed') THEN NULL ELSE u.active_attempt_id END`,
    sql`RETURNING id::text`,
  )
}

/** The savepoint a chunk's insert runs under, so a failed insert can fall back to the upsert. */
export const SAVEPOINT_SQL = {
  set: sql`SAVEPOINT add_work_units`,
  release: sql`RELEASE SAVEPOINT add_work_units`,
  rollback: sql`ROLLBACK TO SAVEPOINT add_work_units`,
}
