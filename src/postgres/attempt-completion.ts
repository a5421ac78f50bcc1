import { sql } from 'kysely'
import type { AttemptCompletion } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { assertDataDict } from '../coordinate/data.js'
import { GoneError, InvalidInputError, NotPendingError, WrongBackendError } from '../coordinate/errors.js'
import { parseWorkUnitOutput } from '../coordinate/work-unit-output.js'
import type { Executor, Store } from './store.js'
import { upsertWorkUnits } from './work-unit-upsert.js'
import { bytea } from './sql-fragments.js'

interface CompletionRow {
  all_pending: boolean
  chains: boolean
  attempt_id: string | null
  data: Uint8Array | null
  next_spec_id: string | null
}

/**
 * Finishes or fails attempts in one statement, all or nothing: if any attempt is not pending
 * (or is gone) nothing changes and NotPendingError (or GoneError) is thrown. A finish whose spec
 * names a `then` runs in a transaction with the units its `output` creates, so chaining is
 * atomic; every other completion costs one round trip.
 */
export async function completeAttempts(store: Store, completions: readonly AttemptCompletion[]): Promise<void> {
  if (completions.length === 0) return
  const ids: string[] = []
  const statuses: string[] = []
  const datas: (Buffer | null)[] = []
  for (const c of completions) {
    const attempt = c.attempt as { id?: unknown; worker?: { namespace?: { store?: unknown } } }
    if (attempt.worker?.namespace?.store !== store) throw new WrongBackendError()
    if (c.status !== 'finished' && c.status !== 'failed') throw new InvalidInputError(`cannot complete an attempt as ${String(c.status)}`)
    if (c.data !== undefined && c.data !== null) assertDataDict(c.data)
    ids.push(String(attempt.id))
    statuses.push(c.status)
    datas.push(c.data === undefined || c.data === null ? null : Buffer.from(encodeData(c.data)))
  }
  if (new Set(ids).size !== ids.length) throw new InvalidInputError('the same attempt is completed twice')
  const now = store.now()
  const fast = await completionStatement(store, store.db, ids, statuses, datas, now, false)
  const verdict = fast[0]
  if (!verdict?.all_pending) throw await whyNotPending(store, ids)
  if (!verdict.chains) return
  await store.transaction(async (trx) => {
    const rows = await completionStatement(store, trx, ids, statuses, datas, now, true)
    if (!rows[0]?.all_pending) throw await whyNotPending(store, ids, trx)
    for (const row of rows) await chainOutput(store, trx, row, now)
  })
}

// Only the attempt that is its unit's active one chains (the join on `units` sees to that),
// and a `then` naming a missing spec chains nothing.
function completionStatement(
  store: Store,
  executor: Executor,
  ids: string[],
  statuses: string[],
  datas: (Buffer | null)[],
  now: Date,
  allowChaining: boolean,
): Promise<CompletionRow[]> {
  return store.rows(
    sql<CompletionRow>`
      WITH input AS (
        SELECT * FROM unnest(${ids}::bigint[], ${statuses}::text[], ${datas}::bytea[]) AS i (id, status, data)
      ), target AS (
        -- Pending-ness is computed, not filtered on: a WHERE on status and expiration lets the
        -- planner pick the pending-expiry index and walk every lease out instead of 100 ids.
        SELECT a.id, a.work_unit_id, i.status, i.data, s.namespace_id, s.next_work_spec_name,
               (i.status = 'finished' AND s.next_work_spec_name <> '') AS may_chain,
               (a.status = 'pending' AND a.expiration_time >= ${now}) AS pending
        FROM input i
        JOIN attempt a ON a.id = i.id
        JOIN work_spec s ON s.id = a.work_spec_id
        FOR UPDATE OF a
      ), verdict AS (
        SELECT count(*) FILTER (WHERE pending) = ${ids.length} AS all_pending,
               count(*) FILTER (WHERE may_chain) > 0 AS chains
        FROM target
      ), done AS (
        UPDATE attempt SET status = t.status, end_time = ${now}, active = false, data = COALESCE(t.data, attempt.data)
        FROM target t, verdict v
        WHERE attempt.id = t.id AND v.all_pending AND (${allowChaining} OR NOT v.chains)
        RETURNING attempt.id, attempt.work_unit_id, attempt.data, t.status, t.may_chain, t.namespace_id, t.next_work_spec_name
      ), units AS (
        UPDATE work_unit u SET state = d.status, lease_expires = NULL, version = nextval('version_seq')
        FROM done d WHERE u.id = d.work_unit_id AND u.active_attempt_id = d.id
        RETURNING u.id, u.data AS unit_data, d.id AS attempt_id
      )
      SELECT v.all_pending, v.chains, x.attempt_id::text, x.data, x.next_spec_id::text
      FROM verdict v LEFT JOIN (
        SELECT un.attempt_id, COALESCE(d.data, un.unit_data) AS data, n.id AS next_spec_id
        FROM units un
        JOIN done d ON d.id = un.attempt_id
        JOIN work_spec n ON n.namespace_id = d.namespace_id AND n.name = d.next_work_spec_name
        WHERE d.may_chain
      ) x ON true`,
    executor,
  )
}

async function chainOutput(store: Store, trx: Executor, row: CompletionRow, now: Date): Promise<void> {
  if (row.next_spec_id === null || row.data === null) return
  const output = decodeDataDict(row.data).output
  const units = parseWorkUnitOutput(output, now).map((u) => ({
    key: bytea(u.key),
    data: bytea(encodeData(u.data)),
    priority: u.priority,
    notBefore: u.notBefore,
  }))
  if (units.length > 0) await upsertWorkUnits(store, row.next_spec_id, units, trx)
}

async function whyNotPending(store: Store, ids: string[], executor?: Executor): Promise<Error> {
  const rows = await store.rows(sql<{ n: number }>`SELECT count(*)::integer AS n FROM attempt WHERE id = ANY(${ids}::bigint[])`, executor)
  return rows[0]?.n === ids.length ? new NotPendingError() : new GoneError('Attempt')
}
