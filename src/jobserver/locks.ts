import { type DataValue, Tuple, describe } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import type { LockLabel, LockPath, LockService } from '../coordinate/locks.js'
import { SECOND } from '../coordinate/clock.js'
import { type MethodTable, method } from './method.js'

// go-coordinate's lock methods with their wire shapes: pairs are plain arrays `[value, msg]`
// (msg null on success), readlock a bare list, delete_namespace a bare 0. Timeouts travel in
// seconds. Python 2 sends the locker id as a byte string, so ids are read as UTF-8; labels are
// kept exactly as sent (bytes stay bytes), because go compared them by deep equality.

/**
 * The lock methods (`lock`, `locksome`, `renew`, `readlock`, `unlock`, `delete_namespace`) over a LockService.
 *
 * @example
 * const server = new JobServer({ namespace, config, clock: systemClock, lockMethods: lockMethods(coordinate.locks()) })
 */
export function lockMethods(locks: LockService): MethodTable {
  // The JobServer checks each method's parameter count before calling it.
  return {
    lock: method(3, async ([owner, timeout, paths]) => {
      const { ok, message } = await locks.lock(lockerId(owner), timeoutMs(timeout), keyPaths(paths))
      return [ok, message]
    }),
    locksome: method(3, async ([owner, timeout, paths]) => {
      const locked = await locks.locksome(lockerId(owner), timeoutMs(timeout), keyPaths(paths))
      return [locked.map((path) => (path === null ? null : [...path])), null]
    }),
    renew: method(3, async ([owner, timeout, paths]) => {
      const { ok, message } = await locks.renew(lockerId(owner), timeoutMs(timeout), keyPaths(paths))
      return [ok, message]
    }),
    readlock: method(1, async ([paths]) => locks.readlock(keyPaths(paths))),
    unlock: method(2, async ([owner, paths]) => {
      const { ok, message } = await locks.unlock(lockerId(owner), keyPaths(paths))
      return [ok, message]
    }),
    delete_namespace: method(1, async ([prefix]) => {
      await locks.deleteNamespace(prefix as LockLabel)
      // go answers 0 whatever it removed; clients only check that the call succeeded.
      return 0
    }),
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function lockerId(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value)
    } catch {
      throw new InvalidInputError('a locker id must be valid UTF-8')
    }
  }
  throw new InvalidInputError(`a locker id must be a string, not ${describe(value)}`)
}

// Seconds on the wire; null counts as 0 (the default timeout), as go's decoder read it.
function timeoutMs(value: unknown): number {
  if (value === null) return 0
  const seconds = typeof value === 'bigint' ? Number(value) : value
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidInputError(`a lock timeout must be a number of seconds ≥ 0, not ${describe(value)}`)
  }
  return seconds * SECOND
}

// A list (or tuple) of paths, each a list (or tuple) of labels: Python sends either.
function keyPaths(value: unknown): LockPath[] {
  const paths = items(value)
  if (paths === undefined) throw new InvalidInputError('cannot decode key paths: expected a list of paths')
  return paths.map((path) => {
    const labels = items(path)
    if (labels === undefined) throw new InvalidInputError(`cannot decode key paths: a path is ${describe(path)}, not a list`)
    return labels
  })
}

function items(value: unknown): DataValue[] | undefined {
  if (Array.isArray(value)) return value as DataValue[]
  if (value instanceof Tuple) return value.items
  return undefined
}
