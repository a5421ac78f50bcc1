import { type Kysely, sql } from 'kysely'

// The whole model in one schema (named by the caller through search_path): namespaces, work
// specs with their meta in columns, work units, workers and attempts. Data dicts are CBOR in
// BYTEA so byte strings, tuples and UUIDs survive. Unit status is kept on the unit row
// (`state` plus the lease end of its active attempt) so that counting and claiming never join
// attempts; time-driven changes (lease ends, not-before passes) are derived at read time.

const statements = [
  // Versions come from one sequence, so they only grow: a unit or spec deleted and created
  // again under the same name still gets a higher version than any copy of the old row.
  `CREATE SEQUENCE version_seq`,
  `
    CREATE TABLE namespace (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE
      )
  `,
  `
    CREATE TABLE work_spec (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        namespace_id bigint NOT NULL REFERENCES namespace (id) ON DELETE CASCADE,
        name text NOT NULL,
        data bytea NOT NULL,
        version bigint NOT NULL DEFAULT nextval('version_seq'),
        priority integer NOT NULL DEFAULT 0,
        weight integer NOT NULL DEFAULT 20,
        paused boolean NOT NULL DEFAULT false,
        continuous boolean NOT NULL DEFAULT false,
        can_be_continuous boolean NOT NULL DEFAULT false,
        min_memory_gb double precision NOT NULL DEFAULT 0,
        interval_ms bigint NOT NULL DEFAULT 0,
        next_continuous timestamptz,
        max_running integer NOT NULL DEFAULT 0,
        max_attempts_returned integer NOT NULL DEFAULT 0,
        max_retries integer NOT NULL DEFAULT 0,
        next_work_spec_name text NOT NULL DEFAULT '',
        runtime text NOT NULL DEFAULT '',
        UNIQUE (namespace_id, name)
      )
  `,
  `
    CREATE TABLE worker (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        namespace_id bigint NOT NULL REFERENCES namespace (id) ON DELETE CASCADE,
        name text NOT NULL,
        parent_id bigint REFERENCES worker (id) ON DELETE SET NULL,
        active boolean NOT NULL DEFAULT true,
        mode text NOT NULL DEFAULT '',
        data bytea NOT NULL,
        expiration timestamptz NOT NULL,
        last_update timestamptz NOT NULL,
        UNIQUE (namespace_id, name)
      )
  `,
  `
    CREATE INDEX worker_parent ON worker (parent_id) WHERE parent_id IS NOT NULL
  `,
  `
    -- state: 'available' (no active attempt, or the last one was expired or retried),
      -- 'pending', 'finished', 'failed': the status of the active attempt. A pending unit whose
      -- lease_expires has passed reads as available even before the sweep rewrites it.
      CREATE TABLE work_unit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- No foreign key: its per-row check would cost more than the insert itself on bulk
        -- adds. Writers lock the spec row FOR KEY SHARE once per statement instead, and the
        -- trigger below deletes a spec's units with it.
        work_spec_id bigint NOT NULL,
        name bytea NOT NULL,
        data bytea NOT NULL,
        version bigint NOT NULL DEFAULT nextval('version_seq'),
        priority double precision NOT NULL DEFAULT 0,
        not_before timestamptz,
        state text NOT NULL DEFAULT 'available'
          CHECK (state IN ('available', 'pending', 'finished', 'failed')),
        active_attempt_id bigint,
        lease_expires timestamptz,
        UNIQUE (work_spec_id, name)
      ) WITH (fillfactor = 80)
  `,
  `
    -- The claim order (priority DESC, name ASC) over available units only, so a claim with
      -- LIMIT stops after the rows it takes however many units the spec holds.
      CREATE INDEX work_unit_claim ON work_unit (work_spec_id, priority DESC, name)
        WHERE state = 'available'
  `,
  `
    CREATE TABLE attempt (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        -- No foreign keys on attempt: their per-row checks cost a quarter of a claim. Claims
        -- insert attempts only for unit rows they hold locked, and the triggers below delete
        -- a unit's attempts with it (workers go only with their namespace, whose specs,
        -- units and so attempts go too).
        work_unit_id bigint NOT NULL,
        -- Denormalised so pending counts per spec need no join through work_unit. No foreign key:
        -- the unit's cascade already removes attempts, and a key check would lock the spec row
        -- on every claim.
        work_spec_id bigint NOT NULL,
        worker_id bigint NOT NULL,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'expired', 'finished', 'failed', 'retryable')),
        -- NULL until the attempt gets data of its own: it then reads as its unit's data.
        data bytea,
        start_time timestamptz NOT NULL,
        end_time timestamptz,
        expiration_time timestamptz NOT NULL,
        -- On its worker's active list (not: the active attempt of its unit).
        active boolean NOT NULL DEFAULT true
      )
  `,
  `
    CREATE INDEX attempt_work_unit ON attempt (work_unit_id)
  `,
  `
    -- Only the attempts on a worker's active list: allAttempts() of a worker is a rare, debugging
    -- read and may scan, while every attempt written would pay for a full worker index.
    CREATE INDEX attempt_worker_active ON attempt (worker_id) WHERE active
  `,
  `
    -- Pending attempts per spec (scheduler counts, max_running) and leases running out (expiry);
    -- only attempts holding a lease are in it, so it stays small however long the history.
    CREATE INDEX attempt_pending ON attempt (work_spec_id, expiration_time) WHERE status = 'pending'
  `,
  `
    CREATE FUNCTION delete_work_units_of_deleted_specs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM work_unit WHERE work_spec_id IN (SELECT id FROM deleted_specs);
      RETURN NULL;
    END
    $$
  `,
  `
    CREATE FUNCTION delete_attempts_of_deleted_units() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM attempt WHERE work_unit_id IN (SELECT id FROM deleted_units);
      RETURN NULL;
    END
    $$
  `,
  `
    CREATE TRIGGER work_unit_deleted AFTER DELETE ON work_unit
      REFERENCING OLD TABLE AS deleted_units
      FOR EACH STATEMENT EXECUTE FUNCTION delete_attempts_of_deleted_units()
  `,
  `
    CREATE TRIGGER work_spec_deleted AFTER DELETE ON work_spec
      REFERENCING OLD TABLE AS deleted_specs
      FOR EACH STATEMENT EXECUTE FUNCTION delete_work_units_of_deleted_specs()
  `,
]

/** Creates the core tables and the indexes that the claim and lookup paths use. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Drops everything 0001 created. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE attempt, work_unit, worker, work_spec, namespace`.execute(db)
  await sql`DROP SEQUENCE version_seq`.execute(db)
  await sql`DROP FUNCTION delete_work_units_of_deleted_specs(), delete_attempts_of_deleted_units()`.execute(db)
}
