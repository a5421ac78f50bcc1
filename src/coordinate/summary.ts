import type { SummaryRecord } from './api.js'
import { WORK_UNIT_STATUSES } from './status.js'

/** Sorts summary records by namespace, then work spec, then status order. */
export function sortSummary(records: SummaryRecord[]): SummaryRecord[] {
  return records.sort(
    (a, b) =>
      compare(a.namespace, b.namespace) ||
      compare(a.workSpec, b.workSpec) ||
      WORK_UNIT_STATUSES.indexOf(a.status) - WORK_UNIT_STATUSES.indexOf(b.status),
  )
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
