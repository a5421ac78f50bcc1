import type { AttemptCompletion } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { assertDataDict } from '../coordinate/data.js'
import { GoneError, InvalidInputError, NotPendingError, WrongBackendError } from '../coordinate/errors.js'
import { parseWorkUnitOutput } from '../coordinate/work-unit-output.js'
import type { Executor, Store } from './store.js'
import { upsertWorkUnits } from './work-unit-upsert.js'
import { bytea } from './sql/fragments.js'
import { countAttemptsSql } from './sql/attempt.js'
import { isPgError } from './migrate.js'
import { CHAINED_OUTPUTS_SQL, CHAINS, COMPLETE_SQL, type ChainedOutputRow, NOT_PENDING } from './sql/complete.js'
import type { PostgresAttempt } from './attempt.js'
import type { PostgresWorkSpec } from './work-spec.js'

/**
 * Finishes or fails attempts in one call, all or nothing: if any attempt is not pending (or is
 * gone) nothing changes and NotPendingError (or GoneError) is thrown. A finish whose spec names
 * a `then` runs again in a transaction with the units its `output` creates, so chaining is
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
  try {
    try {
      await store.call(COMPLETE_SQL, [ids, statuses, datas, now, false])
    } catch (error) {
      if (!isPgError(error, CHAINS)) throw error
      // The completion chains: do it again in a transaction with the units it creates (their
      // inserts announce themselves through the trigger).
      await store.transaction(async (trx) => {
        await store.call(COMPLETE_SQL, [ids, statuses, datas, now, true], trx)
        const rows = await store.call<ChainedOutputRow>(CHAINED_OUTPUTS_SQL, [ids], trx)
        for (const row of rows) await chainOutput(store, trx, row, now)
      })
    }
    announce(store, completions)
  } catch (error) {
    throw isPgError(error, NOT_PENDING) ? await whyNotPending(store, ids) : error
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

async function chainOutput(store: Store, trx: Executor, row: ChainedOutputRow, now: Date): Promise<void> {
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
  const rows = await store.rows(countAttemptsSql(ids), executor)
  return rows[0]?.n === ids.length ? new NotPendingError() : new GoneError('Attempt')
}
