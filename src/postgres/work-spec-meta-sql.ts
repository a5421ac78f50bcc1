import { type RawBuilder, sql } from 'kysely'
import { encodeData } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'
import { GoneError, InvalidInputError } from '../coordinate/errors.js'
import type { WorkSpecMeta, WorkSpecMetaUpdate } from '../coordinate/work-spec-meta.js'
import type { Store } from './store.js'

interface MetaRow {
  priority: number
  weight: number
  paused: boolean
  continuous: boolean
  can_be_continuous: boolean
  min_memory_gb: number
  interval_ms: string | number
  next_continuous: Date | null
  max_running: number
  max_attempts_returned: number
  max_retries: number
  next_work_spec_name: string
  runtime: string
  available_count: number
  pending_count: number
}

/** A row holding META_COLUMNS. */
export type MetaColumnsRow = Omit<MetaRow, 'available_count' | 'pending_count'>

/** The columns of work_spec `s` that make up its meta, without counts. */
export const META_COLUMNS = sql`s.priority, s.weight, s.paused, s.continuous, s.can_be_continuous, s.min_memory_gb,
  s.interval_ms, s.next_continuous, s.max_running, s.max_attempts_returned, s.max_retries,
  s.next_work_spec_name, s.runtime`

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

/**
 * SET assignments that replace a spec's definition and every meta field derived from it
 * (next_continuous restarts, as in go-coordinate); shared by setWorkSpec's upsert and setData.
 */
export function definitionAssignments(data: DataDict, meta: WorkSpecMeta): RawBuilder<unknown> {
  return sql`data = ${encodeData(data)}, priority = ${meta.priority}, weight = ${meta.weight},
    paused = ${meta.paused}, continuous = ${meta.continuous}, can_be_continuous = ${meta.canBeContinuous},
    min_memory_gb = ${meta.minMemoryGb}, interval_ms = ${meta.intervalMs}, next_continuous = NULL,
    max_running = ${meta.maxRunning}, max_attempts_returned = ${meta.maxAttemptsReturned},
    max_retries = ${meta.maxRetries}, next_work_spec_name = ${meta.nextWorkSpecName}, runtime = ${meta.runtime}`
}

/** Reads a spec's meta; with counts, units available now (not delayed) and pending now are counted. */
export async function readWorkSpecMeta(store: Store, specId: string, withCounts: boolean): Promise<WorkSpecMeta> {
  const now = store.now()
  const counts = withCounts
    ? sql`,
      (SELECT count(*)::integer FROM work_unit u WHERE u.work_spec_id = s.id
        AND (u.state = 'available' OR (u.state = 'pending' AND u.lease_expires < ${now}))
        AND (u.not_before IS NULL OR u.not_before <= ${now})) AS available_count,
      (SELECT count(*)::integer FROM work_unit u WHERE u.work_spec_id = s.id
        AND u.state = 'pending' AND u.lease_expires >= ${now}) AS pending_count`
    : sql``
  const row = await store.row(sql<MetaRow>`SELECT ${META_COLUMNS} ${counts} FROM work_spec s WHERE s.id = ${specId}`)
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
  const rows = await store.rows(sql`
    UPDATE work_spec SET
      priority = COALESCE(${set(meta.priority, int, 'priority')}::integer, priority),
      weight = COALESCE(${set(meta.weight, int, 'weight')}::integer, weight),
      paused = COALESCE(${set(meta.paused, bool, 'paused')}::boolean, paused),
      continuous = can_be_continuous AND COALESCE(${set(meta.continuous, bool, 'continuous')}::boolean, continuous),
      min_memory_gb = COALESCE(${set(meta.minMemoryGb, int, 'minMemoryGb')}::double precision, min_memory_gb),
      interval_ms = COALESCE(${set(meta.intervalMs, int, 'intervalMs')}::bigint, interval_ms),
      next_continuous = CASE WHEN ${nextContinuous !== undefined} THEN ${nextContinuous ?? null}::timestamptz ELSE next_continuous END,
      max_running = COALESCE(${set(meta.maxRunning, int, 'maxRunning')}::integer, max_running),
      max_attempts_returned = COALESCE(${set(meta.maxAttemptsReturned, int, 'maxAttemptsReturned')}::integer, max_attempts_returned),
      max_retries = COALESCE(${set(meta.maxRetries, int, 'maxRetries')}::integer, max_retries),
      version = nextval('version_seq')
    WHERE id = ${specId} RETURNING id`)
  if (rows.length === 0) throw new GoneError('Work spec')
}
