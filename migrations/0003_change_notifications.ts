import { type Kysely, sql } from 'kysely'

// Change notifications for caches in every process: statement-level triggers send one
// pg_notify per (spec, statement) inside the writing transaction, so listeners hear of a change
// only once it commits, and no write path can forget to announce itself. The channel is
// `coordinate_<schema>`. Payloads are JSON: {"t":"u","n":ns,"s":spec,"k":[hex keys] | null}
// for units (null = too many to list, any unit of the spec may have changed), {"t":"s",…} for
// a spec, {"t":"n","n":ns} for a destroyed namespace. A session can turn them off with
// `SET coordinate.notify = off` (bulk loads with no caches listening).

const statements = [
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
]

/** Adds the triggers that announce every change to units, specs and namespaces. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Removes the triggers and their functions. */
export async function down(db: Kysely<unknown>): Promise<void> {
  for (const fn of ['notify_work_units', 'notify_work_specs', 'notify_namespaces']) {
    await sql.raw(`DROP FUNCTION ${fn}() CASCADE`).execute(db)
  }
}
