import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitQuery } from '../../coordinate/api.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import type { WorkUnitSnapshot } from '../../coordinate/work-unit-snapshot.js'
import { activeAttemptIdSql, limitSql, unitStatusSql, workUnitQuerySql } from './fragments.js'

// Statements on work_unit rows (src/postgres/work-spec.ts and work-unit.ts run them; adding
// units is ./add-work-units.ts, claiming them ./claim.ts).

/** The columns snapshotFromRow() reads. */
export interface SnapshotRow {
  name: Uint8Array
  version: string | number
  state: WorkUnitSnapshot['state']
  lease_expires: Date | null
  not_before: Date | null
  priority: number
  unit_data: Uint8Array
  attempt_data: Uint8Array | null
}

/** Snapshot columns of the units `u` matching `where`, with their active attempt's data. */
function snapshotSql(where: RawBuilder<unknown>): RawBuilder<SnapshotRow> {
  return sql<SnapshotRow>`
    SELECT u.name, u.version, u.state, u.lease_expires, u.not_before, u.priority, u.data AS unit_data,
           a.data AS attempt_data
    FROM work_unit u LEFT JOIN attempt a ON a.work_unit_id = u.id AND a.id = u.active_attempt_id
    WHERE ${where}`
}

/** One unit's snapshot. */
export function workUnitSnapshotSql(unitId: string): RawBuilder<SnapshotRow> {
  return snapshotSql(sql`u.id = ${unitId}`)
}

/** Snapshots of a spec's units with these names, in key order. */
export function workUnitSnapshotsSql(specId: string, names: readonly Buffer[]): RawBuilder<SnapshotRow> {
  return snapshotSql(sql`u.work_spec_id = ${specId} AND u.name = ANY(${names}::bytea[]) ORDER BY u.name`)
}

/** The id of a spec's unit with this key. */
export function workUnitIdSql(specId: string, name: Buffer): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`SELECT id::text FROM work_unit WHERE work_spec_id = ${specId} AND name = ${name}`
}

/** The units a query selects, in key order. */
export function workUnitsSql(specId: string, query: WorkUnitQuery, now: Date): RawBuilder<{ id: string; name: Uint8Array }> {
  return sql<{ id: string; name: Uint8Array }>`
      SELECT u.id::text, u.name FROM work_unit u
      WHERE ${workUnitQuerySql(specId, query, now)}
      ORDER BY u.name ${limitSql(query)}`
}

/** Sets the priority of the units a query selects to `value` (an expression on work_unit). */
export function updatePrioritiesSql(specId: string, query: WorkUnitQuery, now: Date, value: RawBuilder<unknown>): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      UPDATE work_unit SET priority = ${value}, version = nextval('version_seq')
      WHERE id IN (SELECT u.id FROM work_unit u WHERE ${workUnitQuerySql(specId, query, now)} ORDER BY u.name ${limitSql(query)})
      RETURNING id`
}

/** The active attempt's data if it has its own, else the unit's. */
export function workUnitDataSql(unitId: string, now: Date): RawBuilder<{ data: Uint8Array }> {
  return sql<{ data: Uint8Array }>`
      SELECT COALESCE(a.data, u.data) AS data
      FROM work_unit u LEFT JOIN attempt a ON a.work_unit_id = u.id AND a.id = ${activeAttemptIdSql(now)}
      WHERE u.id = ${unitId}`
}

/** A unit's status at `now`. */
export function workUnitStatusSql(unitId: string, now: Date): RawBuilder<{ status: WorkUnitStatus }> {
  return sql<{ status: WorkUnitStatus }>`SELECT ${unitStatusSql(now)} AS status FROM work_unit u WHERE u.id = ${unitId}`
}

/** A unit's priority and not-before. */
export function workUnitMetaSql(unitId: string): RawBuilder<{ priority: number; not_before: Date | null }> {
  return sql<{ priority: number; not_before: Date | null }>`SELECT priority, not_before FROM work_unit WHERE id = ${unitId}`
}

/** Sets a unit's priority (unless null) and not-before (unless undefined; null clears it). */
export function updateWorkUnitMetaSql(unitId: string, priority: number | null, notBefore: Date | null | undefined): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      UPDATE work_unit SET
        priority = COALESCE(${priority}::double precision, priority),
        not_before = CASE WHEN ${notBefore !== undefined} THEN ${notBefore ?? null}::timestamptz ELSE not_before END,
        version = nextval('version_seq')
      WHERE id = ${unitId} RETURNING id`
}

/** Makes a unit available; its running attempt no longer decides the status. */
export function clearActiveAttemptSql(unitId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      UPDATE work_unit SET active_attempt_id = NULL, state = 'available', lease_expires = NULL, version = nextval('version_seq')
      WHERE id = ${unitId} RETURNING id`
}

/** How many attempts a unit has had. */
export function numAttemptsSql(unitId: string): RawBuilder<{ n: number }> {
  return sql<{ n: number }>`SELECT count(*)::integer AS n FROM attempt WHERE work_unit_id = ${unitId}`
}

/** The assignment that replaces a unit's own data (for guardedUpdateSql). */
export function unitDataAssignment(data: Buffer): RawBuilder<unknown> {
  return sql`data = ${data}`
}

/** updatePrioritiesSql's value that sets every priority to `priority`. */
export function priorityValueSql(priority: number): RawBuilder<unknown> {
  return sql`${priority}::double precision`
}

/** updatePrioritiesSql's value that adds `delta` to every priority. */
export function priorityDeltaSql(delta: number): RawBuilder<unknown> {
  return sql`work_unit.priority + ${delta}::double precision`
}
