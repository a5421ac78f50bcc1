import { type DataValue, Tuple, Uuid, isDataDict } from './data.js'
import { InvalidInputError } from './errors.js'
import { SECOND } from './clock.js'

// Hierarchical advisory locks, as go-coordinate's jobserver offered them to Python clients. A
// path is a list of labels; locking a path also covers everything under it, so a path can be
// locked only when no prefix of it and nothing below it is locked. go kept the tree in memory
// per process; implementations of LockService keep it where several daemons see the same locks.

/** One step of a lock path: any data value, compared by deep equality (text "foo" is not bytes "foo"). */
export type LockLabel = DataValue

/** A lock path: labels from the root down. */
export type LockPath = readonly LockLabel[]

/** The outcome of an all-or-nothing lock operation; `message` says why it failed (null on success). */
export interface LockResult {
  ok: boolean
  message: string | null
}

/**
 * Hierarchical locks with owners and deadlines. Every operation first forgets locks whose
 * deadline has passed (by the implementation's clock), and each is atomic.
 *
 * @example
 * const locks = coordinate.locks()
 * const { ok } = await locks.lock('worker-1', 30_000, [['crawl', 'example.com']])
 * if (ok) await locks.unlock('worker-1', [['crawl', 'example.com']])
 */
export interface LockService {
  /** Locks every path for `owner`, or none: fails with "<path> is not lockable" on the first one that is not. */
  lock(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<LockResult>
  /** Locks each lockable path on its own; the result has the path where it was locked and null where not. */
  locksome(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<(LockPath | null)[]>
  /** Extends every path's lock to now + timeout if `owner` holds them all; otherwise changes nothing. */
  renew(owner: string, timeoutMs: number, paths: readonly LockPath[]): Promise<LockResult>
  /** The owner of the lock on each exact path, or null (a lock on a prefix does not count). */
  readlock(paths: readonly LockPath[]): Promise<(string | null)[]>
  /** Releases every path if `owner` holds them all; otherwise changes nothing. */
  unlock(owner: string, paths: readonly LockPath[]): Promise<LockResult>
  /** Releases every lock whose path starts with `prefix`; returns how many were released. */
  deleteNamespace(prefix: LockLabel): Promise<number>
}

/** The lock time used when the caller asks for 0: 60 seconds, as in go-coordinate. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60 * SECOND

/** The longest lock anyone gets: 1,000,000 seconds (about 11.5 days), as in go-coordinate. */
export const MAX_LOCK_TIMEOUT_MS = 1_000_000 * SECOND

/** The deadline of a lock taken or renewed at `now` for `timeoutMs` (0 means the default, long ones are capped). */
export function lockDeadline(now: Date, timeoutMs: number): Date {
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    // go would hand out a lock that is already expired; refusing says what went wrong.
    throw new InvalidInputError(`a lock timeout must be a number of milliseconds ≥ 0, not ${String(timeoutMs)}`)
  }
  const ms = timeoutMs === 0 ? DEFAULT_LOCK_TIMEOUT_MS : Math.min(timeoutMs, MAX_LOCK_TIMEOUT_MS)
  return new Date(now.getTime() + ms)
}

/** Checks that `paths` is a list of lists of labels; throws InvalidInputError otherwise. */
export function assertLockPaths(paths: unknown): asserts paths is readonly LockPath[] {
  if (!Array.isArray(paths)) throw new InvalidInputError('lock paths must be a list of paths')
  for (const path of paths) {
    if (!Array.isArray(path)) throw new InvalidInputError(`a lock path must be a list of labels, not ${formatLabel(path as DataValue)}`)
  }
}

/** A path the way go-coordinate's messages print it: `[foo bar]`. */
export function formatLockPath(path: LockPath): string {
  return `[${path.map(formatLabel).join(' ')}]`
}

/** go's message for a path that a prefix or a descendant lock blocks. */
export function notLockableMessage(path: LockPath): string {
  return `${formatLockPath(path)} is not lockable`
}

/** go's message for renewing a path held by someone else, or (owner null) by nobody. */
export function heldByMessage(path: LockPath, owner: string | null): string {
  return `${formatLockPath(path)} is held by ${owner ?? 'None'}`
}

/** The message for unlocking a path nobody holds (go crashed here instead). */
export function notHeldMessage(path: LockPath): string {
  return `${formatLockPath(path)} is not held`
}

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false })

// Byte strings print as their text: Python 2 clients send every label as bytes, and go's
// "[102 111 111]" would make the messages useless to them.
function formatLabel(label: DataValue): string {
  if (label === null) return 'None'
  if (typeof label === 'string') return label
  if (typeof label === 'number' || typeof label === 'bigint' || typeof label === 'boolean') return String(label)
  if (label instanceof Uint8Array) return lenientUtf8.decode(label)
  if (label instanceof Uuid) return label.toString()
  if (label instanceof Tuple) return formatLockPath(label.items)
  if (Array.isArray(label)) return formatLockPath(label)
  if (label instanceof Map) return `map[${[...label].map(([k, v]) => `${formatLabel(k)}:${formatLabel(v)}`).join(' ')}]`
  if (isDataDict(label)) return `map[${Object.entries(label).map(([k, v]) => `${k}:${formatLabel(v)}`).join(' ')}]`
  return String(label)
}
