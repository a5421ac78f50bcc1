import { InvalidInputError } from '../coordinate/errors.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { readList } from './params.js'

/** Python Coordinate's work unit status codes (coordinate/constants.py). */
export const AVAILABLE = 1
export const BLOCKED = 2
export const PENDING = 3
export const FINISHED = 4
export const FAILED = 5

/** Python Coordinate's work spec status codes, used by control_work_spec and get_work_spec_meta. */
export const RUNNABLE = 1
export const PAUSED = 2

/**
 * The Python code for a status. Python has no "delayed": a delayed unit is available with a
 * start time, so it is reported as AVAILABLE (go-coordinate counted it under 0, which the
 * client's `status()` summary then left out of every column).
 */
export function statusCode(status: WorkUnitStatus): number {
  switch (status) {
    case 'available':
    case 'delayed':
      return AVAILABLE
    case 'pending':
      return PENDING
    case 'finished':
      return FINISHED
    case 'failed':
      return FAILED
  }
}

/** The statuses a Python code selects: AVAILABLE takes delayed units too, so that a query agrees with what status reports. */
export function statusesForCode(code: number): WorkUnitStatus[] {
  switch (code) {
    case AVAILABLE:
      return ['available', 'delayed']
    case PENDING:
      return ['pending']
    case FINISHED:
      return ['finished']
    case FAILED:
      return ['failed']
    case BLOCKED:
      throw new InvalidInputError('work unit status 2 (BLOCKED) is not supported')
    default:
      throw new InvalidInputError(`invalid work unit status ${code}`)
  }
}

/** Reads a status code sent as an int. */
export function readStatusCode(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidInputError(`${what} must be an integer status code, not ${typeof value === 'number' ? value : typeof value}`)
  }
  return value
}

/**
 * Reads a `state` option: one code, or a list or tuple of codes (the Python client sends
 * `(AVAILABLE, PENDING)` for list_work_units). Undefined when absent; an empty list selects nothing.
 */
export function readStateOption(value: unknown, what = 'state'): WorkUnitStatus[] | undefined {
  if (value === null || value === undefined) return undefined
  const codes = typeof value === 'number' ? [value] : readList(value, what)
  const statuses = new Set<WorkUnitStatus>()
  codes.forEach((code, i) => {
    for (const status of statusesForCode(readStatusCode(code, typeof value === 'number' ? what : `${what}[${i}]`))) statuses.add(status)
  })
  return [...statuses]
}
