import { type RawBuilder, sql } from 'kysely'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import { PINNED } from './pinned-plan.js'

// Unit counts by status, read from the counts the database keeps per (spec, stored state)
// (migrations/0003_unit_counts.ts, deltas as 0005 writes them) plus two corrections for what time changes without a write:
// a pending unit whose lease ended reads as available (or delayed), and an available unit
// whose not-before is still ahead reads as delayed (the rule of ./fragments.ts unitStatusSql).
// The cost follows the number of specs, leases out and units still waiting on a not-before,
// never the number of units.

/**
 * work_unit_counts: units per (spec, status) at p_now for the given specs, statuses with no
 * unit left out. Pinned to index plans: with stale statistics the planner would read a whole
 * spec's units to count a handful of delayed ones.
 */
export const UNIT_COUNTS_FUNCTION = `
    CREATE OR REPLACE FUNCTION work_unit_counts(p_specs bigint[], p_now timestamptz)
    RETURNS TABLE (spec_id bigint, status text, count bigint)
    LANGUAGE plpgsql STABLE ${PINNED}
    AS $$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY
        WITH moved AS (
          -- Lapsed leases, through the pending-attempt index (a pending unit's active attempt
          -- is pending with the same lease end), so the cost is the number of leases out.
          SELECT u.work_spec_id, 'pending'::text AS stored,
            CASE WHEN u.not_before > p_now THEN 'delayed' ELSE 'available' END AS shown
          FROM attempt a JOIN work_unit u ON u.id = a.work_unit_id
          WHERE a.work_spec_id = ANY (p_specs) AND a.status = 'pending' AND a.expiration_time < p_now
            AND u.active_attempt_id = a.id AND u.state = 'pending' AND u.lease_expires < p_now
          UNION ALL
          -- Not-befores still ahead, through the partial not-before index.
          SELECT u.work_spec_id, 'available', 'delayed' FROM work_unit u
          WHERE u.work_spec_id = ANY (p_specs) AND u.not_before > p_now AND u.state = 'available'
        )
        SELECT c.work_spec_id, c.state, sum(c.n)::bigint FROM (
          SELECT t.work_spec_id, t.state, t.n FROM work_unit_count t WHERE t.work_spec_id = ANY (p_specs)
          UNION ALL
          -- A delta row holds a statement's change in every state (migrations/0005).
          SELECT d.work_spec_id, s.state, s.n FROM work_unit_count_delta d,
            LATERAL (VALUES ('available', d.available), ('pending', d.pending), ('finished', d.finished), ('failed', d.failed)) s (state, n)
          WHERE d.work_spec_id = ANY (p_specs)
          UNION ALL
          SELECT m.work_spec_id, m.stored, -1 FROM moved m
          UNION ALL
          SELECT m.work_spec_id, m.shown, 1 FROM moved m
        ) c
        GROUP BY 1, 2 HAVING sum(c.n) > 0;
    END
    $$
  `

/** A row of unitCountsSql(). */
export interface UnitCountRow {
  namespace: string
  work_spec: string
  status: WorkUnitStatus
  count: number
}

/** Units per (namespace, spec, status) at `now`, for everything or one namespace or one spec. */
export function unitCountsSql(scope: { namespaceId?: string; workSpecId?: string }, now: Date): RawBuilder<UnitCountRow> {
  const where =
    scope.workSpecId !== undefined
      ? sql`WHERE s.id = ${scope.workSpecId}`
      : scope.namespaceId !== undefined
        ? sql`WHERE s.namespace_id = ${scope.namespaceId}`
        : sql``
  return sql<UnitCountRow>`
    WITH specs AS (SELECT s.id, s.name, n.name AS namespace FROM work_spec s JOIN namespace n ON n.id = s.namespace_id ${where})
    SELECT specs.namespace, specs.name AS work_spec, c.status, c.count::integer AS count
    FROM work_unit_counts(ARRAY(SELECT id FROM specs), ${now}) c JOIN specs ON specs.id = c.spec_id`
}
