import { type Kysely, sql } from 'kysely'

// Unit counts per (spec, stored state) kept by the database, so that reading them costs the
// number of specs rather than the number of units (a grouped count of 10 million units took
// seconds; /metrics and the dashboard read counts every few seconds).
//
// Statement-level triggers on work_unit write each statement's net change per (spec, state)
// as new rows of work_unit_count_delta: inserts only, so concurrent claimers never wait on a
// shared counter row. Now and then (about one writing statement in a thousand, and never two
// at once) the deltas are folded into work_unit_count. Counts are the sum of both tables, exact
// in any snapshot, because a fold deletes deltas and adds them to the totals in one statement.
// Time-driven statuses (a lapsed lease, a not-before still ahead) are corrected at read time
// through indexes (src/postgres/sql/unit-counts.ts).
//
// This migration is frozen: its text never changes once released.

const statements = [
  `
    CREATE TABLE work_unit_count (
        work_spec_id bigint NOT NULL,
        state text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (work_spec_id, state)
      )
  `,
  `
    -- No index: rows are only appended by writers and read or deleted whole by folds and
    -- counts, and it stays small. Vacuumed often so those scans do not wade through dead rows.
    CREATE TABLE work_unit_count_delta (
        work_spec_id bigint NOT NULL,
        state text NOT NULL,
        n bigint NOT NULL
      ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000)
  `,
  `
    -- Units whose not-before is set: counting those still waiting reads this, not the spec's
    -- units. Partial, so units without one cost nothing; not_before is written by adds and
    -- retries only, so completions stay HOT updates.
    CREATE INDEX work_unit_not_before ON work_unit (work_spec_id, not_before) WHERE not_before IS NOT NULL
  `,
  `
    CREATE FUNCTION fold_work_unit_counts() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      -- One fold at a time (others skip, the next fold takes their rows), and only under READ
      -- COMMITTED: a REPEATABLE READ writer would fail on a delta row another fold deleted.
      IF current_setting('transaction_isolation') <> 'read committed'
         OR NOT pg_try_advisory_xact_lock('work_unit_count_delta'::regclass::oid::bigint) THEN
        RETURN;
      END IF;
      WITH folded AS (DELETE FROM work_unit_count_delta RETURNING work_spec_id, state, n)
      INSERT INTO work_unit_count (work_spec_id, state, n)
        SELECT work_spec_id, state, sum(n) FROM folded GROUP BY 1, 2
        ON CONFLICT (work_spec_id, state) DO UPDATE SET n = work_unit_count.n + excluded.n;
      DELETE FROM work_unit_count WHERE n = 0;
    END
    $$
  `,
  `
    CREATE FUNCTION count_work_units() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      written integer;
    BEGIN
      -- plpgsql plans a statement when it first runs it, so each branch names only the
      -- transition tables its trigger has.
      IF TG_OP = 'INSERT' THEN
        INSERT INTO work_unit_count_delta (work_spec_id, state, n)
          SELECT work_spec_id, state, count(*) FROM new_units GROUP BY 1, 2;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO work_unit_count_delta (work_spec_id, state, n)
          SELECT work_spec_id, state, -count(*) FROM old_units GROUP BY 1, 2;
      ELSE
        -- Most updates (renewals, priorities, data) leave every state as it was: no row.
        INSERT INTO work_unit_count_delta (work_spec_id, state, n)
          SELECT work_spec_id, state, sum(n) FROM (
            SELECT work_spec_id, state, 1 AS n FROM new_units
            UNION ALL SELECT work_spec_id, state, -1 FROM old_units) c
          GROUP BY 1, 2 HAVING sum(n) <> 0;
      END IF;
      GET DIAGNOSTICS written = ROW_COUNT;
      IF written > 0 AND random() < 0.001 THEN PERFORM fold_work_unit_counts(); END IF;
      RETURN NULL;
    END
    $$
  `,
  `CREATE TRIGGER work_units_counted_insert AFTER INSERT ON work_unit REFERENCING NEW TABLE AS new_units
     FOR EACH STATEMENT EXECUTE FUNCTION count_work_units()`,
  `CREATE TRIGGER work_units_counted_update AFTER UPDATE ON work_unit REFERENCING OLD TABLE AS old_units NEW TABLE AS new_units
     FOR EACH STATEMENT EXECUTE FUNCTION count_work_units()`,
  `CREATE TRIGGER work_units_counted_delete AFTER DELETE ON work_unit REFERENCING OLD TABLE AS old_units
     FOR EACH STATEMENT EXECUTE FUNCTION count_work_units()`,
  // The triggers' lock on work_unit holds off writers until this migration commits, so the
  // units counted here are exactly those the triggers have not seen.
  `INSERT INTO work_unit_count (work_spec_id, state, n) SELECT work_spec_id, state, count(*) FROM work_unit GROUP BY 1, 2`,
]

/** Adds the maintained unit counts: their tables, triggers and the not-before index. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Drops the maintained unit counts and the stored function that reads them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS work_unit_counts`.execute(db)
  // So that opening the schema again installs the stored functions, work_unit_counts included.
  await sql`UPDATE coordinate_stored_functions SET hash = ''`.execute(db)
  await sql`DROP TRIGGER work_units_counted_insert ON work_unit`.execute(db)
  await sql`DROP TRIGGER work_units_counted_update ON work_unit`.execute(db)
  await sql`DROP TRIGGER work_units_counted_delete ON work_unit`.execute(db)
  await sql`DROP FUNCTION count_work_units, fold_work_unit_counts`.execute(db)
  await sql`DROP INDEX work_unit_not_before`.execute(db)
  await sql`DROP TABLE work_unit_count, work_unit_count_delta`.execute(db)
}
