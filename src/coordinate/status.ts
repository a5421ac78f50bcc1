/** Where a work unit stands; `delayed` is `available` with a not-before time still in the future. */
export type WorkUnitStatus = 'available' | 'pending' | 'finished' | 'failed' | 'delayed'

/** Where one attempt stands; only `pending` attempts hold a lease. */
export type AttemptStatus = 'pending' | 'expired' | 'finished' | 'failed' | 'retryable'

/** Every work unit status, in the order summaries sort them. */
export const WORK_UNIT_STATUSES: readonly WorkUnitStatus[] = ['available', 'pending', 'finished', 'failed', 'delayed']

/** Every attempt status. */
export const ATTEMPT_STATUSES: readonly AttemptStatus[] = ['pending', 'expired', 'finished', 'failed', 'retryable']

/** Tells whether a value is a work unit status name. */
export function isWorkUnitStatus(value: unknown): value is WorkUnitStatus {
  return typeof value === 'string' && (WORK_UNIT_STATUSES as readonly string[]).includes(value)
}
