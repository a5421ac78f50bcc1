import type { Attempt } from '../coordinate/api.js'
import { ClaimData } from '../coordinate/claim-data.js'
import { decodeDataDict } from '../coordinate/cbor-data.js'
import { type DataDict, assertDataDict } from '../coordinate/data.js'
import { GoneError, LostLeaseError, NotPendingError } from '../coordinate/errors.js'
import { validateOptionalDataDict } from '../coordinate/validation.js'
import { validateRenewal, validateRetry } from '../coordinate/request-validation.js'
import type { AttemptStatus } from '../coordinate/status.js'
import { type AttemptHandleRow, type AttemptRow, attemptExistsSql, attemptSql, releaseAttemptSql } from './sql/attempt.js'
import { completeAttempts } from './attempt-completion.js'
import { renewAttempts } from './renewal.js'
import type { PostgresNamespace } from './namespace.js'
import { PostgresWorkSpec } from './work-spec.js'
import { PostgresWorkUnit } from './work-unit.js'
import { PostgresWorker } from './worker.js'
import { encodeAttemptData } from './attempt-data.js'

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

/** An attempt row, addressed by id. Every transition is checked in the statement that makes it. */
export class PostgresAttempt implements Attempt {
  readonly #claim: ClaimData

  constructor(
    readonly id: string,
    readonly workUnit: PostgresWorkUnit,
    readonly worker: PostgresWorker,
    /** The unit's data as the claim read it; see Attempt.takeClaimData. */
    claimData?: DataDict,
  ) {
    this.#claim = new ClaimData(claimData)
  }

  /** The claim's data, once; see Attempt.takeClaimData. */
  takeClaimData(): DataDict | undefined {
    return this.#claim.take()
  }

  get #store() {
    return this.worker.namespace.store
  }

  async #read(): Promise<AttemptRow> {
    const now = this.#store.now()
    const row = await this.#store.row(attemptSql(this.workUnit.id, this.id, now))
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
    const [outcome] = await renewAttempts(this.#store, [{ attempt: this, extendMs, data }])
    if (outcome === 'lost-lease') throw new LostLeaseError()
    if (outcome === 'not-pending') throw new NotPendingError()
    if (outcome === 'gone') throw new GoneError('Attempt')
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

  // Ends the attempt without completing the unit (see releaseAttemptSql).
  async #release(status: 'expired' | 'retryable', data: DataDict | undefined, notBefore: Date | null): Promise<void> {
    if (data !== undefined && data !== null) assertDataDict(data)
    const encoded = encodeAttemptData(data)
    const now = this.#store.now()
    const row = await this.#store.row(releaseAttemptSql(this.workUnit.id, this.id, status, encoded, now, notBefore))
    if (row) return
    const error = await this.#whyNotPending()
    // Expiring an attempt that already expired (by time or by hand) changes nothing.
    if (status === 'expired' && error instanceof NotPendingError && (await this.status()) === 'expired') return
    throw error
  }

  async #whyNotPending(): Promise<Error> {
    const row = await this.#store.row(attemptExistsSql(this.workUnit.id, this.id))
    return row ? new NotPendingError() : new GoneError('Attempt')
  }
}
