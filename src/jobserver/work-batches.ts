import type { Attempt, AttemptCompletion, Namespace, WorkSpec } from '../coordinate/api.js'
import { type DataDict, workUnitKeyId } from '../coordinate/data.js'
import { ClosedError, DatabaseUnavailableError, GoneError, LostLeaseError, NotPendingError } from '../coordinate/errors.js'
import type { WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import { Coalescer, type Settled, settle } from '../coordinate/coalescer.js'

// Statements of each kind in flight at once. With one, at max_jobs 100 (every connection always
// waiting on an update) each completion queued behind the last and the loop ran slower than
// without batching; two kept the gain at max_jobs 1 and beat the unbatched daemon at 100
// (docs/design.md, "Where the daemon's time went"); many would be a statement per request again.
const MAX_IN_FLIGHT = 2
// Requests in one batch; far above what a few dozen connections can have waiting.
const MAX_BATCH = 256

/** Whether an error says the attempt was not (or no longer) this worker's to end. */
export function isNotPending(error: unknown): boolean {
  return error instanceof NotPendingError || error instanceof LostLeaseError || error instanceof GoneError
}

/**
 * The two statements every get_work → update_work_unit cycle makes besides its claim, gathered
 * across connections: the read of the claimed units' data, and the completion. Each request
 * still gets exactly its own answer or error; what changes is that requests arriving together
 * share one round trip (and, for completions, one commit and WAL flush).
 */
export class WorkBatches {
  readonly #completions: Coalescer<AttemptCompletion, void>
  readonly #reads = new WeakMap<WorkSpec, Coalescer<readonly Uint8Array[], WorkUnitSnapshot[]>>()

  constructor(namespace: Namespace) {
    this.#completions = new Coalescer((batch) => completeBatch(namespace, batch), { maxInFlight: MAX_IN_FLIGHT, maxBatch: MAX_BATCH })
  }

  /** Finishes or fails one attempt; NotPendingError or GoneError as the attempt's own call would. */
  complete(attempt: Attempt, status: 'finished' | 'failed', data: DataDict | undefined): Promise<void> {
    return this.#completions.call({ attempt, status, data })
  }

  /** The snapshots of some of a spec's units (those that exist). */
  snapshots(spec: WorkSpec, keys: readonly Uint8Array[]): Promise<WorkUnitSnapshot[]> {
    let reads = this.#reads.get(spec)
    if (reads === undefined) {
      reads = new Coalescer((batch) => readBatch(spec, batch), { maxInFlight: MAX_IN_FLIGHT, maxBatch: MAX_BATCH })
      this.#reads.set(spec, reads)
    }
    return reads.call(keys)
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
  // One after the other: two completions of one attempt must not race each other.
  const results: Settled<void>[] = []
  for (const completion of batch) results.push(await settle(() => namespace.completeAttempts([completion])))
  return results
}

/** Reads every request's keys in one query and hands each request the snapshots of its own. */
async function readBatch(spec: WorkSpec, batch: (readonly Uint8Array[])[]): Promise<Settled<WorkUnitSnapshot[]>[]> {
  if (batch.length === 1) return [await settle(() => spec.workUnitSnapshots(batch[0] ?? []))]
  const snapshots = await spec.workUnitSnapshots(batch.flat())
  const byKey = new Map(snapshots.map((snapshot) => [workUnitKeyId(snapshot.key), snapshot]))
  return batch.map((keys) => ({ ok: true, value: keys.flatMap((key) => byKey.get(workUnitKeyId(key)) ?? []) }))
}
