import { expireLeasesSql } from './sql/attempt.js'
import type { Store } from './store.js'

/**
 * Writes down what reads already derive: every pending attempt whose lease ended before now
 * (strictly) becomes expired and leaves its worker's active list, and its unit, if the attempt
 * was still the active one, becomes available. Limited to one spec when `specId` is given.
 */
export async function expireLeases(store: Store, specId?: string): Promise<number> {
  const now = store.now()
  const row = await store.row(expireLeasesSql(now, specId))
  return row?.n ?? 0
}
