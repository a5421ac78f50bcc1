import type { AttemptRenewal, RenewalOutcome } from '../coordinate/api.js'
import { encodeAttemptData } from './attempt-data.js'
import { attemptIds } from './attempt-ids.js'
import { RENEW_SQL, type RenewRow } from './sql/renew.js'
import type { Store } from './store.js'

/**
 * Extends many leases in one statement (sql/renew.ts). Each renewal has its own outcome, so a
 * lease lost on one attempt leaves the others renewed. Arguments are assumed validated.
 */
export async function renewAttempts(store: Store, renewals: readonly AttemptRenewal[]): Promise<RenewalOutcome[]> {
  if (renewals.length === 0) return []
  const now = store.now()
  const unitIds: string[] = []
  const ids: string[] = []
  const datas: (Buffer | null)[] = []
  const expirations: Date[] = []
  for (const { attempt, extendMs, data } of renewals) {
    const owned = attemptIds(store, attempt)
    unitIds.push(owned.unitId)
    ids.push(owned.id)
    datas.push(encodeAttemptData(data))
    expirations.push(new Date(now.getTime() + extendMs))
  }
  const rows = await store.call<RenewRow>(RENEW_SQL, [unitIds, ids, datas, expirations, now])
  return rows.map(outcomeOf)
}

function outcomeOf(row: RenewRow): RenewalOutcome {
  if (row.is_active === true) return 'renewed'
  if (row.is_active === false) return 'lost-lease'
  return row.found ? 'not-pending' : 'gone'
}
