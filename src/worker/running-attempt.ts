import type { Attempt } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import type { LazyAbort } from './lazy-abort.js'
import type { TaskUnit } from './options.js'

/**
 * Where an attempt is in this runtime: it waits for a slot, its handler runs, its result waits
 * to be written, or it left this runtime's hands (lease lost, given back at shutdown, or written).
 */
export type RunningState = 'queued' | 'running' | 'completing' | 'lost' | 'given-back' | 'done'

/** One attempt this runtime holds a lease on. */
export interface RunningAttempt {
  readonly attempt: Attempt
  readonly unit: TaskUnit
  readonly controller: LazyAbort
  state: RunningState
  /** When the lease ends as far as this process knows (ms since the epoch, on the runtime's clock). */
  expiresAt: number
  /** The attempt's data as last written (the unit's data until progress() replaces it). */
  data: DataDict
}

/** Whether the runtime still holds the lease and may write the attempt. */
export function holdsLease(entry: RunningAttempt): boolean {
  return entry.state === 'queued' || entry.state === 'running' || entry.state === 'completing'
}
