import type { DataDict, DataValue } from '../../coordinate/data.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'

/** Unit counts of one spec by status; statuses with none may be left out. */
export type UnitCounts = Partial<Record<WorkUnitStatus, number>>

/** One page of a spec's units: keys strictly after `after`, in key order. */
export interface UnitPageQuery {
  statuses?: readonly WorkUnitStatus[]
  after?: Uint8Array
  limit: number
}

/** A unit as listings show it. */
export interface UnitEntry {
  key: Uint8Array
  data: DataDict
}

/** Where one unit stands, as `work_unit` shows it. */
export interface UnitStatusEntry {
  key: Uint8Array
  status: WorkUnitStatus
  workerId?: string
  /** The lease's end while pending. */
  expiration?: Date
  traceback?: DataValue
}

/** A unit to add: the key and data of one JSON line's entry. */
export interface NewUnit {
  key: string
  data: DataDict
}

/** A worker as `workers` lists it. */
export interface WorkerEntry {
  name: string
  mode: string
  /** Active and within its heartbeat lifetime. */
  alive: boolean
}

/** Which units `clear` deletes: every unit, or those with these keys and/or this status. */
export type UnitSelection = { all: true } | { all?: false; keys?: readonly string[]; status?: WorkUnitStatus }

/**
 * What the `coordinate` command needs from a Coordinate, whichever way it is reached: the
 * library (a database URL, or a REST daemon through a client Coordinate) or a CBOR-RPC daemon.
 * Operations on a spec that does not exist throw NoSuchWorkSpecError.
 */
export interface Operations {
  /** Where the operations go, for messages (passwords hidden). */
  readonly target: string
  /** Units per addUnits call that suit this transport, when it has a preference. */
  readonly loadBatchSize?: number
  /** Every spec name, sorted. */
  workSpecNames(): Promise<string[]>
  /** The spec's definition, or null if there is none. */
  workSpec(name: string): Promise<DataDict | null>
  /** Creates or replaces a spec. */
  setWorkSpec(spec: DataDict): Promise<void>
  /** Deletes a spec and its units; false if there was none. */
  deleteWorkSpec(name: string): Promise<boolean>
  /** Deletes every spec; returns how many. */
  deleteAllWorkSpecs(): Promise<number>
  countUnits(name: string): Promise<UnitCounts>
  /** Adds (or replaces) units in one request; nothing is added if it fails. */
  addUnits(name: string, units: readonly NewUnit[]): Promise<void>
  unitPage(name: string, query: UnitPageQuery): Promise<UnitEntry[]>
  /** Status of each key, null for keys with no unit. */
  unitStatuses(name: string, keys: readonly string[]): Promise<(UnitStatusEntry | null)[]>
  /** Makes these units available again if they failed; returns how many were retried. */
  retryUnits(name: string, keys: readonly Uint8Array[]): Promise<number>
  /** Sets the priority of these units (missing keys are skipped). */
  prioritize(name: string, keys: readonly string[], priority: number): Promise<void>
  /** Deletes the selected units; returns how many. */
  deleteUnits(name: string, selection: UnitSelection): Promise<number>
  setPaused(name: string, paused: boolean): Promise<void>
  /** Live workers, or with `all` every one known (where the transport can tell). */
  workers(all: boolean): Promise<WorkerEntry[]>
  /** A worker's last reported environment, or null if it is unknown. */
  workerInfo(name: string): Promise<DataDict | null>
  /** The daemon's worker counts (num_workers, num_children, num_expirable). */
  workerStats(): Promise<DataDict>
  close(): Promise<void>
}
