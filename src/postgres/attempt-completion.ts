import type { AttemptCompletion } from '../coordinate/api.js'
import { encodeAttemptData } from './attempt-data.js'
import { assertDataDict } from '../coordinate/data.js'
import { GoneError, InvalidInputError, NotPendingError } from '../coordinate/errors.js'
import { attemptIds } from './attempt-ids.js'
import type { Executor, Store } from './store.js'
import { chainIntoMissingSpecs, chainOutput } from './chained-output.js'
import { countAttemptsSql } from './sql/attempt.js'
import { compareIds } from './sql/lock-order.js'
import { isPgError } from './migrate.js'
import { CHAINED_OUTPUTS_SQL, CHAINS, COMPLETE_SQL, type ChainedOutputRow, NOT_PENDING } from './sql/complete.js'
import type { PostgresAttempt } from './attempt.js'
import type { PostgresWorkSpec } from './work-spec.js'

/**
 * Finishes or fails attempts in one call, all or nothing: if any attempt is not pending (or is
 * gone) nothing changes and NotPendingError (or GoneError) is thrown. A finish whose spec names
 * a `then` runs again in a transaction with the units its `output` creates, so chaining is
 * atomic (and a `then` naming a missing spec creates it, paused: chained-output.ts); every
 * other completion costs one round trip.
 */
export async function completeAttempts(store: Store, completions: readonly AttemptCompletion[]): Promise<void> {
  if (completions.length === 0) return
  const unitIds: string[] = []
  const ids: string[] = []
  const statuses: string[] = []
  const datas: (Buffer | null)[] = []
  for (const c of completions.length > 1 ? inLockOrder(completions) : completions) {
    const attempt = attemptIds(store, c.attempt)
    if (c.status !== 'finished' && c.status !== 'failed') throw new InvalidInputError(`cannot complete an attempt as ${String(c.status)}`)
    if (c.data !== undefined && c.data !== null) assertDataDict(c.data)
    unitIds.push(attempt.unitId)
    ids.push(attempt.id)
    statuses.push(c.status)
    datas.push(encodeAttemptData(c.data))
  }
  if (new Set(ids).size !== ids.length) throw new InvalidInputError('the same attempt is completed twice')
  const now = store.now()
  try {
    try {
      await store.call(COMPLETE_SQL, [unitIds, ids, statuses, datas, now, false])
    } catch (error) {
      if (!isPgError(error, CHAINS)) throw error
      // The completion chains: do it again in a transaction with the units it creates (their
      // inserts announce themselves through the trigger).
      await store.transaction(async (trx) => {
        await store.call(COMPLETE_SQL, [unitIds, ids, statuses, datas, now, true], trx)
        const rows = await store.call<ChainedOutputRow>(CHAINED_OUTPUTS_SQL, [unitIds, ids], trx)
        for (const row of rows) await chainOutput(store, trx, row.data, row.next_spec_id, now)
        // A finish left out names a missing spec in its `then` (or has none): look only then.
        const chained = new Set(rows.map((row) => row.attempt_id))
        if (ids.some((id, i) => statuses[i] === 'finished' && !chained.has(id))) await chainIntoMissingSpecs(store, trx, unitIds, ids, now)
      })
    }
    announce(store, completions)
  } catch (error) {
    throw isPgError(error, NOT_PENDING) ? await whyNotPending(store, unitIds, ids) : error
  }
}

// What the completion call leaves unannounced (it is quiet): its units, per spec.
function announce(store: Store, completions: readonly AttemptCompletion[]): void {
  const { notifications } = store
  if (!notifications) return
  const bySpec = new Map<PostgresWorkSpec, Uint8Array[]>()
  for (const { attempt } of completions) {
    const unit = (attempt as PostgresAttempt).workUnit
    const keys = bySpec.get(unit.workSpec) ?? []
    keys.push(unit.key)
    bySpec.set(unit.workSpec, keys)
  }
  for (const [spec, keys] of bySpec) notifications.unitsChanged(spec.namespace.name, spec.name, keys)
}

async function whyNotPending(store: Store, unitIds: string[], ids: string[], executor?: Executor): Promise<Error> {
  const rows = await store.rows(countAttemptsSql(unitIds, ids), executor)
  return rows[0]?.n === ids.length ? new NotPendingError() : new GoneError('Attempt')
}

/**
 * The batch in (unit id, attempt id) order: the order a unit deletion locks attempts in
 * (sql/lock-order.ts), so a batch and a deletion of the same units never wait on each other
 * in a cycle. A handle without numeric ids (another backend's) sorts first; the caller rejects it.
 */
function inLockOrder(completions: readonly AttemptCompletion[]): AttemptCompletion[] {
  const keyed = completions.map((c) => {
    const attempt = c.attempt as { id?: unknown; workUnit?: { id?: unknown } }
    return { c, unit: idText(attempt.workUnit?.id), id: idText(attempt.id) }
  })
  keyed.sort((a, b) => compareIds(a.unit, b.unit) || compareIds(a.id, b.id))
  return keyed.map((k) => k.c)
}

function idText(value: unknown): string {
  return typeof value === 'string' ? value : ''
}
