import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'
import { parseWorkSpecData } from '../coordinate/work-spec-meta.js'
import { parseWorkUnitOutput } from '../coordinate/work-unit-output.js'
import { bytea } from './sql/fragments.js'
import { outputsIntoMissingSpecsSql } from './sql/complete.js'
import { createWorkSpecIfAbsentSql, workSpecIdSql } from './sql/work-spec.js'
import type { Executor, Store } from './store.js'
import { upsertWorkUnits } from './work-unit-upsert.js'

/**
 * The definition of a spec that chained output creates because its `then` names no spec: paused
 * (`disabled`), so that no worker runs its units before someone defines it. setWorkSpec with the
 * real definition replaces this one, and with it the pause.
 */
export function chainedSpecPlaceholder(name: string): DataDict {
  return { name, disabled: true }
}

/** Adds the units a finished attempt's `output` (in its data) names to the spec `specId`. */
export async function chainOutput(store: Store, trx: Executor, data: Uint8Array, specId: string, now: Date): Promise<void> {
  const units = parseWorkUnitOutput(decodeDataDict(data).output, now).map((u) => ({
    key: bytea(u.key),
    data: bytea(encodeData(u.data)),
    priority: u.priority,
    notBefore: u.notBefore,
  }))
  if (units.length > 0) await upsertWorkUnits(store, specId, units, trx)
}

/**
 * Chains the output of finished attempts whose `then` names a spec that does not exist: the
 * spec is created (see chainedSpecPlaceholder) when there is output to put in it, so no output
 * is dropped. Another process creating the same spec at once is fine: the first insert wins,
 * and both add their units to it.
 */
export async function chainIntoMissingSpecs(store: Store, trx: Executor, unitIds: readonly string[], ids: readonly string[], now: Date): Promise<void> {
  for (const row of await store.rows(outputsIntoMissingSpecsSql(unitIds, ids), trx)) {
    if (parseWorkUnitOutput(decodeDataDict(row.data).output, now).length === 0) continue
    const { name, meta } = parseWorkSpecData(chainedSpecPlaceholder(row.next_name))
    const created = await store.row(createWorkSpecIfAbsentSql(row.namespace_id, name, chainedSpecPlaceholder(name), meta), trx)
    const spec = created ?? (await store.row(workSpecIdSql(row.namespace_id, name), trx))
    if (spec) await chainOutput(store, trx, row.data, spec.id, now)
  }
}
