import type { Attempt, AttemptRequest, VersionGuard, WorkUnit, Worker, WorkerUpdate } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'
import { validateLeaseMs } from '../coordinate/validation.js'
import { validateVersionGuard, validateWorkerUpdate } from '../coordinate/request-validation.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import { GoneError, InvalidInputError, WrongBackendError } from '../coordinate/errors.js'
import { attemptFromRow } from './attempt.js'
import { type WorkerAttempts, workerAttemptHandlesSql } from './sql/attempt.js'
import { type WorkerRow, childrenSql, deactivateSql, setParentSql, updateWorkerSql, workerSql } from './sql/worker.js'
import type { PostgresNamespace } from './namespace.js'
import { requestAttempts } from './request-attempts.js'
import { PostgresWorkUnit } from './work-unit.js'
import { makeAttempt } from './make-attempt.js'

/** A worker row, addressed by id. */
export class PostgresWorker implements Worker {
  constructor(
    readonly namespace: PostgresNamespace,
    readonly id: string,
    readonly name: string,
  ) {}

  get #store() {
    return this.namespace.store
  }

  async #read(): Promise<WorkerRow> {
    const row = await this.#store.row(workerSql(this.id))
    if (!row) throw new GoneError('Worker')
    return row
  }

  /** The parent worker, or null. */
  async parent(): Promise<Worker | null> {
    const row = await this.#read()
    return row.parent_id === null ? null : new PostgresWorker(this.namespace, row.parent_id, row.parent_name ?? '')
  }

  /** Sets the parent, or clears it with null. */
  async setParent(parent: Worker | null): Promise<void> {
    let parentId: string | null = null
    if (parent !== null) {
      if (!(parent instanceof PostgresWorker) || parent.namespace.store !== this.#store) throw new WrongBackendError()
      if (parent.id === this.id) throw new InvalidInputError('a worker cannot be its own parent')
      parentId = parent.id
    }
    const rows = await this.#store.rows(setParentSql(this.id, parentId))
    if (rows.length === 0) throw new GoneError('Worker')
  }

  /** Workers whose parent this is, sorted by name. */
  async children(): Promise<Worker[]> {
    const rows = await this.#store.rows(childrenSql(this.id))
    return rows.map((r) => new PostgresWorker(this.namespace, r.id, r.name))
  }

  /** Whether the worker is active (new and updated workers are). */
  async active(): Promise<boolean> {
    return (await this.#read()).active
  }

  /** Marks the worker inactive. */
  async deactivate(): Promise<void> {
    const rows = await this.#store.rows(deactivateSql(this.id))
    if (rows.length === 0) throw new GoneError('Worker')
  }

  /** The mode of the last update. */
  async mode(): Promise<string> {
    return (await this.#read()).mode
  }

  /** The data of the last update. */
  async data(): Promise<DataDict> {
    return decodeDataDict((await this.#read()).data)
  }

  /** When the worker said it should be considered gone. */
  async expiration(): Promise<Date> {
    return (await this.#read()).expiration
  }

  /** When the worker last reported. */
  async lastUpdate(): Promise<Date> {
    return (await this.#read()).last_update
  }

  /** Records a heartbeat: data, time, expiration and mode, and marks the worker active. */
  async update(update: WorkerUpdate): Promise<void> {
    validateWorkerUpdate(update)
    const now = update.now ?? this.#store.now()
    const expiration = update.expiration ?? new Date(now.getTime() + DEFAULT_LEASE_MS)
    const data = update.data === undefined ? null : Buffer.from(encodeData(update.data))
    const rows = await this.#store.rows(updateWorkerSql(this.id, now, expiration, data, update.mode ?? null))
    if (rows.length === 0) throw new GoneError('Worker')
  }

  /** Asks the scheduler for work units; see request-attempts.ts. */
  requestAttempts(request: AttemptRequest = {}): Promise<Attempt[]> {
    return requestAttempts(this, request)
  }

  /** Starts an attempt on `unit` whatever its state (or, guarded, only at that version) and makes it the active one. */
  async makeAttempt(unit: WorkUnit, lifetimeMs?: number, guard?: VersionGuard): Promise<Attempt> {
    if (lifetimeMs !== undefined) validateLeaseMs(lifetimeMs, 'makeAttempt lifetimeMs')
    const { ifVersion } = validateVersionGuard(guard)
    if (!(unit instanceof PostgresWorkUnit) || unit.workSpec.namespace.store !== this.#store) throw new WrongBackendError()
    return makeAttempt(this, unit, lifetimeMs ?? DEFAULT_LEASE_MS, ifVersion)
  }

  /** Attempts this worker still holds a lease on (expired ones have left the list). */
  activeAttempts(): Promise<Attempt[]> {
    return this.#attempts('active')
  }

  /** Every attempt this worker made, oldest first. */
  allAttempts(): Promise<Attempt[]> {
    return this.#attempts('all')
  }

  /** The active attempts of this worker's direct children. */
  childAttempts(): Promise<Attempt[]> {
    return this.#attempts('children')
  }

  async #attempts(which: WorkerAttempts): Promise<Attempt[]> {
    const rows = await this.#store.rows(workerAttemptHandlesSql(this.id, which, this.#store.now()))
    return rows.map((row) => attemptFromRow(this.namespace, row, undefined, undefined, this))
  }
}
