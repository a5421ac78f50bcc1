import { type Kysely, sql } from 'kysely'

// The claim and completion paths as plpgsql functions, for two reasons.
//
// Their plans must not depend on statistics. A spec created and filled since the last ANALYZE
// looks empty to the planner, which then sorts all its units on every claim instead of reading
// the claim index in order; an attempt table that grew since the last ANALYZE looks small, so
// completions hash-join a sequential scan of it. Each of these statements has one good plan
// (index probes, the claim index in order), and a function's SET clause pins the planner to it
// however stale the statistics are, without touching any other query of the session.
//
// And each is one round trip: the max_running cap (lock the spec row, then count in a fresh
// snapshot) and the all-or-nothing check of a completion run inside the call, and an error
// raised there undoes the whole call.
//
// The two writers never notify from inside (SET coordinate.notify = off): the caller announces
// their changes after commit (src/postgres/deferred-notifications.ts), which keeps the
// notification-queue lock out of these commits. As a SET clause that costs nothing per call,
// where a set_config statement in the body was one more statement to plan and run.
//
// SQLSTATEs: CO001 = some attempt is not pending (nothing changed), CO002 = the completion
// would chain and the caller did not ask for chaining (nothing changed).

// Migrations 0004 (which made them), 0005 (which moved the claim index) and 0006 (which
// dropped their p_quiet parameter) all run these CREATE OR REPLACE statements, so every
// database ends with the same, newest definitions: a function body is not history the way a
// table is. Units are claimable when they have no active attempt (the predicate of the claim
// index since 0005) and are available (which is the same set, and was 0004's predicate; stated
// too so that either index serves).

// With the plan shape pinned, a generic plan is as good as a custom one and is made once per
// session instead of on every call. jit = off: the penalty the planner adds to a disabled plan
// (a sort it cannot avoid) would push the cost past jit_above_cost and compile every call.
const pinned = `
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
  SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off
  SET plan_cache_mode = force_generic_plan`
const quiet = `${pinned} SET coordinate.notify = off`

// The claim proper: the unit is updated first and names its attempt's id, so the attempt's
// insert needs no join back to the unit (fewer plan nodes, and plan set-up is much of what a
// call costs). 'attempt_id_seq' is the sequence of attempt's identity column (0001 makes both).
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
          RETURNING u.id, u.name, u.priority, u.active_attempt_id
        ), made AS (
          INSERT INTO attempt (id, work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
          OVERRIDING SYSTEM VALUE
          SELECT c.active_attempt_id, c.id, p_spec, p_worker, p_now, p_expiration FROM claimed c
        )
        SELECT c.id, c.name, c.active_attempt_id, ${numAttempts}
        FROM claimed c ORDER BY c.priority DESC, c.name;
`
}

const claimFunctionStatements = [
  `
    -- Takes up to p_limit available units of one spec in claim order, gives each a new attempt
    -- for p_worker and marks it pending. With p_max_running > 0 the spec row is locked first,
    -- so the cap holds across processes. With p_spec_count set, the caller chose the spec from
    -- meta it remembered: nothing is claimed unless the namespace's specs are unchanged (same
    -- count and newest version) and no lapsed lease in the spec waits to be re-offered.
    CREATE OR REPLACE FUNCTION claim_work_units(
      p_spec bigint, p_worker bigint, p_limit integer, p_now timestamptz, p_expiration timestamptz,
      p_max_running integer, p_count_attempts boolean,
      p_namespace bigint, p_spec_count bigint, p_spec_version bigint)
    RETURNS TABLE (unit_id bigint, unit_name bytea, attempt_id bigint, num_attempts integer)
    LANGUAGE plpgsql ${quiet}
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
  `,
  `
    -- Finishes or fails attempts, all or nothing: raises CO001 (undoing everything) unless
    -- every one is pending with its lease running. A finished attempt whose spec names a
    -- "then" must create its output units in the same transaction: without p_allow_chaining
    -- that raises CO002; with it the caller asks chained_outputs what to chain, in the same
    -- transaction. Returning nothing, it is called as a scalar (SELECT complete_attempts(…)),
    -- which spares each call the set-up of a function scan and its result table.
    CREATE OR REPLACE FUNCTION complete_attempts(
      p_ids bigint[], p_statuses text[], p_datas bytea[], p_now timestamptz, p_allow_chaining boolean)
    RETURNS void
    LANGUAGE plpgsql ${quiet}
    AS $$
    #variable_conflict use_column
    DECLARE
      done_count integer;
      chain_count integer;
      ver bigint := nextval('version_seq');
    BEGIN
      -- Two plain statements rather than one with data-modifying CTEs and a count over them:
      -- the row count comes free, and there are fewer plan nodes to set up on every call. A
      -- finish that would chain is held back too (unless chaining is allowed), so the count
      -- falls short and the rare failure path below tells the two reasons apart.
      UPDATE attempt a SET status = i.status, end_time = p_now, active = false, data = COALESCE(i.data, a.data)
        FROM unnest(p_ids, p_statuses, p_datas) AS i (id, status, data)
        -- Behind CASE, the pending test cannot match the pending-lease index, which would walk
        -- every lease out instead of probing the primary key once per id.
        WHERE a.id = i.id AND CASE WHEN a.status = 'pending' THEN a.expiration_time >= p_now ELSE false END
          AND (p_allow_chaining OR i.status <> 'finished'
               OR NOT EXISTS (SELECT 1 FROM work_spec s WHERE s.id = a.work_spec_id AND s.next_work_spec_name <> ''));
      GET DIAGNOSTICS done_count = ROW_COUNT;
      IF done_count <> cardinality(p_ids) THEN
        -- Held back for chaining: still pending, so not among the rows just written.
        SELECT count(*) INTO chain_count
          FROM unnest(p_ids, p_statuses) AS i (id, status)
          JOIN attempt a ON a.id = i.id AND a.status = 'pending' AND a.expiration_time >= p_now
          JOIN work_spec s ON s.id = a.work_spec_id
          WHERE i.status = 'finished' AND s.next_work_spec_name <> '';
        IF done_count + chain_count = cardinality(p_ids) THEN
          RAISE EXCEPTION 'the completion chains' USING ERRCODE = 'CO002';
        END IF;
        RAISE EXCEPTION 'an attempt is not pending' USING ERRCODE = 'CO001';
      END IF;
      -- Only the attempt that is its unit's active one moves the unit.
      UPDATE work_unit u SET state = a.status, lease_expires = NULL, version = ver
        FROM attempt a WHERE a.id = ANY (p_ids) AND u.id = a.work_unit_id AND u.active_attempt_id = a.id;
    END
    $$
  `,
  `
    -- What finished attempts chain from: each one's data (or its unit's) and the id of the
    -- spec its spec's "then" names. A "then" naming a missing spec chains nothing (the join
    -- drops it), and only the attempt that is its unit's active one chains.
    CREATE OR REPLACE FUNCTION chained_outputs(p_ids bigint[])
    RETURNS TABLE (attempt_id bigint, data bytea, next_spec_id bigint)
    LANGUAGE plpgsql STABLE ${pinned}
    AS $$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY
        SELECT a.id, COALESCE(a.data, u.data), n.id
        FROM unnest(p_ids) AS i (id)
        JOIN attempt a ON a.id = i.id
        JOIN work_unit u ON u.id = a.work_unit_id AND u.active_attempt_id = a.id
        JOIN work_spec s ON s.id = a.work_spec_id
        JOIN work_spec n ON n.namespace_id = s.namespace_id AND n.name = s.next_work_spec_name
        WHERE a.status = 'finished' AND s.next_work_spec_name <> '';
    END
    $$
  `,
  `
    -- Whether a spec has a unit to hand out now: one probe of the claim index. As a plain
    -- EXISTS the planner may scan the whole table when statistics say most units are available.
    CREATE OR REPLACE FUNCTION spec_has_available_unit(p_spec bigint, p_now timestamptz) RETURNS boolean
    LANGUAGE plpgsql STABLE ${pinned}
    AS $$
    BEGIN
      RETURN EXISTS (SELECT 1 FROM work_unit WHERE work_spec_id = p_spec AND active_attempt_id IS NULL
                     AND state = 'available' AND (not_before IS NULL OR not_before <= p_now));
    END
    $$
  `,
]

/** Creates or replaces the pinned-plan functions of the claim and completion paths. */
export async function createClaimFunctions(db: Kysely<unknown>): Promise<void> {
  for (const statement of claimFunctionStatements) await sql.raw(statement).execute(db)
}
