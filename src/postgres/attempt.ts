import { sql } from 'kysely'
import type { Attempt } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, assertDataDict } from '../coordinate/data.js'
import { GoneError, LostLeaseError, NotPendingError } from '../coordinate/errors.js'
import { validateOptionalDataDict } from '../coordinate/validation.js'
import { validateRenewal, validateRetry } from '../coordinate/request-validation.js'
import type { AttemptStatus } from '../coordinate/status.js'
import { completeAttempts } from './attempt-completion.js'
import type { PostgresNamespace } from './namespace.js'
import { attemptStatusSql } from './sql-fragments.js'
import { PostgresWorkSpec } from './work-spec.js'
import { PostgresWorkUnit } from './work-unit.js'
import { PostgresWorker } from './worker.js'

/** The columns attemptFromRow() needs to build an attempt with its unit, spec and worker. */
export interface AttemptHandleRow {
  id: string
  unit_id: string
  unit_name: Uint8Array
  spec_id: string
  spec_name: string
  worker_id: string
  worker_name: string
}

/** SELECT … FROM attempt a plus the joins that name its unit, spec and worker. */
export const ATTEMPT_HANDLE_SQL = sql`
  SELECT a.id::text, u.id::text AS unit_id, u.name AS unit_name, s.id::text AS spec_id, s.name AS spec_name,
         w.id::text AS worker_id, w.name AS worker_name
  FROM attempt a
  JOIN work_unit u ON u.id = a.work_unit_id
  JOIN work_spec s ON s.id = a.work_spec_id
  JOIN worker w ON w.id = a.worker_id`

/** Builds an attempt handle from a row, reusing handles the caller already has. */
export function attemptFromRow(
  namespace: PostgresNamespace,
  row: AttemptHandleRow,
  spec?: PostgresWorkSpec,
  unit?: PostgresWorkUnit,
  worker?: PostgresWorker,
): PostgresAttempt {
  const workSpec = spec?.id === row.spec_id ? spec : new PostgresWorkSpec(namespace, row.spec_id, row.spec_name)
  const workUnit = unit?.id === row.unit_id ? unit : new PostgresWorkUnit(workSpec, row.unit_id, new Uint8Array(row.unit_name))
  const owner = worker?.id === row.worker_id ? worker : new PostgresWorker(namespace, row.worker_id, row.worker_name)
  return new PostgresAttempt(row.id, workUnit, owner)
}

interface AttemptRow {
  status: AttemptStatus
  data: Uint8Array
  start_time: Date
  end_time: Date | null
  expiration_time: Date
}

/** An attempt row, addressed by id. Every transition is checked in the statement that makes it. */
export class PostgresAttempt implements Attempt {
  constructor(
    readonly id: string,
    readonly workUnit: PostgresWorkUnit,
    readonly worker: PostgresWorker,
  ) {}

  get #store() {
    return this.worker.namespace.store
  }

  async #read(): Promise<AttemptRow> {
    const now = this.#store.now()
    const row = await this.#store.row(sql<AttemptRow>`
      SELECT ${attemptStatusSql(now)} AS status, COALESCE(a.data, u.data) AS data, a.start_time,
             CASE WHEN a.status = 'pending' AND a.expiration_time < ${now} THEN a.expiration_time ELSE a.end_time END AS end_time,
             a.expiration_time
      FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id WHERE a.id = ${this.id}`)
    if (!row) throw new GoneError('Attempt')
    return row
  }

  /** The status at the clock's now (a pending attempt past its lease reads as expired). */
  async status(): Promise<AttemptStatus> {
    return (await this.#read()).status
  }

  /** The attempt's data, which starts as its unit's data. */
  async data(): Promise<DataDict> {
    return decodeDataDict((await this.#read()).data)
  }

  /** When the attempt began. */
  async startTime(): Promise<Date> {
    return (await this.#read()).start_time
  }

  /** When it ended, or null while it runs. */
  async endTime(): Promise<Date | null> {
    return (await this.#read()).end_time
  }

  /** When its lease ends (or ended). */
  async expirationTime(): Promise<Date> {
    return (await this.#read()).expiration_time
  }

  /** Extends the lease; if another attempt took the unit, records the data, expires, and throws LostLeaseError. */
  async renew(extendMs: number, data?: DataDict): Promise<void> {
    validateRenewal(extendMs, data)
    const encoded = encodeOptional(data)
    const now = this.#store.now()
    const expiration = new Date(now.getTime() + extendMs)
    const row = await this.#store.row(sql<{ is_active: boolean }>`
      WITH target AS (
        SELECT a.id, a.work_unit_id, (u.active_attempt_id IS NOT DISTINCT FROM a.id) AS is_active
        FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
        WHERE a.id = ${this.id} AND a.status = 'pending' AND a.expiration_time >= ${now}
        FOR UPDATE OF a, u
      ), renewed AS (
        UPDATE attempt SET
          data = COALESCE(${encoded}::bytea, attempt.data),
          expiration_time = CASE WHEN t.is_active THEN ${expiration}::timestamptz ELSE ${now}::timestamptz END,
          status = CASE WHEN t.is_active THEN 'pending' ELSE 'expired' END,
          active = t.is_active,
          end_time = CASE WHEN t.is_active THEN NULL ELSE ${now}::timestamptz END
        FROM target t WHERE attempt.id = t.id
        RETURNING t.is_active
      ), unit AS (
        UPDATE work_unit SET lease_expires = ${expiration}, version = nextval('version_seq')
        FROM target t WHERE work_unit.id = t.work_unit_id AND t.is_active
      )
      SELECT is_active FROM renewed`)
    if (!row) throw await this.#whyNotPending()
    if (!row.is_active) throw new LostLeaseError()
  }

  /** Gives the unit back (it becomes available); a no-op if already expired. */
  async expire(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    await this.#release('expired', data, null)
  }

  /** Finishes the unit and chains `output` into the `then` spec. */
  async finish(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    return completeAttempts(this.#store, [{ attempt: this, status: 'finished', data }])
  }

  /** Fails the unit. */
  async fail(data?: DataDict): Promise<void> {
    validateOptionalDataDict(data)
    return completeAttempts(this.#store, [{ attempt: this, status: 'failed', data }])
  }

  /** Gives the unit back to be retried after `delayMs` (default 0). */
  async retry(data?: DataDict, delayMs = 0): Promise<void> {
    validateRetry(data, delayMs)
    await this.#release('retryable', data, new Date(this.#store.now().getTime() + delayMs))
  }

  // Ends the attempt without completing the unit; frees the unit only if this attempt is its
  // active one, so a stale attempt never clears another worker's lease.
  async #release(status: 'expired' | 'retryable', data: DataDict | undefined, notBefore: Date | null): Promise<void> {
    const encoded = encodeOptional(data)
    const now = this.#store.now()
    const row = await this.#store.row(sql<{ id: string }>`
      WITH released AS (
        UPDATE attempt SET status = ${status}, end_time = ${now}, active = false,
          data = COALESCE(${encoded}::bytea, data)
        WHERE id = ${this.id} AND status = 'pending' AND expiration_time >= ${now}
        RETURNING id, work_unit_id
      ), unit AS (
        UPDATE work_unit SET active_attempt_id = NULL, state = 'available', lease_expires = NULL,
          version = nextval('version_seq'),
          not_before = COALESCE(${notBefore}::timestamptz, not_before)
        FROM released r WHERE work_unit.id = r.work_unit_id AND work_unit.active_attempt_id = r.id
      )
      SELECT id::text FROM released`)
    if (row) return
    const error = await this.#whyNotPending()
    // Expiring an attempt that already expired (by time or by hand) changes nothing.
    if (status === 'expired' && error instanceof NotPendingError && (await this.status()) === 'expired') return
    throw error
  }

  async #whyNotPending(): Promise<Error> {
    const row = await this.#store.row(sql<{ id: string }>`SELECT id::text FROM attempt WHERE id = ${this.id}`)
    return row ? new NotPendingError() : new GoneError('Attempt')
  }
}

function encodeOptional(data: DataDict | undefined): Buffer | null {
  if (data === undefined || data === null) return null
  assertDataDict(data)
  return Buffer.from(encodeData(data))
}
