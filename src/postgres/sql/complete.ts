import { type RawBuilder, sql } from 'kysely'
import { PINNED, QUIET } from './pinned-plan.js'

// The completion path's SQL (src/postgres/attempt-completion.ts calls it).

/** SQLSTATE raised by complete_attempts when some attempt is not pending (nothing changed). */
export const NOT_PENDING = 'CO001'
/** SQLSTATE raised when the completion would chain and the caller did not allow it (nothing changed). */
export const CHAINS = 'CO002'

/**
 * The completion call. Parameters: the attempts' unit ids, attempt ids, statuses, data (or
 * nulls), now, allow chaining. An attempt is found by its unit and id together (attempt's
 * primary key). Fixed text, so it runs as one prepared statement per connection (Store.call).
 */
export const COMPLETE_SQL = `SELECT complete_attempts($1::bigint[], $2::bigint[], $3::text[], $4::bytea[], $5, $6)`

/** A row of CHAINED_OUTPUTS_SQL: a finished attempt's data and the spec its output goes to. */
export interface ChainedOutputRow {
  attempt_id: string
  data: Uint8Array
  next_spec_id: string
}

/** What the finished attempts (parameters: unit ids, attempt ids) chain to, in the completing transaction. */
export const CHAINED_OUTPUTS_SQL = `SELECT attempt_id::text, data, next_spec_id::text FROM chained_outputs($1::bigint[], $2::bigint[])`

/** A row of outputsIntoMissingSpecsSql: a finished attempt's data, and the spec to create for it. */
export interface OutputIntoMissingSpecRow {
  attempt_id: string
  data: Uint8Array
  namespace_id: string
  next_name: string
}

/**
 * The finished attempts (of these unit and attempt ids) whose spec's "then" names a spec that
 * does not exist: chained_outputs leaves them out, and the completion creates the spec for
 * their output.
 */
export function outputsIntoMissingSpecsSql(unitIds: readonly string[], ids: readonly string[]): RawBuilder<OutputIntoMissingSpecRow> {
  return sql<OutputIntoMissingSpecRow>`
    SELECT a.id::text AS attempt_id, COALESCE(a.data, u.data) AS data, s.namespace_id::text AS namespace_id,
      s.next_work_spec_name AS next_name
    FROM unnest(${unitIds}::bigint[], ${ids}::bigint[]) AS i (unit_id, id)
    JOIN attempt a ON a.work_unit_id = i.unit_id AND a.id = i.id
    JOIN work_unit u ON u.id = a.work_unit_id AND u.active_attempt_id = a.id
    JOIN work_spec s ON s.id = a.work_spec_id
    WHERE a.status = 'finished' AND s.next_work_spec_name <> ''
      AND NOT EXISTS (SELECT 1 FROM work_spec n WHERE n.namespace_id = s.namespace_id AND n.name = s.next_work_spec_name)`
}

/** complete_attempts: all-or-nothing completion in one round trip, its plan pinned. */
export const COMPLETE_FUNCTION = `
    -- Finishes or fails attempts, all or nothing: raises CO001 (undoing everything) unless
    -- every one is pending with its lease running. A finished attempt whose spec names a
    -- "then" must create its output units in the same transaction: without p_allow_chaining
    -- that raises CO002; with it the caller asks chained_outputs what to chain, in the same
    -- transaction. Returning nothing, it is called as a scalar (SELECT complete_attempts(…)),
    -- which spares each call the set-up of a function scan and its result table.
    CREATE OR REPLACE FUNCTION complete_attempts(
      p_unit_ids bigint[], p_ids bigint[], p_statuses text[], p_datas bytea[], p_now timestamptz, p_allow_chaining boolean)
    RETURNS void
    LANGUAGE plpgsql ${QUIET}
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
      UPDATE attempt a SET status = i.status, end_time = p_now, data = COALESCE(i.data, a.data)
        FROM unnest(p_unit_ids, p_ids, p_statuses, p_datas) AS i (unit_id, id, status, data)
        -- Behind CASE, the pending test cannot match the pending-lease index, which would walk
        -- every lease out instead of probing the primary key once per id.
        WHERE a.work_unit_id = i.unit_id AND a.id = i.id AND CASE WHEN a.status = 'pending' THEN a.expiration_time >= p_now ELSE false END
          AND (p_allow_chaining OR i.status <> 'finished'
               OR NOT EXISTS (SELECT 1 FROM work_spec s WHERE s.id = a.work_spec_id AND s.next_work_spec_name <> ''));
      GET DIAGNOSTICS done_count = ROW_COUNT;
      IF done_count <> cardinality(p_ids) THEN
        -- Held back for chaining: still pending, so not among the rows just written.
        SELECT count(*) INTO chain_count
          FROM unnest(p_unit_ids, p_ids, p_statuses) AS i (unit_id, id, status)
          JOIN attempt a ON a.work_unit_id = i.unit_id AND a.id = i.id AND a.status = 'pending' AND a.expiration_time >= p_now
          JOIN work_spec s ON s.id = a.work_spec_id
          WHERE i.status = 'finished' AND s.next_work_spec_name <> '';
        IF done_count + chain_count = cardinality(p_ids) THEN
          RAISE EXCEPTION 'the completion chains' USING ERRCODE = 'CO002';
        END IF;
        RAISE EXCEPTION 'an attempt is not pending' USING ERRCODE = 'CO001';
      END IF;
      -- Only the attempt that is its unit's active one moves the unit. Every attempt was just
      -- given its status, so the unit takes it from the arguments without reading attempt.
      UPDATE work_unit u SET state = i.status, lease_expires = NULL, version = ver
        FROM unnest(p_unit_ids, p_ids, p_statuses) AS i (unit_id, id, status)
        WHERE u.id = i.unit_id AND u.active_attempt_id = i.id;
    END
    $$
  `

/** chained_outputs: what a chaining completion's output units come from. */
export const CHAINED_OUTPUTS_FUNCTION = `
    -- What finished attempts chain from: each one's data (or its unit's) and the id of the
    -- spec its spec's "then" names. A "then" naming a missing spec chains nothing (the join
    -- drops it), and only the attempt that is its unit's active one chains.
    CREATE OR REPLACE FUNCTION chained_outputs(p_unit_ids bigint[], p_ids bigint[])
    RETURNS TABLE (attempt_id bigint, data bytea, next_spec_id bigint)
    LANGUAGE plpgsql STABLE ${PINNED}
    AS $$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY
        SELECT a.id, COALESCE(a.data, u.data), n.id
        FROM unnest(p_unit_ids, p_ids) AS i (unit_id, id)
        JOIN attempt a ON a.work_unit_id = i.unit_id AND a.id = i.id
        JOIN work_unit u ON u.id = a.work_unit_id AND u.active_attempt_id = a.id
        JOIN work_spec s ON s.id = a.work_spec_id
        JOIN work_spec n ON n.namespace_id = s.namespace_id AND n.name = s.next_work_spec_name
        WHERE a.status = 'finished' AND s.next_work_spec_name <> '';
    END
    $$
  `
