import type { DataDict, WorkUnitKey } from './data.js'
import type { AttemptStatus, WorkUnitStatus } from './status.js'
import type { WorkSpecMeta, WorkSpecMetaUpdate } from './work-spec-meta.js'
import type { WorkSpecSnapshot, WorkUnitSnapshot } from './work-unit-snapshot.js'

/** Compare-and-swap guard for setData: the write happens only if the row still has this version. */
export interface VersionGuard {
  ifVersion?: number
}

/** A unit's scheduling settings. */
export interface WorkUnitMeta {
  /** Higher runs sooner within its spec; ties go by name. */
  priority: number
  /** The unit is `delayed` until this time; null runs it at once. */
  notBefore: Date | null
}

/** Selects work units; every field narrows the selection and the empty query selects all. */
export interface WorkUnitQuery {
  /** Only these keys (unknown ones are skipped). */
  names?: readonly WorkUnitKey[]
  /** Only units in any of these statuses. */
  statuses?: readonly WorkUnitStatus[]
  /** Only keys strictly after this one, in byte order. */
  previousName?: WorkUnitKey
  /** At most this many, the first by key order. */
  limit?: number
}

/** One unit of a bulk add. */
export interface AddWorkUnitItem {
  key: WorkUnitKey
  data?: DataDict
  meta?: Partial<WorkUnitMeta>
}

/** What a worker asks the scheduler for. */
export interface AttemptRequest {
  /** Memory the worker offers; specs whose min_gb is larger are skipped. Unset = no limit. */
  availableGb?: number
  /** Lease length of the new attempts in milliseconds (default 15 minutes). */
  lifetimeMs?: number
  /** How many units to take at most, all from one spec (default 1). */
  numberOfWorkUnits?: number
  /** Only these specs (empty = any). */
  workSpecs?: readonly string[]
  /** Only specs whose runtime is one of these (empty = any). */
  runtimes?: readonly string[]
}

/** The count of units in one status of one spec. */
export interface SummaryRecord {
  namespace: string
  workSpec: string
  status: WorkUnitStatus
  count: number
}

/** What a worker reports about itself. */
export interface WorkerUpdate {
  data?: DataDict
  /** The time of the report (default: the clock's now). */
  now?: Date
  /** When the worker should be considered gone (default: now + 15 minutes). */
  expiration?: Date
  mode?: string
}

/** How one attempt ends, in a bulk completion. */
export interface AttemptCompletion {
  attempt: Attempt
  status: 'finished' | 'failed'
  data?: DataDict
}

/** One lease to extend, in a bulk renewal. */
export interface AttemptRenewal {
  attempt: Attempt
  /** The lease ends this many milliseconds from now. */
  extendMs: number
  /** Replaces the attempt's data, as `renew(extendMs, data)` does. */
  data?: DataDict
}

/**
 * How one renewal of a bulk renewal went: `renewed`; `lost-lease` (another attempt has the unit:
 * the data is recorded and this attempt expired, where renew() throws LostLeaseError);
 * `not-pending` (it ended, or its lease ran out); `gone` (deleted with its unit).
 */
export type RenewalOutcome = 'renewed' | 'lost-lease' | 'not-pending' | 'gone'

/** Things that can summarize the work units under them. */
export interface Summarizable {
  /** Unit counts per (namespace, spec, status); zero counts are left out. */
  summarize(): Promise<SummaryRecord[]>
}

/** The root object: a set of namespaces over one store. */
export interface Coordinate extends Summarizable {
  /** Gets the namespace with this name, creating it if needed. */
  namespace(name: string): Promise<Namespace>
  /** Every namespace. */
  namespaces(): Promise<Namespace[]>
  /** Releases connections; later calls fail with ClosedError. */
  close(): Promise<void>
}

/** An isolated set of work specs and workers. */
export interface Namespace extends Summarizable {
  readonly name: string
  /** Deletes the namespace and everything in it. */
  destroy(): Promise<void>
  /** Creates or replaces the spec named by `data.name`, deriving its meta from the dict. */
  setWorkSpec(data: DataDict): Promise<WorkSpec>
  /** The spec with this name; NoSuchWorkSpecError if there is none. */
  workSpec(name: string): Promise<WorkSpec>
  /** Deletes a spec with its units and their attempts; DeletionConflictError, deleting nothing, if writers keep taking new attempts of them. */
  destroyWorkSpec(name: string): Promise<void>
  /** The names of every spec, sorted. */
  workSpecNames(): Promise<string[]>
  /** Gets the worker with this name, creating it if needed. */
  worker(name: string): Promise<Worker>
  /** Every worker, sorted by name. */
  workers(): Promise<Worker[]>
  /** Finishes or fails many attempts in one round trip; an attempt not pending throws NotPendingError and nothing changes. */
  completeAttempts(completions: readonly AttemptCompletion[]): Promise<void>
  /** Extends many leases in one round trip; one outcome per renewal, in order, so one lost lease fails none of the others. */
  renewAttempts(renewals: readonly AttemptRenewal[]): Promise<RenewalOutcome[]>
}

/** A kind of work: a definition dict and a set of work units. */
export interface WorkSpec extends Summarizable {
  readonly name: string
  readonly namespace: Namespace
  /** The definition dict. */
  data(): Promise<DataDict>
  /** Replaces the definition (same name) and re-derives the meta from it; returns the new version. */
  setData(data: DataDict, guard?: VersionGuard): Promise<number>
  /** Definition, meta and version in one read. */
  snapshot(): Promise<WorkSpecSnapshot>
  /** Control settings; counts are filled only when asked for. */
  meta(options?: { withCounts?: boolean }): Promise<WorkSpecMeta>
  /** Changes the settable meta fields. */
  setMeta(meta: WorkSpecMetaUpdate): Promise<void>
  /** Adds a unit, or updates it: a finished or failed unit becomes available again, a pending one keeps running. */
  addWorkUnit(key: WorkUnitKey, data?: DataDict, meta?: Partial<WorkUnitMeta>): Promise<WorkUnit>
  /** Adds or updates many units in one statement; all or nothing. Returns how many. */
  addWorkUnits(items: readonly AddWorkUnitItem[]): Promise<number>
  /** The unit with this key; NoSuchWorkUnitError if there is none. */
  workUnit(key: WorkUnitKey): Promise<WorkUnit>
  /** The units the query selects, sorted by key. */
  workUnits(query?: WorkUnitQuery): Promise<WorkUnit[]>
  /** Snapshots of the units with these keys, in one query; missing keys are left out. */
  workUnitSnapshots(keys: readonly WorkUnitKey[]): Promise<WorkUnitSnapshot[]>
  /** The number of units in each status; statuses with none are left out. */
  countWorkUnitStatus(): Promise<Partial<Record<WorkUnitStatus, number>>>
  /** Sets the priority of the selected units; returns how many. */
  setWorkUnitPriorities(query: WorkUnitQuery, priority: number): Promise<number>
  /** Adds `delta` to the priority of the selected units; returns how many. */
  adjustWorkUnitPriorities(query: WorkUnitQuery, delta: number): Promise<number>
  /**
   * Deletes the selected units (all of them for the empty query) and their attempts; returns how
   * many. DeletionConflictError, deleting nothing, if writers keep taking new attempts of them.
   */
  deleteWorkUnits(query?: WorkUnitQuery): Promise<number>
}

/** One input of a work spec, named by its key. */
export interface WorkUnit {
  /** The key as text (invalid UTF-8 shows as U+FFFD); `key` holds the exact bytes. */
  readonly name: string
  readonly key: Uint8Array
  readonly workSpec: WorkSpec
  /** The effective data: the active attempt's data if it has any, else the unit's own. */
  data(): Promise<DataDict>
  /** The status now, derived from the active attempt, its lease and the not-before time. */
  status(): Promise<WorkUnitStatus>
  /** Replaces the unit's own data (attempt data is untouched); returns the new version. */
  setData(data: DataDict, guard?: VersionGuard): Promise<number>
  /** Everything about the unit in one read. */
  snapshot(): Promise<WorkUnitSnapshot>
  meta(): Promise<WorkUnitMeta>
  /** Changes priority and/or not-before. */
  setMeta(meta: Partial<WorkUnitMeta>): Promise<void>
  /** The attempt that decides the unit's status, or null. */
  activeAttempt(): Promise<Attempt | null>
  /** Makes the unit available again (keeps the history and any running attempt). */
  clearActiveAttempt(): Promise<void>
  /** Every attempt ever made on this unit, oldest first. */
  attempts(): Promise<Attempt[]>
  numAttempts(): Promise<number>
}

/** A process (or part of one) that does work; named by the client. */
export interface Worker {
  readonly name: string
  readonly namespace: Namespace
  parent(): Promise<Worker | null>
  /** Sets or (with null) clears the parent. */
  setParent(parent: Worker | null): Promise<void>
  children(): Promise<Worker[]>
  active(): Promise<boolean>
  deactivate(): Promise<void>
  mode(): Promise<string>
  data(): Promise<DataDict>
  expiration(): Promise<Date>
  lastUpdate(): Promise<Date>
  /** Records a heartbeat and marks the worker active. */
  update(update: WorkerUpdate): Promise<void>
  /** Asks the scheduler for work; an empty list means none. */
  requestAttempts(request?: AttemptRequest): Promise<Attempt[]>
  /**
   * Starts an attempt on a unit whatever its state (for tools and the jobserver); with
   * `guard.ifVersion`, only if the unit is still at that version (VersionConflictError otherwise).
   */
  makeAttempt(unit: WorkUnit, lifetimeMs?: number, guard?: VersionGuard): Promise<Attempt>
  /** Attempts this worker holds a lease on. */
  activeAttempts(): Promise<Attempt[]>
  allAttempts(): Promise<Attempt[]>
  /** Active attempts of this worker's direct children. */
  childAttempts(): Promise<Attempt[]>
}

/** One worker's try at one work unit. */
export interface Attempt {
  /** A stable identifier, unique in the store. */
  readonly id: string
  readonly workUnit: WorkUnit
  readonly worker: Worker
  /**
   * The unit's data as the claim that made this attempt read it, when the backend read it in
   * the same round trip (requestAttempts on Postgres and over HTTP); undefined otherwise. Saves a
   * read per claim. The first call hands the data over and the attempt lets go of it (later calls
   * give undefined), so attempts kept for their leases do not keep their units' data in memory.
   */
  takeClaimData(): DataDict | undefined
  status(): Promise<AttemptStatus>
  data(): Promise<DataDict>
  startTime(): Promise<Date>
  endTime(): Promise<Date | null>
  expirationTime(): Promise<Date>
  /** Extends the lease to now + extendMs; LostLeaseError if another attempt took over. */
  renew(extendMs: number, data?: DataDict): Promise<void>
  /** Gives the unit up (it becomes available). */
  expire(data?: DataDict): Promise<void>
  /** Marks the unit finished and feeds `output` to the `then` spec. */
  finish(data?: DataDict): Promise<void>
  fail(data?: DataDict): Promise<void>
  /** Gives the unit up to be retried no sooner than delayMs from now. */
  retry(data?: DataDict, delayMs?: number): Promise<void>
}
