import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import { unitStatusSql } from './fragments.js'

/** A row of summarySql(). */
export interface SummaryRow {
  namespace: string
  work_spec: string
  status: WorkUnitStatus
  count: number
}

/** Units per (namespace, spec, status) at `now`, for everything or one namespace or one spec. */
export function summarySql(scope: { namespaceId?: string; workSpecId?: string }, now: Date): RawBuilder<SummaryRow> {
  const where =
    scope.workSpecId !== undefined
      ? sql`WHERE s.id = ${scope.workSpecId}`
      : scope.namespaceId !== undefined
        ? sql`WHERE n.id = ${scope.namespaceId}`
        : sql``
  return sql<SummaryRow>`
    SELECT n.name AS namespace, s.name AS work_spec, ${unitStatusSql(now)} AS status, count(*)::integer AS count
    FROM work_unit u
    JOIN work_spec s ON s.id = u.work_spec_id
    JOIN namespace n ON n.id = s.namespace_id
    ${where}
    GROUP BY 1, 2, 3`
}
