import type { SummaryRecord } from '../coordinate/api.js'
import { sortSummary } from '../coordinate/summary.js'
import { unitCountsSql } from './sql/unit-counts.js'
import type { Store } from './store.js'

/** Counts units per (namespace, spec, status), for everything or one namespace or one spec: O(specs), not O(units). */
export async function summarize(store: Store, scope: { namespaceId?: string; workSpecId?: string }): Promise<SummaryRecord[]> {
  const now = store.now()
  const rows = await store.rows(unitCountsSql(scope, now))
  return sortSummary(rows.map((r) => ({ namespace: r.namespace, workSpec: r.work_spec, status: r.status, count: r.count })))
}
