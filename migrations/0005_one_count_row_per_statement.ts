import { type Kysely, sql } from 'kysely'
import * as unitCounts from './0003_unit_counts.js'

// One unit-count delta row per (spec, writing statement) where 0003 wrote one per (spec, state)
// the statement changed (docs/design.md, "What a unit costs in WAL"). A claim moves units from
// available to pending and a completion from pending to finished, so each wrote two rows, and
// every row is written again as a deletion when it is folded: at batch 1 (one unit per
// statement) that was 8 heap records and about 540 B of WAL per unit, a third of the unit's
// WAL. The new delta row has a column per state (the work_unit_state domain's four), so each of
// those statements writes one row, and folding deletes half as many.
//
// Carried across: the deltas written under 0003 are folded into work_unit_count first, with
// writers to work_unit held off until this migration commits (the lock below), so no delta is
// written to the old table after the fold and the counts stay exact. The counts reader
// (work_unit_counts, a stored function) reads the delta table, so its old text is dropped here
// and the repeatable step installs the new one.
//
// This migration is frozen: its text never changes once released.

const statements = [
  // SHARE ROW EXCLUSIVE conflicts with the ROW EXCLUSIVE every writer of work_unit takes, and
  // not with readers: claims and completions wait, counts and reads go on.
  `LOCK TABLE work_unit IN SHARE ROW EXCLUSIVE MODE`,
  `
    WITH folded AS (DELETE FROM work_unit_count_delta RETURNING work_spec_id, state, n)
    INSERT INTO work_unit_count (work_spec_id, state, n)
      SELECT work_spec_id, state, sum(n) FROM folded GROUP BY 1, 2
      ON CONFLICT (work_spec_id, state) DO UPDATE SET n = work_unit_count.n + excluded.n
  `,
  `DELETE FROM work_unit_count WHERE n = 0`,
  `DROP TABLE work_unit_count_delta`,
  `
    -- One row per (spec, writing statement), its change in each state; no index, vacuumed
    -- often, as 0003's was.
    CREATE TABLE work_unit_count_delta (
        work_spec_id bigint NOT NULL,
        available bigint NOT NULL,
        pending bigint NOT NULL,
        finished bigint NOT NULL,
        failed bigint NOT NULL
      ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000)
  `,
  `
    CREATE OR REPLACE FUNCTION fold_work_unit_counts() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      -- One fold at a time (others skip, the next fold takes their rows), and only under READ
      -- COMMITTED: a REPEATABLE READ writer would fail on a delta row another fold deleted.
      IF current_setting('transaction_isolation') <> 'read committed'
         OR NOT pg_try_advisory_xact_lock('work_unit_count_delta'::regclass::oid::bigint) THEN
        RETURN;
      END IF;
      WITH folded AS (DELETE FROM work_unit_count_delta RETURNING *)
      INSERT INTO work_unit_count (work_spec_id, state, n)
        SELECT f.work_spec_id, s.state, sum(s.n) FROM folded f,
          LATERAL (VALUES ('available', f.available), ('pending', f.pending), ('finished', f.finished), ('failed', f.failed)) s (state, n)
        GROUP BY 1, 2 HAVING sum(s.n) <> 0
        ON CONFLICT (work_spec_id, state) DO UPDATE SET n = work_unit_count.n + excluded.n;
      DELETE FROM work_unit_count WHERE n = 0;
    END
    $$
  `,
  `
    CREATE OR REPLACE FUNCTION count_work_units() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      written integer;
    BEGIN
      -- A statement's change per spec in one row: +1 for each new row's state, -1 for each old
      -- row's. plpgsql plans a statement when it first runs it, so each branch names only the
      -- transition tables its trigger has.
      IF TG_OP = 'INSERT' THEN
        INSERT INTO work_unit_count_delta (work_spec_id, available, pending, finished, failed)
          SELECT work_spec_id, count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'pending'),
            count(*) FILTER (WHERE state = 'finished'), count(*) FILTER (WHERE state = 'failed')
          FROM new_units GROUP BY 1;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO work_unit_count_delta (work_spec_id, available, pending, finished, failed)
          SELECT work_spec_id, -count(*) FILTER (WHERE state = 'available'), -count(*) FILTER (WHERE state = 'pending'),
            -count(*) FILTER (WHERE state = 'finished'), -count(*) FILTER (WHERE state = 'failed')
          FROM old_units GROUP BY 1;
      ELSE
        -- Most updates (renewals, priorities, data) leave every state as it was: no row.
        INSERT INTO work_unit_count_delta (work_spec_id, available, pending, finished, failed)
          SELECT * FROM (
            SELECT work_spec_id, coalesce(sum(n) FILTER (WHERE state = 'available'), 0) AS available,
              coalesce(sum(n) FILTER (WHERE state = 'pending'), 0) AS pending,
              coalesce(sum(n) FILTER (WHERE state = 'finished'), 0) AS finished,
              coalesce(sum(n) FILTER (WHERE state = 'failed'), 0) AS failed
            FROM (SELECT work_spec_id, state, 1 AS n FROM new_units
                  UNION ALL SELECT work_spec_id, state, -1 FROM old_units) c
            GROUP BY 1) d
          WHERE (available, pending, finished, failed) <> (0, 0, 0, 0);
      END IF;
      GET DIAGNOSTICS written = ROW_COUNT;
      IF written > 0 AND random() < 0.001 THEN PERFORM fold_work_unit_counts(); END IF;
      RETURN NULL;
    END
    $$
  `,
  // Its text reads the old delta rows; the repeatable step after migrations installs the new.
  `DROP FUNCTION IF EXISTS work_unit_counts(bigint[], timestamptz)`,
]

/** Folds the per-state deltas into the totals and writes deltas as one row per spec and statement from now on. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Puts back 0003's per-state delta rows, their trigger and fold, counting every unit again as 0003 did. */
export async function down(db: Kysely<unknown>): Promise<void> {
  // 0003's own steps, so its frozen text is the one restored: down drops the counts (tables,
  // triggers, functions, the not-before index) and up makes them again and recounts the units
  // under its triggers' lock, so no delta in this migration's form needs converting.
  await unitCounts.down(db)
  await unitCounts.up(db)
}
