import { type RawBuilder, sql } from 'kysely'

// Statements on one worker row (src/postgres/worker.ts runs them; getting a worker by name is
// ./namespace.ts, its attempts ./attempt.ts).

/** A worker's fields, with its parent's name. */
export interface WorkerRow {
  parent_id: string | null
  parent_name: string | null
  active: boolean
  mode: string
  data: Uint8Array
  expiration: Date
  last_update: Date
}

/** A worker's fields. */
export function workerSql(workerId: string): RawBuilder<WorkerRow> {
  return sql<WorkerRow>`
      SELECT w.parent_id::text, p.name AS parent_name, w.active, w.mode, w.data, w.expiration, w.last_update
      FROM worker w LEFT JOIN worker p ON p.id = w.parent_id WHERE w.id = ${workerId}`
}

/** Sets (or with null clears) a worker's parent. */
export function setParentSql(workerId: string, parentId: string | null): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`UPDATE worker SET parent_id = ${parentId} WHERE id = ${workerId} RETURNING id`
}

/** A worker's children, sorted by name. */
export function childrenSql(workerId: string): RawBuilder<{ id: string; name: string }> {
  return sql<{ id: string; name: string }>`SELECT id::text, name FROM worker WHERE parent_id = ${workerId} ORDER BY name`
}

/** Marks a worker inactive. */
export function deactivateSql(workerId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`UPDATE worker SET active = false WHERE id = ${workerId} RETURNING id`
}

/** A heartbeat: active again, times set, data and mode replaced unless null. */
export function updateWorkerSql(workerId: string, now: Date, expiration: Date, data: Buffer | null, mode: string | null): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
      UPDATE worker SET active = true, last_update = ${now}, expiration = ${expiration},
        data = COALESCE(${data}::bytea, data), mode = COALESCE(${mode}::text, mode)
      WHERE id = ${workerId} RETURNING id`
}
