import type { RawBuilder } from 'kysely'
import type { Attempt, VersionGuard, WorkUnit, WorkUnitMeta } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, workUnitKeyName } from '../coordinate/data.js'
import { GoneError } from '../coordinate/errors.js'
import { validateDataDict } from '../coordinate/validation.js'
import { validateVersionGuard, validateWorkUnitMeta } from '../coordinate/request-validation.js'
import type { WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import { snapshotFromRow } from './work-unit-snapshot-row.js'
import { guardedUpdate } from './guarded-update.js'
import { type DataUpdateFn, type LockedDataUpdate, type LockedUpdateResult, lockedDataUpdate } from './locked-update.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { attemptFromRow } from './attempt.js'
import { activeAttemptHandleSql, unitAttemptHandlesSql } from './sql/attempt.js'
import {
  clearActiveAttemptSql,
  numAttemptsSql,
  unitDataAssignment,
  updateWorkUnitMetaSql,
  workUnitDataSql,
  workUnitMetaSql,
  workUnitSnapshotSql,
  workUnitStatusSql,
} from './sql/work-unit.js'
import type { PostgresWorkSpec } from './work-spec.js'

/** A work unit row, addressed by id. */
export class PostgresWorkUnit implements WorkUnit, LockedDataUpdate {
  readonly name: string

  constructor(
    readonly workSpec: PostgresWorkSpec,
    readonly id: string,
    readonly key: Uint8Array,
  ) {
    this.name = workUnitKeyName(key)
  }

  get #store() {
    return this.workSpec.namespace.store
  }

  /** The active attempt's data if it has its own, else the unit's. */
  async data(): Promise<DataDict> {
    const now = this.#store.now()
    const row = await this.#store.row(workUnitDataSql(this.id, now))
    if (!row) throw new GoneError('Work unit')
    return decodeDataDict(row.data)
  }

  /** The status at the clock's now. */
  async status(): Promise<WorkUnitStatus> {
    const row = await this.#store.row(workUnitStatusSql(this.id, this.#store.now()))
    if (!row) throw new GoneError('Work unit')
    return row.status
  }

  /** Replaces the unit's own data, optionally only if it is still at `guard.ifVersion`. */
  async setData(data: DataDict, guard: VersionGuard = {}): Promise<number> {
    validateDataDict(data)
    validateVersionGuard(guard)
    return guardedUpdate(this.#store, 'work_unit', this.id, dataAssignment(data), guard, 'Work unit')
  }

  /** Rewrites the data with `fn` while the row is locked (the cache's fallback after a conflict). */
  updateDataLocked(fn: DataUpdateFn, deadlineAt: number): Promise<LockedUpdateResult> {
    return lockedDataUpdate(this.#store, 'work_unit', this.id, 'Work unit', fn, deadlineAt, dataAssignment)
  }

  /** Everything about the unit, in one read. */
  async snapshot(): Promise<WorkUnitSnapshot> {
    const row = await this.#store.row(workUnitSnapshotSql(this.id))
    if (!row) throw new GoneError('Work unit')
    return snapshotFromRow(row)
  }

  /** Priority and not-before. */
  async meta(): Promise<WorkUnitMeta> {
    const row = await this.#store.row(workUnitMetaSql(this.id))
    if (!row) throw new GoneError('Work unit')
    return { priority: row.priority, notBefore: row.not_before }
  }

  /** Changes the fields present in `meta`; `notBefore: null` clears the delay. */
  async setMeta(meta: Partial<WorkUnitMeta>): Promise<void> {
    const { priority, notBefore } = validateWorkUnitMeta(meta)
    const rows = await this.#store.rows(updateWorkUnitMetaSql(this.id, priority ?? null, notBefore))
    if (rows.length === 0) throw new GoneError('Work unit')
  }

  /** The attempt that decides the status now, or null. */
  async activeAttempt(): Promise<Attempt | null> {
    const now = this.#store.now()
    const row = await this.#store.row(activeAttemptHandleSql(this.id, now))
    return row ? attemptFromRow(this.workSpec.namespace, row, this.workSpec, this) : null
  }

  /** Makes the unit available; a running attempt keeps running but no longer decides the status. */
  async clearActiveAttempt(): Promise<void> {
    const rows = await this.#store.rows(clearActiveAttemptSql(this.id))
    if (rows.length === 0) throw new GoneError('Work unit')
  }

  /** Every attempt on this unit, oldest first. */
  async attempts(): Promise<Attempt[]> {
    const rows = await this.#store.rows(unitAttemptHandlesSql(this.id))
    return rows.map((row) => attemptFromRow(this.workSpec.namespace, row, this.workSpec, this))
  }

  /** How many attempts this unit has had. */
  async numAttempts(): Promise<number> {
    const row = await this.#store.row(numAttemptsSql(this.id))
    return row?.n ?? 0
  }
}

function dataAssignment(data: DataDict): RawBuilder<unknown> {
  validateDataDict(data)
  return unitDataAssignment(Buffer.from(encodeData(data)))
}
