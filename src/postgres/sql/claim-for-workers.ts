import type { ClaimRow } from './claim.js'
import { PINNED } from './pinned-plan.js'

// Many workers' claims in one statement (src/postgres/claim-batches.ts). Each claim was a
// statement, a transaction and a commit of its own; with many workers claiming at once the
// commits (each a WAL flush) and round trips queued on the pool. One statement for the claims
// that arrive together makes that one commit.

/** A row of CLAIM_FOR_WORKERS_SQL: a claim row with data, tagged with its request's index (from 1). */
export interface ClaimForWorkersRow extends ClaimRow {
  request: number
}

/**
 * Calls claim_work_units (./claim.ts) once per request, in array order,
 * each request with its own spec, worker, limit, times, cap and remembered-choice check. Each
 * call is a statement of its own inside this one, so it takes a fresh snapshot and sees what
 * the calls before it claimed (their units are no longer available), and SKIP LOCKED passes
 * over units other transactions hold: every request gets what a claim of its own, run at that
 * point, would have got. The caller orders the requests by spec so that spec-row locks (taken
 * for max_running) are taken in one order by every batch.
 */
export const CLAIM_FOR_WORKERS_FUNCTION = `
    CREATE OR REPLACE FUNCTION claim_work_units_for_workers(
      p_specs bigint[], p_workers bigint[], p_limits integer[], p_nows timestamptz[],
      p_expirations timestamptz[], p_max_running integer[], p_count_attempts boolean[],
      p_namespaces bigint[], p_spec_counts bigint[], p_spec_versions bigint[])
    RETURNS TABLE (request integer, unit_id bigint, unit_name bytea, attempt_id bigint, num_attempts integer, data bytea)
    LANGUAGE plpgsql ${PINNED}
    AS $$
    BEGIN
      FOR i IN 1 .. coalesce(array_length(p_specs, 1), 0) LOOP
        RETURN QUERY
          SELECT i, c.unit_id, c.unit_name, c.attempt_id, c.num_attempts, c.data
          FROM claim_work_units(p_specs[i], p_workers[i], p_limits[i], p_nows[i], p_expirations[i],
                                          p_max_running[i], p_count_attempts[i], p_namespaces[i],
                                          p_spec_counts[i], p_spec_versions[i]) AS c;
      END LOOP;
    END
    $$`

/** The batched claim call; each parameter is an array with one element per request. */
export const CLAIM_FOR_WORKERS_SQL = `SELECT request, unit_id::text, unit_name, attempt_id::text, num_attempts, data
  FROM claim_work_units_for_workers($1::bigint[], $2::bigint[], $3::integer[], $4::timestamptz[], $5::timestamptz[],
                                    $6::integer[], $7::boolean[], $8::bigint[], $9::bigint[], $10::bigint[])`
