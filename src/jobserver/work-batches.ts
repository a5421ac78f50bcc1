import type { Attempt, AttemptCompletion, Namespace } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import { ClosedError, DatabaseUnavailableError } from '../coordinate/errors.js'
import { Coalescer, MAX_REQUESTS_PER_STATEMENT, MAX_STATEMENTS_IN_FLIGHT, type Settled, settleEach } from '../coordinate/coalescer.js'

/**
 * The completions of every get_work → update_work_unit cycle, gathered across connections: each
 * request still gets exactly its own answer or error; what changes is that requests arriving
 * together share one round trip, one commit and one WAL flush. (The claim batches itself, in
 * the Postgres layer, and brings the units' data along.)
 */
export class WorkBatches {
  readonly #completions: Coalescer<AttemptCompletion, void>

  constructor(namespace: Namespace) {
    this.#completions = new Coalescer((batch) => completeBatch(namespace, batch), { maxInFlight: MAX_STATEMENTS_IN_FLIGHT, maxBatch: MAX_REQUESTS_PER_STATEMENT })
  }

  /** Finishes or fails one attempt; NotPendingError or GoneError as the attempt's own call would. */
  complete(attempt: Attempt, status: 'finished' | 'failed', data: DataDict | undefined): Promise<void> {
    return this.#completions.call({ attempt, status, data })
  }
}

/**
 * Completes a batch in one call. The call is all or nothing, so when it fails for one of its
 * completions (an attempt no longer pending, one unit's chaining refused) nothing changed, and
 * each completion is tried alone to get its own answer. A failure of the database itself is
 * every request's: its outcome may be unknown, and a retry would not be blind-safe.
 */
async function completeBatch(namespace: Namespace, batch: AttemptCompletion[]): Promise<Settled<void>[]> {
  const distinct = new Set(batch.map((c) => c.attempt.id)).size === batch.length
  if (batch.length > 1 && distinct) {
    try {
      await namespace.completeAttempts(batch)
      return batch.map(() => ({ ok: true, value: undefined }))
    } catch (error) {
      if (error instanceof DatabaseUnavailableError || error instanceof ClosedError) throw error
    }
  }
  // Each alone, at once; one after the other when two complete one attempt, which must not race.
  return settleEach(batch, (completion) => namespace.completeAttempts([completion]), distinct)
}
