import { type DataDict, type WorkUnitKey, assertDataDict, describe, isWellFormedText, workUnitKeyBytes } from './data.js'
import { InvalidInputError } from './errors.js'
import {
  MAX_DELAY_MS,
  MAX_INT32,
  MAX_KEY_BYTES,
  MAX_LEASE_MS,
  MAX_NAME_BYTES,
  MAX_TIME_MS,
  MAX_UNIT_PRIORITY,
  MIN_INT32,
  MIN_TIME_MS,
} from './limits.js'

// The scalar validators every public call is built from. Each throws InvalidInputError with a
// message naming `what`, and returns the value in the form the store keeps. None does I/O.

const encoder = new TextEncoder()

/** Shows a rejected value in a message without dumping a huge string or object. */
export function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value)
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString()
  return describe(value)
}


/**
 * Checks a text setting that Postgres stores as `text` (a mode, a runtime): a string without NUL
 * characters or lone surrogates, at most `maxBytes` long in UTF-8.
 */
export function validateText(value: unknown, what: string, maxBytes = MAX_NAME_BYTES): string {
  if (typeof value !== 'string') throw new InvalidInputError(`${what} must be a string, not ${shown(value)}`)
  if (value.includes('\u0000')) throw new InvalidInputError(`${what} must not contain a NUL character`)
  if (!isWellFormedText(value)) throw new InvalidInputError(`${what} must not contain a lone surrogate`)
  // Every UTF-16 unit is at most 3 UTF-8 bytes: only long strings need encoding to be measured.
  if (value.length * 3 > maxBytes) {
    const bytes = encoder.encode(value).length
    if (bytes > maxBytes) throw new InvalidInputError(`${what} may have at most ${maxBytes} UTF-8 bytes, not ${bytes}`)
  }
  return value
}

/** Checks a namespace, work spec or worker name (the empty name is allowed: it is the default namespace). */
export function validateName(value: unknown, what = 'a name'): string {
  return validateText(value, what, MAX_NAME_BYTES)
}

/** Checks a list of names. */
export function validateNames(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new InvalidInputError(`${what} must be a list of names, not ${shown(value)}`)
  return value.map((name, i) => validateName(name, `${what}[${i}]`))
}

/** Checks a work unit key (text or bytes, at most MAX_KEY_BYTES) and returns its bytes. */
export function validateWorkUnitKey(value: unknown, what = 'a work unit key'): Uint8Array {
  if (typeof value === 'string' && !isWellFormedText(value)) throw new InvalidInputError(`${what} must not contain a lone surrogate`)
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new InvalidInputError(`${what} must be a string or bytes, not ${shown(value)}`)
  }
  const bytes = workUnitKeyBytes(value as WorkUnitKey)
  if (bytes.length > MAX_KEY_BYTES) {
    throw new InvalidInputError(`${what} may have at most ${MAX_KEY_BYTES} bytes, not ${bytes.length}`)
  }
  return bytes
}

/** Checks a list of work unit keys and returns their bytes. */
export function validateWorkUnitKeys(value: unknown, what = 'work unit keys'): Uint8Array[] {
  if (!Array.isArray(value)) throw new InvalidInputError(`${what} must be a list of keys, not ${shown(value)}`)
  return value.map((key, i) => validateWorkUnitKey(key, `${what}[${i}]`))
}

/** Checks a data dict (see assertDataDict: storable values, depth, well-formed text). */
export function validateDataDict(value: unknown, what = 'data'): DataDict {
  assertDataDict(value, what)
  return value
}

/** Checks optional data: undefined or null mean "leave the data as it is". */
export function validateOptionalDataDict(value: unknown, what = 'data'): DataDict | undefined {
  return value === undefined || value === null ? undefined : validateDataDict(value, what)
}

/** Checks that a value is a finite number (not NaN, not ±Infinity, not a bigint or string). */
export function validateFiniteNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidInputError(`${what} must be a finite number, not ${shown(value)}`)
  return value
}

/** Checks a whole number in [min, max]. */
export function validateInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidInputError(`${what} must be a whole number, not ${shown(value)}`)
  if (value < min || value > max) throw new InvalidInputError(`${what} must be between ${min} and ${max}, not ${value}`)
  return value
}

/** Checks a 32-bit integer setting (a work spec priority). */
export function validateInt32(value: unknown, what: string): number {
  return validateInteger(value, what, MIN_INT32, MAX_INT32)
}

/** Checks a non-negative 32-bit integer setting where 0 means "no cap" (max_running, max_getwork, max_retries). */
export function validateCap(value: unknown, what: string): number {
  return validateInteger(value, what, 0, MAX_INT32)
}

/** Checks a work spec weight: a whole number of at least 1. */
export function validateWeight(value: unknown, what = 'weight'): number {
  return validateInteger(value, what, 1, MAX_INT32)
}

/** Checks a work unit priority or a priority adjustment: finite, magnitude at most MAX_UNIT_PRIORITY. */
export function validateUnitPriority(value: unknown, what = 'a work unit priority'): number {
  const n = validateFiniteNumber(value, what)
  if (Math.abs(n) > MAX_UNIT_PRIORITY) throw new InvalidInputError(`${what} must be between -${MAX_UNIT_PRIORITY} and ${MAX_UNIT_PRIORITY}, not ${n}`)
  return n
}

/** Checks a memory amount in GB (min_gb, availableGb): a non-negative number; Infinity means unlimited. */
export function validateMemoryGb(value: unknown, what: string, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidInputError(`${what} must be a ${allowInfinity ? '' : 'finite '}number, not ${shown(value)}`)
  }
  if (value < 0) throw new InvalidInputError(`${what} must not be negative, not ${value}`)
  return value
}

/** Checks a lease length in ms (lifetimeMs, renew): 0 to MAX_LEASE_MS. */
export function validateLeaseMs(value: unknown, what = 'a lease length in ms'): number {
  const n = validateFiniteNumber(value, what)
  if (n < 0 || n > MAX_LEASE_MS) throw new InvalidInputError(`${what} must be between 0 and ${MAX_LEASE_MS} ms (one day), not ${n}`)
  return n
}

/** Checks a delay or interval in ms (retry delay, continuous interval): 0 to MAX_DELAY_MS. */
export function validateDelayMs(value: unknown, what = 'a delay in ms'): number {
  const n = validateFiniteNumber(value, what)
  if (n < 0 || n > MAX_DELAY_MS) throw new InvalidInputError(`${what} must be between 0 and ${MAX_DELAY_MS} ms (ten years), not ${n}`)
  return n
}

/** Checks a time: a valid Date from year 1 to 9999. */
export function validateTime(value: unknown, what: string): Date {
  if (!(value instanceof Date)) throw new InvalidInputError(`${what} must be a Date, not ${shown(value)}`)
  const ms = value.getTime()
  if (!(ms >= MIN_TIME_MS && ms <= MAX_TIME_MS)) {
    throw new InvalidInputError(`${what} must be a valid Date between years 1 and 9999, not ${shown(value)}`)
  }
  return value
}

/** Checks an optional time where null clears it (notBefore, nextContinuous). */
export function validateOptionalTime(value: unknown, what: string): Date | null | undefined {
  return value === undefined || value === null ? value : validateTime(value, what)
}

/** Checks that an argument is a plain object (an options or meta record); undefined gives `{}`. */
export function validateRecord<T extends object>(value: T | undefined, what: string): Partial<T> {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError(`${what} must be an object, not ${shown(value)}`)
  }
  return value
}
