import { decodeDataDict } from '../coordinate/cbor-data.js'
import type { WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import type { SnapshotRow } from './sql/work-unit.js'

/** A WorkUnitSnapshot from a row of workUnitSnapshotsSql(). */
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
