import { type RawBuilder, sql } from 'kysely'
import { META_COLUMNS, type MetaColumnsRow } from './work-spec.js'
import { QUIET } from './pinned-plan.js'

// The claim path's SQL, in the order a claim runs it: the scheduler's inputs (choose a spec),
// the continuous spec's new unit, and the claim itself (src/postgres/request-attempts.ts calls
// them).

/** One spec as the scheduler sees it, with the namespace's specs fingerprint. */
export interface SchedulerInputRow extends MetaColumnsRow {
  id: string
  name: string
  has_available: boolean
  has_expired: boolean
  pending_count: number
  spec_count: string
  spec_version: string
}

/**
 * The scheduler's inputs for the specs of a namespace (all, or those named). Availability is
 * one probe of the claim index and pending a count of pending attempts (bounded by the number
 * of leases out), so the cost does not grow with the number of units.
 */
export function schedulerInputsSql(namespaceId: string, specNames: readonly string[] | undefined, now: Date): RawBuilder<SchedulerInputRow> {
  const names = specNames && specNames.length > 0 ? sql`AND s.name = ANY(${[...specNames]}::text[])` : sql``
  return sql<SchedulerInputRow>`
    SELECT s.id::text, s.name, ${META_COLUMNS},
      spec_has_available_unit(s.id, ${now}) AS has_available,
      EXISTS (SELECT 1 FROM attempt a WHERE a.work_spec_id = s.id AND a.status = 'pending'
              AND a.expiration_time < ${now}) AS has_expired,
      -- Pending counts matter only for max_running and for weighing specs against each other;
      -- a lone spec without a cap skips the count (CASE evaluates the subquery lazily).
      CASE WHEN s.max_running > 0 OR count(*) OVER () > 1 THEN
        (SELECT count(*)::integer FROM attempt a WHERE a.work_spec_id = s.id AND a.status = 'pending'
                AND a.expiration_time >= ${now})
      ELSE 0 END AS pending_count,
      f.spec_count, f.spec_version
    FROM work_spec s,
      (SELECT count(*)::text AS spec_count, max(version)::text AS spec_version FROM work_spec
       WHERE namespace_id = ${namespaceId}) f
    WHERE s.namespace_id = ${namespaceId} ${names}`
}

/**
 * Adds a continuous spec's next unit if it is due. The guard on next_continuous makes one of
 * several racing workers create the unit.
 */
export function addContinuousUnitSql(specId: string, now: Date, next: Date, name: Buffer, data: Buffer): RawBuilder<unknown> {
  return sql`
    WITH due AS (
      UPDATE work_spec SET next_continuous = ${next}, version = nextval('version_seq')
      WHERE id = ${specId} AND continuous AND (next_continuous IS NULL OR next_continuous <= ${now})
      RETURNING id
    )
    INSERT INTO work_unit (work_spec_id, name, data)
    SELECT id, ${name}, ${data} FROM due
    ON CONFLICT (work_spec_id, name) DO NOTHING`
}

/** A row of claim_work_units: one claimed unit, its new attempt, and its data. */
export interface ClaimRow {
  unit_id: string
  unit_name: Uint8Array
  attempt_id: string
  /** The unit's attempts including this one; counted only when asked for (max_retries). */
  num_attempts: number
  data: Uint8Array
}

// The claim proper: the unit is updated first and names its attempt's id, so the attempt's
// insert needs no join back to the unit (fewer plan nodes, and plan set-up is much of what a
// call costs). 'attempt_id_seq' is the sequence of attempt's identity column. Units are
// claimable when they have no active attempt (the claim index's predicate, so the planner
// uses it) and are available (the same set, stated too so that a unit that broke the rule
// would be skipped rather than handed out twice). The data comes from the updated row itself
// (RETURNING), so it is the data of the unit as claimed, locked, with no second read: the
// worker runtime and get_work need it before a handler can start.
function claimQuery(numAttempts: string): string {
  return `
        WITH claimed AS (
          UPDATE work_unit u SET state = 'pending', active_attempt_id = nextval('attempt_id_seq'),
            lease_expires = p_expiration, version = ver
          WHERE u.id = ANY (ARRAY(
            SELECT p.id FROM work_unit p
            WHERE p.work_spec_id = p_spec AND p.active_attempt_id IS NULL AND p.state = 'available'
              AND (p.not_before IS NULL OR p.not_before <= p_now)
              -- The remembered-choice checks, as a one-time filter of this statement rather
              -- than statements of their own: each statement a call runs costs its set-up.
              AND (p_spec_count IS NULL OR (
                EXISTS (SELECT 1 FROM work_spec WHERE namespace_id = p_namespace
                        HAVING count(*) = p_spec_count AND max(version) = p_spec_version)
                AND NOT EXISTS (SELECT 1 FROM attempt WHERE work_spec_id = p_spec AND status = 'pending'
                                AND expiration_time < p_now)))
            ORDER BY p.priority DESC, p.name
            LIMIT n
            FOR UPDATE SKIP LOCKED))
          RETURNING u.id, u.name, u.priority, u.active_attempt_id, u.data
        ), made AS (
          INSERT INTO attempt (id, work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
          OVERRIDING SYSTEM VALUE
          SELECT c.active_attempt_id, c.id, p_spec, p_worker, p_now, p_expiration FROM claimed c
        )
        SELECT c.id, c.name, c.active_attempt_id, ${numAttempts}, c.data
        FROM claimed c ORDER BY c.priority DESC, c.name;
`
}

// claim_work_units' argument types, which name it for DROP FUNCTION.
const CLAIM_ARGUMENTS = '(bigint, bigint, integer, timestamptz, timestamptz, integer, boolean, bigint, bigint, bigint)'

/**
 * Drops the claim's earlier forms: claim_work_units without the data column (a function's
 * result type changes only by dropping it) and claim_work_units_with_data, the wrapper that
 * read the data in a second statement. Runs before CLAIM_FUNCTION when the stored functions change.
 */
export const DROP_OLD_CLAIM_FUNCTIONS = [
  `DROP FUNCTION IF EXISTS claim_work_units${CLAIM_ARGUMENTS}`,
  `DROP FUNCTION IF EXISTS claim_work_units_with_data${CLAIM_ARGUMENTS}`,
]

/**
 * claim_work_units: one round trip per claim, with the max_running cap (lock the spec row,
 * then count in a fresh snapshot) inside the call, and its plan pinned (./pinned-plan.ts).
 */
export const CLAIM_FUNCTION = `
    -- Takes up to p_limit available units of one spec in claim order, gives each a new attempt
    -- for p_worker and marks it pending. With p_max_running > 0 the spec row is locked first,
    -- so the cap holds across processes. With p_spec_count set, the caller chose the spec from
    -- meta it remembered: nothing is claimed unless the namespace's specs are unchanged (same
    -- count and newest version) and no lapsed lease in the spec waits to be re-offered.
    CREATE OR REPLACE FUNCTION claim_work_units(
      p_spec bigint, p_worker bigint, p_limit integer, p_now timestamptz, p_expiration timestamptz,
      p_max_running integer, p_count_attempts boolean,
      p_namespace bigint, p_spec_count bigint, p_spec_version bigint)
    RETURNS TABLE (unit_id bigint, unit_name bytea, attempt_id bigint, num_attempts integer, data bytea)
    LANGUAGE plpgsql ${QUIET}
    AS $$
    #variable_conflict use_column
    DECLARE
      n integer := p_limit;
      -- One version for every row this call writes: each row's version still grows, and the
      -- sequence's single page is not locked once per unit by every claimer at once.
      ver bigint;
    BEGIN
      IF p_max_running > 0 THEN
        -- NO KEY UPDATE does not block the key-share locks that unit inserts take.
        PERFORM 1 FROM work_spec WHERE id = p_spec FOR NO KEY UPDATE;
        SELECT LEAST(n, GREATEST(0, p_max_running - count(*)))::integer INTO n FROM attempt
          WHERE work_spec_id = p_spec AND status = 'pending' AND expiration_time >= p_now;
        IF n = 0 THEN RETURN; END IF;
      END IF;
      ver := nextval('version_seq');
      -- Attempts are counted only for specs with max_retries: as a subquery behind CASE the
      -- count still cost its plan's set-up on every call.
      IF p_count_attempts THEN
        -- The statement's new attempt is not visible to this count, hence the + 1.
        RETURN QUERY ${claimQuery('(SELECT count(*)::integer FROM attempt a WHERE a.work_unit_id = c.id) + 1')}
      ELSE
        RETURN QUERY ${claimQuery('1')}
      END IF;
    END
    $$
  `

/**
 * The claim call, with each unit's data. Parameters: spec, worker, limit, now, lease end,
 * max_running, count attempts, namespace, remembered spec count and version (or nulls). Fixed
 * text, so it runs as one prepared statement per connection (Store.call).
 */
export const CLAIM_SQL = `SELECT unit_id::text, unit_name, attempt_id::text, num_attempts, data
  FROM claim_work_units($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $10::bigint)`
