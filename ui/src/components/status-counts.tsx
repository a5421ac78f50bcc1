import type { StatusCounts } from '../../../src/rest/dashboard-types.js'
import { STATUSES, count } from '../format.js'

/** Unit counts as labelled chips, one per status. */
export function StatusChips({ counts }: { counts: StatusCounts }) {
  return (
    <ul class="chips" aria-label="units by status">
      {STATUSES.map((status) => (
        <li key={status} class={`chip s-${status}`} data-status={status}>
          <span class="chip-label">{status}</span> <strong class="chip-count">{count(counts[status])}</strong>
        </li>
      ))}
    </ul>
  )
}

/** A thin bar showing the share of each status. */
export function StatusBar({ counts }: { counts: StatusCounts }) {
  const total = STATUSES.reduce((sum, s) => sum + counts[s], 0)
  if (total === 0) return <div class="bar empty" aria-hidden="true" />
  return (
    <div class="bar" aria-hidden="true">
      {STATUSES.map((s) => (counts[s] > 0 ? <span key={s} class={`s-${s}`} style={{ flexGrow: counts[s] }} /> : null))}
    </div>
  )
}
