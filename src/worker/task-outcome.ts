import { encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, assertDataDict, describe } from '../coordinate/data.js'

/** A handler returned something that cannot be stored as a data dict. */
export class InvalidTaskOutputError extends Error {
  override name = 'InvalidTaskOutputError'
}

/** The runtime aborted a handler; `reason` says why. */
export class TaskAbortedError extends Error {
  override name = 'TaskAbortedError'

  constructor(readonly reason: 'lease-lost' | 'shutdown') {
    super(reason === 'lease-lost' ? 'the lease on this work unit was lost' : 'the worker is shutting down')
  }
}

// A traceback is for people; one that big is a handler's bug, not something to store in full.
const MAX_TRACEBACK_CHARS = 16_000

/**
 * Checks a handler's return value: nothing (undefined or null) leaves the attempt's data as it
 * is, a storable dict becomes it, anything else is an InvalidTaskOutputError.
 */
export function taskOutput(value: unknown): DataDict | undefined {
  if (value === undefined || value === null) return undefined
  try {
    assertDataDict(value, 'the returned data')
    // Catches what only the encoder knows, such as integers beyond 64 bits.
    encodeData(value)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new InvalidTaskOutputError(`the handler returned ${describe(value)} that cannot be stored: ${reason}`)
  }
  return value
}

/** The name, message and stack of anything thrown, for a non-Error value too. */
export function describeThrown(thrown: unknown): { name: string; message: string; traceback: string } {
  if (thrown instanceof Error) {
    const name = safeText(() => thrown.name) || 'Error'
    const message = safeText(() => thrown.message)
    const stack = safeText(() => thrown.stack ?? '') || `${name}: ${message}`
    return { name, message, traceback: stack.slice(0, MAX_TRACEBACK_CHARS) }
  }
  const shown = typeof thrown === 'string' ? JSON.stringify(thrown) : safeText(() => String(thrown))
  const message = `the handler threw ${describe(thrown)} (${shown.slice(0, 200)}), not an Error`
  return { name: 'NonErrorThrown', message, traceback: message }
}

/** The data a failed attempt keeps: what it had, plus the error as Python's `traceback` and its name and message. */
export function failureData(base: DataDict, thrown: unknown): DataDict {
  const { name, message, traceback } = describeThrown(thrown)
  return { ...base, traceback, error: { name, message } }
}

// String() and property reads can throw (a getter, a Symbol.toPrimitive); a report must not.
function safeText(read: () => string): string {
  try {
    return String(read())
  } catch {
    return '(unprintable)'
  }
}
