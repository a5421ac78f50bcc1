import { sql } from 'kysely'
import type { SummaryRecord } from '../coordinate/api.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { sortSummary } from '../coordinate/summary.js'
import { unitStatusSql } from './sql-fragments.js'
import type { Store } from './store.js'

/** Counts units per (namespace, spec, status), for everything or one namespace or one spec. */
export async function summarize(store: Store, scope: { namespaceId?: string; workSpecId?: string }): Promise<SummaryRecord[]> {
  const now = store.now()
  const where =
    scope.workSpecId !== undefined
      ? sql`WHERE s.id = ${scope.workSpecId}`
      : scope.namespaceId !== undefined
        ? sql`WHERE n.id = ${scope.namespaceId}`
        : sql``
  const rows = await store.rows(sql<{ namespace: string; work_spec: string; status: WorkUnitStatus; count: number }>`
    SELECT n.name AS namespace, s.name AS work_spec, ${unitStatusSql(now)} AS status, count(*)::integer AS count
    FROM work_unit u
    JOIN work_spec s ON s.id = u.work_spec_id
    JOIN namespace n ON n.id = s.namespace_id
    ${where}
    GROUP BY 1, 2, 3`)
  return sortSummary(rows.map((r) => ({ namespace: r.namespace, workSpec: r.work_spec, status: r.status, count: r.count })))
}
