import { GoneError, InvalidInputError } from '../coordinate/errors.js'
import type { WorkSpecMeta, WorkSpecMetaUpdate } from '../coordinate/work-spec-meta.js'
import { type MetaColumnsRow, type MetaRow, updateWorkSpecMetaSql, workSpecMetaSql } from './sql/work-spec.js'
import type { Store } from './store.js'

/** Turns a row holding META_COLUMNS (and optionally counts) into a WorkSpecMeta. */
export function metaFromRow(row: MetaColumnsRow & Partial<MetaRow>): WorkSpecMeta {
  return {
    priority: row.priority,
    weight: row.weight,
    paused: row.paused,
    continuous: row.continuous,
    canBeContinuous: row.can_be_continuous,
    minMemoryGb: row.min_memory_gb,
    intervalMs: Number(row.interval_ms),
    nextContinuous: row.next_continuous,
    maxRunning: row.max_running,
    maxAttemptsReturned: row.max_attempts_returned,
    maxRetries: row.max_retries,
    nextWorkSpecName: row.next_work_spec_name,
    runtime: row.runtime,
    availableCount: row.available_count ?? 0,
    pendingCount: row.pending_count ?? 0,
  }
}

/** Reads a spec's meta; with counts, units available now (not delayed) and pending now are counted. */
export async function readWorkSpecMeta(store: Store, specId: string, withCounts: boolean): Promise<WorkSpecMeta> {
  const row = await store.row(workSpecMetaSql(specId, withCounts, store.now()))
  if (!row) throw new GoneError('Work spec')
  return metaFromRow(row)
}

/**
 * Applies the settable fields that are present. `continuous` can only be turned on for specs
 * declared continuous; the dict-derived fields (then, runtime) are left alone.
 */
export async function writeWorkSpecMeta(store: Store, specId: string, meta: WorkSpecMetaUpdate): Promise<void> {
  const set = (value: unknown, check: (v: unknown) => boolean, what: string): unknown => {
    if (value === undefined) return null
    if (!check(value)) throw new InvalidInputError(`meta ${what} has the wrong type: ${String(value)}`)
    return value
  }
  const int = (v: unknown) => typeof v === 'number' && Number.isFinite(v)
  const bool = (v: unknown) => typeof v === 'boolean'
  const nextContinuous = meta.nextContinuous
  if (nextContinuous !== undefined && nextContinuous !== null && !(nextContinuous instanceof Date)) {
    throw new InvalidInputError('meta nextContinuous must be a Date or null')
  }
  const rows = await store.rows(
    updateWorkSpecMetaSql(specId, {
      priority: set(meta.priority, int, 'priority'),
      weight: set(meta.weight, int, 'weight'),
      paused: set(meta.paused, bool, 'paused'),
      continuous: set(meta.continuous, bool, 'continuous'),
      minMemoryGb: set(meta.minMemoryGb, int, 'minMemoryGb'),
      intervalMs: set(meta.intervalMs, int, 'intervalMs'),
      nextContinuous,
      maxRunning: set(meta.maxRunning, int, 'maxRunning'),
      maxAttemptsReturned: set(meta.maxAttemptsReturned, int, 'maxAttemptsReturned'),
      maxRetries: set(meta.maxRetries, int, 'maxRetries'),
    }),
  )
  if (rows.length === 0) throw new GoneError('Work spec')
}
