import { type RawBuilder, sql } from 'kysely'
import { decodeDataDict } from '../coordinate/cbor-data.js'
import type { WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'

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

/** SELECT of snapshot columns for units `u` matching `where`, with their active attempt's data. */
export function snapshotSql(where: RawBuilder<unknown>): RawBuilder<SnapshotRow> {
  return sql<SnapshotRow>`
    SELECT u.name, u.version, u.state, u.lease_expires, u.not_before, u.priority, u.data AS unit_data,
           a.data AS attempt_data
    FROM work_unit u LEFT JOIN attempt a ON a.id = u.active_attempt_id
    WHERE ${where}`
}

/** A WorkUnitSnapshot from a row of snapshotSql(). */
export function snapshotFromRow(row: SnapshotRow): WorkUnitSnapshot {
  return {
    key: new Uint8Array(row.name),
    version: Number(row.version),
    state: row.state,
    leaseExpires: row.lease_expires,
    notBefore: row.not_before,
    priority: row.priority,
    unitData: decodeDataDict(row.unit_data),
    attemptData: row.attempt_data === null ? null : decodeDataDict(row.attempt_data),
  }
}
