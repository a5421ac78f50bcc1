import { sql } from 'kysely'
import type { Attempt, AttemptRequest, WorkUnit, Worker, WorkerUpdate } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'
import { validateLeaseMs } from '../coordinate/validation.js'
import { validateWorkerUpdate } from '../coordinate/request-validation.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import { GoneError, InvalidInputError, WrongBackendError } from '../coordinate/errors.js'
import { ATTEMPT_HANDLE_SQL, type AttemptHandleRow, attemptFromRow } from './attempt.js'
import type { PostgresNamespace } from './namespace.js'
import { requestAttempts } from './request-attempts.js'
import { PostgresWorkUnit } from './work-unit.js'
import { makeAttempt } from './make-attempt.js'

interface WorkerRow {
  parent_id: string | null
  parent_name: string | null
  active: boolean
  mode: string
  data: Uint8Array
  expiration: Date
  last_update: Date
}

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
    const row = await this.#store.row(sql<WorkerRow>`
      SELECT w.parent_id::text, p.name AS parent_name, w.active, w.mode, w.data, w.expiration, w.last_update
      FROM worker w LEFT JOIN worker p ON p.id = w.parent_id WHERE w.id = ${this.id}`)
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
    const rows = await this.#store.rows(sql`UPDATE worker SET parent_id = ${parentId} WHERE id = ${this.id} RETURNING id`)
    if (rows.length === 0) throw new GoneError('Worker')
  }

  /** Workers whose parent this is, sorted by name. */
  async children(): Promise<Worker[]> {
    const rows = await this.#store.rows(
      sql<{ id: string; name: string }>`SELECT id::text, name FROM worker WHERE parent_id = ${this.id} ORDER BY name`,
    )
    return rows.map((r) => new PostgresWorker(this.namespace, r.id, r.name))
  }

  /** Whether the worker is active (new and updated workers are). */
  async active(): Promise<boolean> {
    return (await this.#read()).active
  }

  /** Marks the worker inactive. */
  async deactivate(): Promise<void> {
    const rows = await this.#store.rows(sql`UPDATE worker SET active = false WHERE id = ${this.id} RETURNING id`)
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
    const rows = await this.#store.rows(sql`
      UPDATE worker SET active = true, last_update = ${now}, expiration = ${expiration},
        data = COALESCE(${data}::bytea, data), mode = COALESCE(${update.mode ?? null}::text, mode)
      WHERE id = ${this.id} RETURNING id`)
    if (rows.length === 0) throw new GoneError('Worker')
  }

  /** Asks the scheduler for work units; see request-attempts.ts. */
  requestAttempts(request: AttemptRequest = {}): Promise<Attempt[]> {
    return requestAttempts(this, request)
  }

  /** Starts an attempt on `unit` whatever its state and makes it the active one. */
  async makeAttempt(unit: WorkUnit, lifetimeMs?: number): Promise<Attempt> {
    if (lifetimeMs !== undefined) validateLeaseMs(lifetimeMs, 'makeAttempt lifetimeMs')
    if (!(unit instanceof PostgresWorkUnit) || unit.workSpec.namespace.store !== this.#store) throw new WrongBackendError()
    return makeAttempt(this, unit, lifetimeMs ?? DEFAULT_LEASE_MS)
  }

  /** Attempts this worker still holds a lease on (expired ones have left the list). */
  async activeAttempts(): Promise<Attempt[]> {
    const now = this.#store.now()
    return this.#attempts(sql`WHERE a.worker_id = ${this.id} AND a.active AND a.status = 'pending' AND a.expiration_time >= ${now}`)
  }

  /** Every attempt this worker made, oldest first. */
  allAttempts(): Promise<Attempt[]> {
    return this.#attempts(sql`WHERE a.worker_id = ${this.id}`)
  }

  /** The active attempts of this worker's direct children. */
  async childAttempts(): Promise<Attempt[]> {
    const now = this.#store.now()
    return this.#attempts(sql`WHERE w.parent_id = ${this.id} AND a.active AND a.status = 'pending' AND a.expiration_time >= ${now}`)
  }

  async #attempts(where: ReturnType<typeof sql>): Promise<Attempt[]> {
    const rows = await this.#store.rows(sql<AttemptHandleRow>`${ATTEMPT_HANDLE_SQL} ${where} ORDER BY a.id`)
    return rows.map((row) => attemptFromRow(this.namespace, row, undefined, undefined, this))
  }
}
