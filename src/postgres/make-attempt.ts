import { sql } from 'kysely'
import { GoneError, InvalidInputError } from '../coordinate/errors.js'
import { PostgresAttempt } from './attempt.js'
import type { PostgresWorkUnit } from './work-unit.js'
import type { PostgresWorker } from './worker.js'

// The unit row is locked before the attempt is inserted: with no foreign key, that lock is
// what makes a concurrent delete wait and then remove this attempt with its unit.

/** Creates a pending attempt on a unit, whatever its state, and makes it the unit's active attempt. */
export async function makeAttempt(worker: PostgresWorker, unit: PostgresWorkUnit, lifetimeMs: number): Promise<PostgresAttempt> {
  if (typeof lifetimeMs !== 'number' || !Number.isFinite(lifetimeMs)) throw new InvalidInputError('a lease lifetime must be a finite number of ms')
  const store = worker.namespace.store
  const now = store.now()
  const expiration = new Date(now.getTime() + lifetimeMs)
  const row = await store.row(sql<{ id: string }>`
    WITH made AS (
      INSERT INTO attempt (work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
      SELECT u.id, u.work_spec_id, ${worker.id}, ${now}, ${expiration} FROM work_unit u WHERE u.id = ${unit.id} FOR UPDATE
      RETURNING id, work_unit_id
    ), unit AS (
      UPDATE work_unit SET state = 'pending', active_attempt_id = made.id, lease_expires = ${expiration},
        version = nextval('version_seq')
      FROM made WHERE work_unit.id = made.work_unit_id
    )
    SELECT id::text FROM made`)
  if (!row) throw new GoneError('Work unit')
  return new PostgresAttempt(row.id, unit, worker)
}
