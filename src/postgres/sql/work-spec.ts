import { type RawBuilder, sql } from 'kysely'
import { encodeData } from '../../coordinate/cbor-data.js'
import type { DataDict } from '../../coordinate/data.js'
import type { WorkSpecMeta } from '../../coordinate/work-spec-meta.js'

// Statements on work_spec rows (src/postgres/namespace.ts, work-spec.ts and
// work-spec-meta-store.ts run them).

/** A spec's meta as columns; the counts only when asked for. */
export interface MetaRow {
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

/** Creates or replaces a spec in one upsert; replacing re-derives every meta field. */
export function upsertWorkSpecSql(namespaceId: string, name: string, data: DataDict, meta: WorkSpecMeta): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`${insertWorkSpec(namespaceId, name, data, meta)}
      ON CONFLICT (namespace_id, name) DO UPDATE SET ${definitionAssignments(data, meta)}, version = nextval('version_seq')
      RETURNING id::text`
}

/** Creates a spec unless one of that name exists (then no row: the existing one is left alone). */
export function createWorkSpecIfAbsentSql(namespaceId: string, name: string, data: DataDict, meta: WorkSpecMeta): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`${insertWorkSpec(namespaceId, name, data, meta)}
      ON CONFLICT (namespace_id, name) DO NOTHING
      RETURNING id::text`
}

function insertWorkSpec(namespaceId: string, name: string, data: DataDict, meta: WorkSpecMeta): RawBuilder<unknown> {
  return sql`
      INSERT INTO work_spec (namespace_id, name, data, priority, weight, paused, continuous, can_be_continuous,
        min_memory_gb, interval_ms, max_running, max_attempts_returned, max_retries, next_work_spec_name, runtime)
      VALUES (${namespaceId}, ${name}, ${encodeData(data)}, ${meta.priority}, ${meta.weight}, ${meta.paused},
        ${meta.continuous}, ${meta.canBeContinuous}, ${meta.minMemoryGb}, ${meta.intervalMs}, ${meta.maxRunning},
        ${meta.maxAttemptsReturned}, ${meta.maxRetries}, ${meta.nextWorkSpecName}, ${meta.runtime})`
}

/** The id of a namespace's spec with this name. */
export function workSpecIdSql(namespaceId: string, name: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`SELECT id::text FROM work_spec WHERE namespace_id = ${namespaceId} AND name = ${name}`
}

/**
 * Locks a spec's row against new units (their inserts take its key-share lock) and claims under
 * max_running, between the locks on its attempts and on its units (src/postgres/spec-destruction.ts).
 */
export function lockWorkSpecSql(specId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`SELECT id::text FROM work_spec WHERE id = ${specId} FOR UPDATE`
}

/** Deletes a spec (its units and attempts go by the triggers); no row if it was gone already. */
export function deleteWorkSpecSql(specId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`DELETE FROM work_spec WHERE id = ${specId} RETURNING id::text`
}

/** A namespace's spec names, sorted. */
export function workSpecNamesSql(namespaceId: string): RawBuilder<{ name: string }> {
  return sql<{ name: string }>`SELECT name FROM work_spec WHERE namespace_id = ${namespaceId} ORDER BY name`
}

/** A spec's definition dict. */
export function workSpecDataSql(specId: string): RawBuilder<{ data: Uint8Array }> {
  return sql<{ data: Uint8Array }>`SELECT data FROM work_spec WHERE id = ${specId}`
}

/** A spec's definition, meta and version. */
export function workSpecSnapshotSql(specId: string): RawBuilder<MetaColumnsRow & { data: Uint8Array; version: string }> {
  return sql<MetaColumnsRow & { data: Uint8Array; version: string }>`
    SELECT s.data, s.version, ${META_COLUMNS} FROM work_spec s WHERE s.id = ${specId}`
}

/** A spec's meta; with counts, units available now (not delayed) and pending now. */
export function workSpecMetaSql(specId: string, withCounts: boolean, now: Date): RawBuilder<MetaRow> {
  // From the kept counts (./unit-counts.ts): counting the units would read all of them.
  const counts = withCounts
    ? sql`, k.available_count, k.pending_count`
    : sql``
  const join = withCounts
    ? sql`CROSS JOIN LATERAL (
        SELECT COALESCE(sum(c.count) FILTER (WHERE c.status = 'available'), 0)::integer AS available_count,
          COALESCE(sum(c.count) FILTER (WHERE c.status = 'pending'), 0)::integer AS pending_count
        FROM work_unit_counts(ARRAY[s.id], ${now}) c) k`
    : sql``
  return sql<MetaRow>`SELECT ${META_COLUMNS} ${counts} FROM work_spec s ${join} WHERE s.id = ${specId}`
}

/** Settable meta fields; null leaves a field as it is (nextContinuous: undefined does). */
export interface MetaChanges {
  priority: unknown
  weight: unknown
  paused: unknown
  continuous: unknown
  minMemoryGb: unknown
  intervalMs: unknown
  nextContinuous: Date | null | undefined
  maxRunning: unknown
  maxAttemptsReturned: unknown
  maxRetries: unknown
}

/** Applies meta changes; `continuous` only sticks on specs declared continuous. */
export function updateWorkSpecMetaSql(specId: string, m: MetaChanges): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
    UPDATE work_spec SET
      priority = COALESCE(${m.priority}::integer, priority),
      weight = COALESCE(${m.weight}::integer, weight),
      paused = COALESCE(${m.paused}::boolean, paused),
      continuous = can_be_continuous AND COALESCE(${m.continuous}::boolean, continuous),
      min_memory_gb = COALESCE(${m.minMemoryGb}::double precision, min_memory_gb),
      interval_ms = COALESCE(${m.intervalMs}::bigint, interval_ms),
      next_continuous = CASE WHEN ${m.nextContinuous !== undefined} THEN ${m.nextContinuous ?? null}::timestamptz ELSE next_continuous END,
      max_running = COALESCE(${m.maxRunning}::integer, max_running),
      max_attempts_returned = COALESCE(${m.maxAttemptsReturned}::integer, max_attempts_returned),
      max_retries = COALESCE(${m.maxRetries}::integer, max_retries),
      version = nextval('version_seq')
    WHERE id = ${specId} RETURNING id`
}
