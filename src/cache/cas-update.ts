import type { DataDict } from '../coordinate/data.js'
import { ConflictError, VersionConflictError } from '../coordinate/errors.js'
import { type DataUpdateFn, type LockedUpdateResult, canUpdateLocked } from '../postgres/locked-update.js'
import { casPause } from './backoff.js'
import type { CacheContext } from './cache-context.js'
import { copyData } from './data-copy.js'

/** Turns a data dict into the next one, for update(); it gets a copy it may edit. */
export type UpdateFn = DataUpdateFn

/** What casUpdate() needs of a proxy: its snapshot, its backend handle, and how to record a write. */
export interface CasTarget {
  /** For ConflictError's message, e.g. `work unit "u"`. */
  readonly what: string
  /** The cached row, if current: the lock-free first try starts from it without a read. */
  cached(): { data: DataDict; version: number } | undefined
  /** Reads the row (and refreshes the snapshot). */
  fetch(): Promise<{ data: DataDict; version: number }>
  /** setData with `ifVersion` on the backend handle; returns the new version. */
  write(data: DataDict, ifVersion: number): Promise<number>
  /** Runs `op` on the backend handle (following a re-created row once). */
  withHandle<R>(op: (handle: object) => Promise<R>): Promise<R>
  /** Records a committed write of `data` at `version` in the snapshot. */
  wrote(data: DataDict, version: number): void
  /** A conflict proved the snapshot stale: drop it. */
  stale(): void
}

/**
 * update(fn) for a unit's or spec's data. The first try is lock-free: fn on the cached (or read)
 * data, written with compare-and-swap. After a conflict, a backend that can lock the row (the
 * Postgres one) runs read, fn and write in one transaction holding the row lock, so concurrent
 * writers queue in the database and each one lands; other backends re-read and retry up to
 * `casRetries` times. Past `updateDeadlineMs` (waiting for the lock, or in fn) it gives up with
 * ConflictError. The snapshot changes only when a write committed.
 */
export async function casUpdate(ctx: CacheContext, target: CasTarget, fn: UpdateFn): Promise<DataDict> {
  const deadlineAt = Date.now() + ctx.options.updateDeadlineMs
  let read = target.cached()
  for (let attempt = 0; ; attempt++) {
    read ??= await target.fetch()
    const next = await fn(copyData(read.data))
    try {
      const version = await target.write(next, read.version)
      target.wrote(next, version)
      return copyData(next)
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error
      ctx.metrics.casConflicts.inc()
      target.stale()
    }
    const locked = await lockedUpdate(target, fn, deadlineAt)
    if (locked !== undefined) {
      ctx.metrics.casLockedUpdates.inc()
      target.wrote(locked.data, locked.version)
      return copyData(locked.data)
    }
    if (attempt >= ctx.options.casRetries || Date.now() >= deadlineAt) throw new ConflictError(target.what)
    read = undefined
    await casPause(attempt + 1)
  }
}

// undefined: the backend has no row locks, so the caller falls back to lock-free retries.
async function lockedUpdate(target: CasTarget, fn: UpdateFn, deadlineAt: number): Promise<LockedUpdateResult | undefined> {
  try {
    return await target.withHandle(async (handle) => (canUpdateLocked(handle) ? handle.updateDataLocked((data) => fn(copyData(data)), deadlineAt) : undefined))
  } catch (error) {
    if (error instanceof ConflictError) throw new ConflictError(target.what)
    throw error
  }
}
