import type { RawBuilder } from 'kysely'
import type { AddWorkUnitItem, SummaryRecord, VersionGuard, WorkSpec, WorkUnit, WorkUnitMeta, WorkUnitQuery } from '../coordinate/api.js'
import type { WorkSpecSnapshot, WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import { snapshotFromRow } from './work-unit-snapshot-row.js'
import { guardedUpdate } from './guarded-update.js'
import { type DataUpdateFn, type LockedDataUpdate, type LockedUpdateResult, lockedDataUpdate } from './locked-update.js'
import { definitionAssignments, workSpecDataSql, workSpecSnapshotSql } from './sql/work-spec.js'
import { decodeDataDict } from '../coordinate/cbor-data.js'
import { type DataDict, type WorkUnitKey, workUnitKeyName } from '../coordinate/data.js'
import { ChangedNameError, GoneError, NoSuchWorkUnitError } from '../coordinate/errors.js'
import { validateWorkUnitKeys } from '../coordinate/validation.js'
import {
  validateMetaOptions,
  validatePriorityChange,
  validateVersionGuard,
  validateWorkSpecMetaUpdate,
  validateWorkUnitQuery,
} from '../coordinate/request-validation.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { type WorkSpecMeta, type WorkSpecMetaUpdate, parseWorkSpecData } from '../coordinate/work-spec-meta.js'
import type { PostgresNamespace } from './namespace.js'
import { bytea } from './sql/fragments.js'
import {
  priorityDeltaSql,
  priorityValueSql,
  updatePrioritiesSql,
  workUnitIdSql,
  workUnitSnapshotsSql,
  workUnitsSql,
} from './sql/work-unit.js'
import { unitCountsSql } from './sql/unit-counts.js'
import { summarize } from './summary.js'
import { deleteWorkUnitsInLockOrder } from './unit-deletion.js'
import { PostgresWorkUnit } from './work-unit.js'
import { upsertWorkUnits, validateWorkUnitItems, writeWorkUnits } from './work-unit-upsert.js'
import { metaFromRow, readWorkSpecMeta, writeWorkSpecMeta } from './work-spec-meta-store.js'
import { checkedKey as keyOf } from './work-unit-key.js'
import { checkedKey } from './work-unit-key.js'

/** A work spec row, addressed by id. */
export class PostgresWorkSpec implements WorkSpec, LockedDataUpdate {
  constructor(
    readonly namespace: PostgresNamespace,
    readonly id: string,
    readonly name: string,
  ) {}

  get #store() {
    return this.namespace.store
  }

  /** The definition dict. */
  async data(): Promise<DataDict> {
    const row = await this.#store.row(workSpecDataSql(this.id))
    if (!row) throw new GoneError('Work spec')
    return decodeDataDict(row.data)
  }

  /** Replaces the definition and re-derives all meta; the name cannot change. Returns the new version. */
  async setData(data: DataDict, guard: VersionGuard = {}): Promise<number> {
    validateVersionGuard(guard)
    return guardedUpdate(this.#store, 'work_spec', this.id, this.#definition(data), guard, 'Work spec')
  }

  /** Rewrites the definition with `fn` while the row is locked (the cache's fallback after a conflict). */
  updateDataLocked(fn: DataUpdateFn, deadlineAt: number): Promise<LockedUpdateResult> {
    return lockedDataUpdate(this.#store, 'work_spec', this.id, 'Work spec', fn, deadlineAt, (data) => this.#definition(data))
  }

  #definition(data: DataDict): RawBuilder<unknown> {
    const { name, meta } = parseWorkSpecData(data)
    if (name !== this.name) throw new ChangedNameError()
    return definitionAssignments(data, meta)
  }

  /** Definition, meta and version in one read. */
  async snapshot(): Promise<WorkSpecSnapshot> {
    const row = await this.#store.row(workSpecSnapshotSql(this.id))
    if (!row) throw new GoneError('Work spec')
    return { data: decodeDataDict(row.data), meta: metaFromRow(row), version: Number(row.version) }
  }

  /** The meta; with counts, available and pending units are counted at the clock's now. */
  async meta(options: { withCounts?: boolean } = {}): Promise<WorkSpecMeta> {
    validateMetaOptions(options)
    return readWorkSpecMeta(this.#store, this.id, options.withCounts === true)
  }

  /** Changes the settable meta fields. */
  async setMeta(meta: WorkSpecMetaUpdate): Promise<void> {
    validateWorkSpecMetaUpdate(meta)
    return writeWorkSpecMeta(this.#store, this.id, meta)
  }

  /** Adds or updates one unit (an upsert). */
  async addWorkUnit(key: WorkUnitKey, data: DataDict = {}, meta: Partial<WorkUnitMeta> = {}): Promise<WorkUnit> {
    const [item] = validateWorkUnitItems([{ key, data, meta }])
    const [row] = await upsertWorkUnits(this.#store, this.id, [item!])
    if (!row) throw new GoneError('Work spec')
    return new PostgresWorkUnit(this, row.id, new Uint8Array(item!.key))
  }

  /** Adds or updates many units: one statement per 10,000, all in one transaction. */
  addWorkUnits(items: readonly AddWorkUnitItem[]): Promise<number> {
    return writeWorkUnits(this.#store, this.id, items)
  }

  /** The unit with this key: one indexed lookup. */
  async workUnit(key: WorkUnitKey): Promise<WorkUnit> {
    const bytes = checkedKey(key)
    const row = await this.#store.row(workUnitIdSql(this.id, bytea(bytes)))
    if (!row) throw new NoSuchWorkUnitError(workUnitKeyName(bytes))
    return new PostgresWorkUnit(this, row.id, bytes)
  }

  /** The selected units in key order. */
  async workUnits(query: WorkUnitQuery = {}): Promise<WorkUnit[]> {
    validateWorkUnitQuery(query)
    const now = this.#store.now()
    const rows = await this.#store.rows(workUnitsSql(this.id, query, now))
    return rows.map((r) => new PostgresWorkUnit(this, r.id, new Uint8Array(r.name)))
  }

  /** Snapshots of the units with these keys, in one query. */
  async workUnitSnapshots(keys: readonly WorkUnitKey[]): Promise<WorkUnitSnapshot[]> {
    validateWorkUnitKeys(keys)
    if (keys.length === 0) return []
    const names = keys.map((key) => bytea(keyOf(key)))
    const rows = await this.#store.rows(workUnitSnapshotsSql(this.id, names))
    return rows.map(snapshotFromRow)
  }

  /** Units per status, from the counts the database keeps (O(1) in the spec's units). */
  async countWorkUnitStatus(): Promise<Partial<Record<WorkUnitStatus, number>>> {
    const now = this.#store.now()
    const rows = await this.#store.rows(unitCountsSql({ workSpecId: this.id }, now))
    const counts: Partial<Record<WorkUnitStatus, number>> = {}
    for (const r of rows) counts[r.status] = r.count
    return counts
  }

  /** Sets the priority of the selected units. */
  async setWorkUnitPriorities(query: WorkUnitQuery, priority: number): Promise<number> {
    query = validatePriorityChange(query, priority, 'a work unit priority')
    return this.#updatePriorities(query, priorityValueSql(priority))
  }

  /** Adds `delta` to the priority of the selected units. */
  async adjustWorkUnitPriorities(query: WorkUnitQuery, delta: number): Promise<number> {
    query = validatePriorityChange(query, delta, 'a priority adjustment')
    return this.#updatePriorities(query, priorityDeltaSql(delta))
  }

  async #updatePriorities(query: WorkUnitQuery, value: RawBuilder<unknown>): Promise<number> {
    const rows = await this.#store.rows(updatePrioritiesSql(this.id, query, this.#store.now(), value))
    return rows.length
  }

  /** Deletes the selected units and their attempts, locking attempts before units as every writer does. */
  async deleteWorkUnits(query: WorkUnitQuery = {}): Promise<number> {
    validateWorkUnitQuery(query)
    return deleteWorkUnitsInLockOrder(this.#store, this.id, query, this.#store.now())
  }

  /** Unit counts for this spec. */
  summarize(): Promise<SummaryRecord[]> {
    return summarize(this.#store, { workSpecId: this.id })
  }
}
