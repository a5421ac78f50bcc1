import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitQuery } from '../../coordinate/api.js'
import { workUnitKeyBytes } from '../../coordinate/data.js'
import { InvalidInputError } from '../../coordinate/errors.js'
import { WORK_UNIT_STATUSES } from '../../coordinate/status.js'

/**
 * The status of work unit `u` at `now`. A pending unit whose lease has run out (strictly:
 * lease_expires < now) reads as available or delayed before the sweep rewrites its row.
 */
export function unitStatusSql(now: Date): RawBuilder<string> {
  return sql<string>`CASE
    WHEN u.state = 'finished' THEN 'finished'
    WHEN u.state = 'failed' THEN 'failed'
    WHEN u.state = 'pending' AND u.lease_expires >= ${now} THEN 'pending'
    WHEN u.not_before > ${now} THEN 'delayed'
    ELSE 'available' END`
}

/** The id of unit `u`'s active attempt at `now`: an attempt whose lease ran out no longer counts. */
export function activeAttemptIdSql(now: Date): RawBuilder<string | null> {
  return sql<string | null>`CASE WHEN u.state = 'pending' AND u.lease_expires < ${now} THEN NULL ELSE u.active_attempt_id END`
}

/** The status of attempt `a` at `now`: a pending attempt past its expiration reads as expired. */
export function attemptStatusSql(now: Date): RawBuilder<string> {
  return sql<string>`CASE WHEN a.status = 'pending' AND a.expiration_time < ${now} THEN 'expired' ELSE a.status END`
}

/** Postgres wants Buffers for bytea parameters; this views a Uint8Array as one without copying. */
export function bytea(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** The WHERE condition selecting the units of spec `specId` that `query` asks for. */
export function workUnitQuerySql(specId: string, query: WorkUnitQuery, now: Date): RawBuilder<boolean> {
  const conditions: RawBuilder<unknown>[] = [sql`u.work_spec_id = ${specId}`]
  if (query.names !== undefined) {
    conditions.push(sql`u.name = ANY(${query.names.map((key) => bytea(workUnitKeyBytes(key)))}::bytea[])`)
  }
  if (query.statuses !== undefined && query.statuses.length > 0) {
    for (const status of query.statuses) {
      if (!WORK_UNIT_STATUSES.includes(status)) throw new InvalidInputError(`unknown work unit status ${JSON.stringify(status)}`)
    }
    conditions.push(sql`(${unitStatusSql(now)}) = ANY(${[...query.statuses]}::text[])`)
  }
  if (query.previousName !== undefined) {
    conditions.push(sql`u.name > ${bytea(workUnitKeyBytes(query.previousName))}`)
  }
  return sql<boolean>`${sql.join(conditions, sql` AND `)}`
}

/** `LIMIT n` for a query's limit, or nothing; rejects limits that are not whole numbers. */
export function limitSql(query: WorkUnitQuery): RawBuilder<unknown> {
  if (query.limit === undefined || query.limit === 0) return sql``
  if (!Number.isSafeInteger(query.limit) || query.limit < 0) {
    throw new InvalidInputError(`a query limit must be a whole number, not ${String(query.limit)}`)
  }
  return sql`LIMIT ${query.limit}`
}
