import type { DataDict } from './data.js'
import type { WorkUnitStatus } from './status.js'
import type { WorkSpecMeta } from './work-spec-meta.js'

/** Everything a cache needs to answer a unit's reads at any later time, from one row. */
export interface WorkUnitSnapshot {
  key: Uint8Array
  /** Bumped by every write to the unit, attempts included; compare to order snapshots. */
  version: number
  /** The stored state: the active attempt's status, or available. */
  state: 'available' | 'pending' | 'finished' | 'failed'
  /** When the active pending attempt's lease ends (null unless pending). */
  leaseExpires: Date | null
  notBefore: Date | null
  priority: number
  /** The unit's own data. */
  unitData: DataDict
  /** The active attempt's own data, if it has any. */
  attemptData: DataDict | null
}

/** A spec's definition and meta (without counts) with its row version. */
export interface WorkSpecSnapshot {
  data: DataDict
  meta: WorkSpecMeta
  version: number
}

/** The status a snapshot implies at `now`; a lease ends strictly after its expiration. */
export function snapshotStatus(snapshot: WorkUnitSnapshot, now: Date): WorkUnitStatus {
  if (snapshot.state === 'finished' || snapshot.state === 'failed') return snapshot.state
  if (snapshot.state === 'pending' && snapshot.leaseExpires !== null && snapshot.leaseExpires.getTime() >= now.getTime()) {
    return 'pending'
  }
  if (snapshot.notBefore !== null && snapshot.notBefore.getTime() > now.getTime()) return 'delayed'
  return 'available'
}

/** The effective data a snapshot implies at `now`: an attempt whose lease ran out no longer counts. */
export function snapshotData(snapshot: WorkUnitSnapshot, now: Date): DataDict {
  const leaseRanOut =
    snapshot.state === 'pending' && (snapshot.leaseExpires === null || snapshot.leaseExpires.getTime() < now.getTime())
  if (leaseRanOut || snapshot.state === 'available') return snapshot.unitData
  return snapshot.attemptData ?? snapshot.unitData
}
