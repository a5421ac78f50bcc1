import { type Kysely, sql } from 'kysely'

// The whole model in one schema (named by the caller through search_path): namespaces, work
// specs with their meta in columns, work units, workers and attempts, the jobserver's path
// locks, and the triggers that announce changes. Data dicts are CBOR in BYTEA so byte strings,
// tuples and UUIDs survive. Unit status is kept on the unit row (`state` plus the lease end of
// its active attempt) so that counting and claiming never join attempts; time-driven changes
// (lease ends, not-before passes) are derived at read time.
//
// This migration is frozen: its text never changes once released. A schema change is a new
// migration with its own SQL. The functions the code calls (claim, completion) are not here:
// they are installed after migrations by a repeatable step (src/postgres/migrate.ts, with their
// text in src/postgres/sql/; docs/design.md, "SQL and migrations").

const statements = [
  // Versions come from one sequence, so they only grow: a unit or spec deleted and created
  // again under the same name still gets a higher version than any copy of the old row.
  `CREATE SEQUENCE version_seq`,
  // The rules on a unit's state and an attempt's status are domains, not table CHECK
  // constraints: Postgres prepares a table's constraints again for every statement that
  // writes the table, while a domain's check is prepared once per session and still refuses a
  // bad value with check_violation, whichever statement writes it.
  `CREATE DOMAIN work_unit_state AS text
     CONSTRAINT work_unit_state_check CHECK (VALUE IN ('available', 'pending', 'finished', 'failed'))`,
  `CREATE DOMAIN attempt_status AS text
     CONSTRAINT attempt_status_check CHECK (VALUE IN ('pending', 'expired', 'finished', 'failed', 'retryable'))`,
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
  `CREATE INDEX worker_parent ON worker (parent_id) WHERE parent_id IS NOT NULL`,
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
        state work_unit_state NOT NULL DEFAULT 'available',
        active_attempt_id bigint,
        lease_expires timestamptz,
        UNIQUE (work_spec_id, name)
      ) WITH (fillfactor = 80)
  `,
  `
    -- The claim order (priority DESC, name ASC) over claimable units only, so a claim with
    -- LIMIT stops after the rows it takes however many units the spec holds. A unit is
    -- available exactly when it has no active attempt (every write that makes a unit available
    -- clears it; every write that gives it one makes it pending). The predicate names
    -- active_attempt_id rather than state because Postgres updates a row in place (HOT, no
    -- new index entries) only when no indexed or predicate column changes: a completion
    -- changes state and keeps the active attempt, so it stays a HOT update.
    CREATE INDEX work_unit_claim ON work_unit (work_spec_id, priority DESC, name)
      WHERE active_attempt_id IS NULL
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
        status attempt_status NOT NULL DEFAULT 'pending',
        -- NULL until the attempt gets data of its own: it then reads as its unit's data.
        data bytea,
        start_time timestamptz NOT NULL,
        end_time timestamptz,
        expiration_time timestamptz NOT NULL,
        -- On its worker's active list (not: the active attempt of its unit).
        active boolean NOT NULL DEFAULT true
      )
  `,
  `CREATE INDEX attempt_work_unit ON attempt (work_unit_id)`,
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
  `CREATE TRIGGER work_unit_deleted AFTER DELETE ON work_unit REFERENCING OLD TABLE AS deleted_units
     FOR EACH STATEMENT EXECUTE FUNCTION delete_attempts_of_deleted_units()`,
  `CREATE TRIGGER work_spec_deleted AFTER DELETE ON work_spec REFERENCING OLD TABLE AS deleted_specs
     FOR EACH STATEMENT EXECUTE FUNCTION delete_work_units_of_deleted_specs()`,

  // The hierarchical locks of the jobserver's lock methods, shared by every daemon on the
  // store. Only locked paths have rows. `key` is the path's labels, each in canonical CBOR,
  // concatenated (src/postgres/locks.ts): a CBOR item is self-delimiting, so one path is a
  // label-wise prefix of another exactly when its key is a byte prefix of the other's, and
  // "is an ancestor locked" is an equality lookup on the primary key while "is a descendant
  // locked" is a range scan on it (bytea sorts bytewise).
  `
    CREATE TABLE path_lock (
        key bytea PRIMARY KEY,
        owner text NOT NULL,
        deadline timestamptz NOT NULL
      )
  `,
  `
    -- Every lock operation first deletes the locks whose deadline has passed.
    CREATE INDEX path_lock_deadline ON path_lock (deadline)
  `,

  // Change notifications for caches in every process: statement-level triggers send one
  // pg_notify per (spec, statement) inside the writing transaction, so listeners hear of a
  // change only once it commits. The channel is `coordinate_<schema>`. Payloads are JSON:
  // {"t":"u","n":ns,"s":spec,"k":[hex keys] | null} for units (null = too many to list, any
  // unit of the spec may have changed), {"t":"s",…} for a spec, {"t":"n","n":ns} for a
  // destroyed namespace. A session turns them off with `SET coordinate.notify = off`; the claim
  // and completion functions do, and their callers announce after commit instead
  // (src/postgres/deferred-notifications.ts).
  `
    CREATE FUNCTION notify_work_units() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      channel text := 'coordinate_' || current_schema();
      r record;
      ns text;
      spec text;
      keys json;
    BEGIN
      IF coalesce(current_setting('coordinate.notify', true), 'on') = 'off' THEN RETURN NULL; END IF;
      -- Count first and list keys only for small changes: a claim of 100 units or a bulk add
      -- announces the whole spec instead, which is cheaper here and for every listener.
      FOR r IN SELECT work_spec_id, count(*) AS n, sum(length(name)) AS bytes FROM changed_units GROUP BY 1 LOOP
        SELECT nm.name, s.name INTO ns, spec FROM work_spec s JOIN namespace nm ON nm.id = s.namespace_id
          WHERE s.id = r.work_spec_id;
        CONTINUE WHEN NOT FOUND;
        keys := NULL;
        IF r.n <= 20 AND r.bytes <= 1500 THEN
          SELECT json_agg(encode(c.name, 'hex')) INTO keys FROM changed_units c WHERE c.work_spec_id = r.work_spec_id;
        END IF;
        PERFORM pg_notify(channel, json_build_object('t', 'u', 'n', ns, 's', spec, 'k', keys)::text);
      END LOOP;
      RETURN NULL;
    END
    $$
  `,
  `CREATE TRIGGER work_units_inserted AFTER INSERT ON work_unit REFERENCING NEW TABLE AS changed_units
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_units()`,
  `CREATE TRIGGER work_units_updated AFTER UPDATE ON work_unit REFERENCING NEW TABLE AS changed_units
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_units()`,
  `CREATE TRIGGER work_units_deleted AFTER DELETE ON work_unit REFERENCING OLD TABLE AS changed_units
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_units()`,
  `
    CREATE FUNCTION notify_work_specs() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      channel text := 'coordinate_' || current_schema();
      r record;
    BEGIN
      IF coalesce(current_setting('coordinate.notify', true), 'on') = 'off' THEN RETURN NULL; END IF;
      FOR r IN
        SELECT DISTINCT n.name AS ns, c.name AS spec
        FROM changed_specs c JOIN namespace n ON n.id = c.namespace_id
      LOOP
        PERFORM pg_notify(channel, json_build_object('t', 's', 'n', r.ns, 's', r.spec)::text);
      END LOOP;
      RETURN NULL;
    END
    $$
  `,
  `CREATE TRIGGER work_specs_inserted AFTER INSERT ON work_spec REFERENCING NEW TABLE AS changed_specs
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_specs()`,
  `CREATE TRIGGER work_specs_updated AFTER UPDATE ON work_spec REFERENCING NEW TABLE AS changed_specs
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_specs()`,
  `CREATE TRIGGER work_specs_deleted AFTER DELETE ON work_spec REFERENCING OLD TABLE AS changed_specs
     FOR EACH STATEMENT EXECUTE FUNCTION notify_work_specs()`,
  `
    CREATE FUNCTION notify_namespaces() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      channel text := 'coordinate_' || current_schema();
      r record;
    BEGIN
      IF coalesce(current_setting('coordinate.notify', true), 'on') = 'off' THEN RETURN NULL; END IF;
      FOR r IN SELECT name FROM deleted_namespaces LOOP
        PERFORM pg_notify(channel, json_build_object('t', 'n', 'n', r.name)::text);
      END LOOP;
      RETURN NULL;
    END
    $$
  `,
  `CREATE TRIGGER namespaces_deleted AFTER DELETE ON namespace REFERENCING OLD TABLE AS deleted_namespaces
     FOR EACH STATEMENT EXECUTE FUNCTION notify_namespaces()`,

  // Which definitions of the stored functions this schema holds: the hash of their text, so
  // the repeatable step after migrations installs them only when they changed, and processes
  // starting at once install them once (they take this row's lock first).
  `
    CREATE TABLE coordinate_stored_functions (
        one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
        hash text NOT NULL
      )
  `,
  `INSERT INTO coordinate_stored_functions (hash) VALUES ('')`,
]

/** Creates the whole schema as of the first release. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Drops everything this migration and the stored-function step created. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE coordinate_stored_functions, path_lock, attempt, work_unit, worker, work_spec, namespace CASCADE`.execute(db)
  await sql`DROP FUNCTION IF EXISTS claim_work_units, complete_attempts, chained_outputs, spec_has_available_unit`.execute(db)
  await sql`DROP FUNCTION delete_work_units_of_deleted_specs, delete_attempts_of_deleted_units, notify_work_units, notify_work_specs, notify_namespaces`.execute(db)
  await sql`DROP DOMAIN work_unit_state, attempt_status`.execute(db)
  await sql`DROP SEQUENCE version_seq`.execute(db)
}
