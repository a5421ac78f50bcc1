import type { ClaimRow } from './claim.js'
import { PINNED } from './pinned-plan.js'

// The claim with the claimed units' data, in one round trip (src/postgres/request-attempts.ts):
// the worker runtime needs the data before a handler can start, and reading it after the claim
// cost a second round trip per claim.

/** A row of CLAIM_WITH_DATA_SQL: a claim row plus the unit's data. */
export interface ClaimWithDataRow extends ClaimRow {
  data: Uint8Array
}

/**
 * Calls claim_work_units (./claim.ts) and then reads the claimed units' data in a statement of
 * its own. It has to be a second statement: one statement joining the claim's result to
 * work_unit would read the units as of its start, before the claim (whose own statements take
 * newer snapshots) found them, and so miss units added meanwhile or read data that an update
 * had replaced. The claim locks the units, so the data read is the data claimed.
 */
export const CLAIM_WITH_DATA_FUNCTION = `
    CREATE OR REPLACE FUNCTION claim_work_units_with_data(
      p_spec bigint, p_worker bigint, p_limit integer, p_now timestamptz, p_expiration timestamptz,
      p_max_running integer, p_count_attempts boolean,
      p_namespace bigint, p_spec_count bigint, p_spec_version bigint)
    RETURNS TABLE (unit_id bigint, unit_name bytea, attempt_id bigint, num_attempts integer, data bytea)
    LANGUAGE plpgsql ${PINNED}
    AS $$
    #variable_conflict use_column
    DECLARE
      ids bigint[];
      names bytea[];
      attempts bigint[];
      counts integer[];
    BEGIN
      SELECT array_agg(c.unit_id ORDER BY c.ord), array_agg(c.unit_name ORDER BY c.ord),
             array_agg(c.attempt_id ORDER BY c.ord), array_agg(c.num_attempts ORDER BY c.ord)
        INTO ids, names, attempts, counts
        FROM claim_work_units(p_spec, p_worker, p_limit, p_now, p_expiration, p_max_running, p_count_attempts,
                              p_namespace, p_spec_count, p_spec_version) WITH ORDINALITY AS c(unit_id, unit_name, attempt_id, num_attempts, ord);
      IF ids IS NULL THEN RETURN; END IF;
      RETURN QUERY
        SELECT i.u, i.n, i.a, i.k, w.data
        FROM unnest(ids, names, attempts, counts) WITH ORDINALITY AS i(u, n, a, k, ord)
        JOIN work_unit w ON w.id = i.u
        ORDER BY i.ord;
    END
    $$`

/**
 * The claim call, with each unit's data. Parameters: spec, worker, limit, now, lease end,
 * max_running, count attempts, namespace, remembered spec count and version (or nulls). Fixed
 * text, so it runs as one prepared statement per connection (Store.call).
 */
export const CLAIM_WITH_DATA_SQL = `SELECT unit_id::text, unit_name, attempt_id::text, num_attempts, data
  FROM claim_work_units_with_data($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10::bigint)`
