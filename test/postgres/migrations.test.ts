import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS, installStoredFunctions, migrateToLatest, schemaMigrator } from '../../src/postgres/migrate.js'
import { STORED_FUNCTIONS_HASH } from '../../src/postgres/sql/stored-functions.js'
import { createFileDatabase } from '../support/database.js'

// Migrations are frozen: each one's effect is written down here as the schema objects it adds
// and drops, and the database is built one migration at a time and compared after each. A new
// migration needs a new entry, or the first test fails.

const SCHEMA = 'coordinate'

interface SchemaChange {
  adds: string[]
  drops?: string[]
}

const column = (table: string, columns: string) => columns.split(', ').map((c) => `column ${table}.${c}`)

const EFFECTS: Record<string, SchemaChange> = {
  '0001_baseline': {
    adds: [
      'sequence version_seq',
      ...['namespace_id_seq', 'work_spec_id_seq', 'worker_id_seq', 'work_unit_id_seq', 'attempt_id_seq'].map((s) => `sequence ${s}`),
      `domain work_unit_state text CHECK ((VALUE = ANY (ARRAY['available'::text, 'pending'::text, 'finished'::text, 'failed'::text])))`,
      `domain attempt_status text CHECK ((VALUE = ANY (ARRAY['pending'::text, 'expired'::text, 'finished'::text, 'failed'::text, 'retryable'::text])))`,
      ...column('namespace', 'id bigint not null, name text not null'),
      ...column(
        'work_spec',
        'id bigint not null, namespace_id bigint not null, name text not null, data bytea not null, version bigint not null, ' +
          'priority integer not null, weight integer not null, paused boolean not null, continuous boolean not null, ' +
          'can_be_continuous boolean not null, min_memory_gb double precision not null, interval_ms bigint not null, ' +
          'next_continuous timestamp with time zone, max_running integer not null, max_attempts_returned integer not null, ' +
          'max_retries integer not null, next_work_spec_name text not null, runtime text not null',
      ),
      ...column(
        'worker',
        'id bigint not null, namespace_id bigint not null, name text not null, parent_id bigint, active boolean not null, ' +
          'mode text not null, data bytea not null, expiration timestamp with time zone not null, last_update timestamp with time zone not null',
      ),
      ...column(
        'work_unit',
        'id bigint not null, work_spec_id bigint not null, name bytea not null, data bytea not null, version bigint not null, ' +
          'priority double precision not null, not_before timestamp with time zone, state work_unit_state not null, ' +
          'active_attempt_id bigint, lease_expires timestamp with time zone',
      ),
      ...column(
        'attempt',
        'id bigint not null, work_unit_id bigint not null, work_spec_id bigint not null, worker_id bigint not null, ' +
          'status attempt_status not null, data bytea, start_time timestamp with time zone not null, end_time timestamp with time zone, ' +
          'expiration_time timestamp with time zone not null, active boolean not null',
      ),
      ...column('path_lock', 'key bytea not null, owner text not null, deadline timestamp with time zone not null'),
      ...column('coordinate_stored_functions', 'one_row boolean not null, hash text not null'),
      'storage work_unit fillfactor=80',
      'index namespace_pkey ON namespace (id)',
      'index namespace_name_key ON namespace (name)',
      'index work_spec_pkey ON work_spec (id)',
      'index work_spec_namespace_id_name_key ON work_spec (namespace_id, name)',
      'index worker_pkey ON worker (id)',
      'index worker_namespace_id_name_key ON worker (namespace_id, name)',
      'index worker_parent ON worker (parent_id) WHERE (parent_id IS NOT NULL)',
      'index work_unit_pkey ON work_unit (id)',
      'index work_unit_work_spec_id_name_key ON work_unit (work_spec_id, name)',
      'index work_unit_claim ON work_unit (work_spec_id, priority DESC, name) WHERE (active_attempt_id IS NULL)',
      'index attempt_pkey ON attempt (id)',
      'index attempt_work_unit ON attempt (work_unit_id)',
      'index attempt_worker_active ON attempt (worker_id) WHERE active',
      `index attempt_pending ON attempt (work_spec_id, expiration_time) WHERE ((status)::text = 'pending'::text)`,
      'index path_lock_pkey ON path_lock (key)',
      'index path_lock_deadline ON path_lock (deadline)',
      'index coordinate_stored_functions_pkey ON coordinate_stored_functions (one_row)',
      'constraint work_spec.work_spec_namespace_id_fkey FOREIGN KEY (namespace_id) REFERENCES namespace(id) ON DELETE CASCADE',
      'constraint worker.worker_namespace_id_fkey FOREIGN KEY (namespace_id) REFERENCES namespace(id) ON DELETE CASCADE',
      'constraint worker.worker_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES worker(id) ON DELETE SET NULL',
      'constraint coordinate_stored_functions.coordinate_stored_functions_one_row_check CHECK (one_row)',
      'function delete_work_units_of_deleted_specs()',
      'function delete_attempts_of_deleted_units()',
      'function notify_work_units()',
      'function notify_work_specs()',
      'function notify_namespaces()',
      'trigger work_unit.work_unit_deleted AFTER DELETE STATEMENT delete_attempts_of_deleted_units',
      'trigger work_spec.work_spec_deleted AFTER DELETE STATEMENT delete_work_units_of_deleted_specs',
      'trigger work_unit.work_units_inserted AFTER INSERT STATEMENT notify_work_units',
      'trigger work_unit.work_units_updated AFTER UPDATE STATEMENT notify_work_units',
      'trigger work_unit.work_units_deleted AFTER DELETE STATEMENT notify_work_units',
      'trigger work_spec.work_specs_inserted AFTER INSERT STATEMENT notify_work_specs',
      'trigger work_spec.work_specs_updated AFTER UPDATE STATEMENT notify_work_specs',
      'trigger work_spec.work_specs_deleted AFTER DELETE STATEMENT notify_work_specs',
      'trigger namespace.namespaces_deleted AFTER DELETE STATEMENT notify_namespaces',
    ],
  },
  '0002_fewer_claim_writes': {
    adds: ['index attempt_pkey ON attempt (work_unit_id, id)', 'storage attempt fillfactor=70', 'storage work_unit fillfactor=60'],
    drops: [
      'storage work_unit fillfactor=80',
      'index attempt_pkey ON attempt (id)',
      'index attempt_work_unit ON attempt (work_unit_id)',
      'index attempt_worker_active ON attempt (worker_id) WHERE active',
      'column attempt.active boolean not null',
    ],
  },
  '0003_unit_counts': {
    adds: [
      ...column('work_unit_count', 'work_spec_id bigint not null, state text not null, n bigint not null'),
      ...column('work_unit_count_delta', 'work_spec_id bigint not null, state text not null, n bigint not null'),
      'storage work_unit_count_delta autovacuum_vacuum_scale_factor=0, autovacuum_vacuum_threshold=2000',
      'index work_unit_count_pkey ON work_unit_count (work_spec_id, state)',
      'index work_unit_not_before ON work_unit (work_spec_id, not_before) WHERE (not_before IS NOT NULL)',
      'function fold_work_unit_counts()',
      'function count_work_units()',
      'trigger work_unit.work_units_counted_insert AFTER INSERT STATEMENT count_work_units',
      'trigger work_unit.work_units_counted_update AFTER UPDATE STATEMENT count_work_units',
      'trigger work_unit.work_units_counted_delete AFTER DELETE STATEMENT count_work_units',
    ],
  },
  '0004_room_for_hot_updates': {
    adds: ['storage attempt fillfactor=50', 'storage work_unit fillfactor=40'],
    drops: ['storage attempt fillfactor=70', 'storage work_unit fillfactor=60'],
  },
  '0005_one_count_row_per_statement': {
    adds: column('work_unit_count_delta', 'work_spec_id bigint not null, available bigint not null, pending bigint not null, finished bigint not null, failed bigint not null'),
    drops: column('work_unit_count_delta', 'work_spec_id bigint not null, state text not null, n bigint not null'),
  },
}

// What the repeatable step adds on top of the migrations.
const STORED_FUNCTIONS = [
  'function spec_has_available_unit(p_spec bigint, p_now timestamp with time zone)',
  'function claim_work_units(p_spec bigint, p_worker bigint, p_limit integer, p_now timestamp with time zone, ' +
    'p_expiration timestamp with time zone, p_max_running integer, p_count_attempts boolean, p_namespace bigint, ' +
    'p_spec_count bigint, p_spec_version bigint)',
  'function claim_work_units_for_workers(p_specs bigint[], p_workers bigint[], p_limits integer[], ' +
    'p_nows timestamp with time zone[], p_expirations timestamp with time zone[], p_max_running integer[], ' +
    'p_count_attempts boolean[], p_namespaces bigint[], p_spec_counts bigint[], p_spec_versions bigint[])',
  'function complete_attempts(p_unit_ids bigint[], p_ids bigint[], p_statuses text[], p_datas bytea[], ' +
    'p_now timestamp with time zone, p_allow_chaining boolean)',
  'function chained_outputs(p_unit_ids bigint[], p_ids bigint[])',
  'function work_unit_counts(p_specs bigint[], p_now timestamp with time zone)',
]

/** Every object of the schema as one line each, sorted; Kysely's bookkeeping tables left out. */
async function describeSchema(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    SELECT 'sequence ' || relname AS line FROM pg_class WHERE relnamespace = ${SCHEMA}::regnamespace AND relkind = 'S'
    UNION ALL
    SELECT 'domain ' || t.typname || ' ' || format_type(t.typbasetype, t.typtypmod) || ' ' || pg_get_constraintdef(c.oid)
      FROM pg_type t JOIN pg_constraint c ON c.contypid = t.oid WHERE t.typnamespace = ${SCHEMA}::regnamespace
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relnamespace = ${SCHEMA}::regnamespace AND c.relkind = 'r'
    UNION ALL
    -- Storage parameters (fillfactor, autovacuum) are part of what a migration sets.
    SELECT 'storage ' || relname || ' ' || array_to_string(reloptions, ', ')
      FROM pg_class WHERE relnamespace = ${SCHEMA}::regnamespace AND reloptions IS NOT NULL
    UNION ALL
    SELECT 'index ' || replace(replace(pg_get_indexdef(i.indexrelid), 'CREATE UNIQUE INDEX ', ''), 'CREATE INDEX ', '')
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = ${SCHEMA}::regnamespace
    UNION ALL
    SELECT 'constraint ' || r.relname || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
      FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
      WHERE r.relnamespace = ${SCHEMA}::regnamespace AND c.contype IN ('c', 'f')
    UNION ALL
    SELECT 'function ' || proname || '(' || pg_get_function_identity_arguments(oid) || ')'
      FROM pg_proc WHERE pronamespace = ${SCHEMA}::regnamespace
    UNION ALL
    SELECT 'trigger ' || r.relname || '.' || t.tgname || ' ' || substring(pg_get_triggerdef(t.oid) FROM '(AFTER [A-Z]+) ON')
           || ' STATEMENT ' || p.proname
      FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE r.relnamespace = ${SCHEMA}::regnamespace AND NOT t.tgisinternal`.execute(db)
  return rows
    .map((row) => row.line.replaceAll(`${SCHEMA}.`, '').replace(' USING btree ', ' '))
    .filter((line) => !/coordinate_migration/.test(line))
    .sort()
}

/** A Kysely on `url` whose sessions start in our schema. */
function openDb(url: string): Kysely<unknown> {
  const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${SCHEMA}` })
  return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) })
}

describe('migrations applied one at a time (real server)', async () => {
  const database = await createFileDatabase()
  const url = database.url
  // Two clients, as two processes starting at once would be.
  const db = url === undefined ? undefined! : openDb(url)
  const other = url === undefined ? undefined! : openDb(url)
  afterAll(async () => {
    await db?.destroy()
    await other?.destroy()
    await database.drop()
  })

  it.runIf(url !== undefined)('each migration leaves exactly the schema it describes', async () => {
    expect(Object.keys(EFFECTS)).toEqual(Object.keys(MIGRATIONS))
    await sql`CREATE SCHEMA ${sql.id(SCHEMA)}`.execute(db)
    const migrator = schemaMigrator(db, SCHEMA)
    const expected = new Set<string>()
    for (const name of Object.keys(MIGRATIONS)) {
      const { error, results } = await migrator.migrateTo(name)
      expect(error).toBeUndefined()
      expect(results?.map((r) => [r.migrationName, r.status])).toEqual([[name, 'Success']])
      for (const line of EFFECTS[name]!.drops ?? []) expect(expected.delete(line), `${name} drops ${line}`).toBe(true)
      for (const line of EFFECTS[name]!.adds) expected.add(line)
      expect(await describeSchema(db)).toEqual([...expected].sort())
    }
  })

  it.runIf(url !== undefined)('installs the stored functions after the migrations, and again only when their text changes', async () => {
    const before = await describeSchema(db)
    expect(await installStoredFunctions(db)).toBe(true)
    expect(await describeSchema(db)).toEqual([...before, ...STORED_FUNCTIONS].sort())
    const recorded = await sql<{ hash: string }>`SELECT hash FROM coordinate_stored_functions`.execute(db)
    expect(recorded.rows).toEqual([{ hash: STORED_FUNCTIONS_HASH }])

    // Unchanged text: nothing is replaced (the functions' rows keep their transaction id).
    const xmins = sql<{ xmin: string }>`SELECT xmin::text FROM pg_proc WHERE proname = 'claim_work_units'`
    const xminBefore = (await xmins.execute(db)).rows
    expect(await installStoredFunctions(db)).toBe(false)
    expect((await xmins.execute(db)).rows).toEqual(xminBefore)

    // A schema recording another version gets them again, from two processes at once only once,
    // over the claim's earlier forms: another result type (which CREATE OR REPLACE cannot
    // change) and the wrapper that read the data in a second statement, which goes.
    const claimArguments = 'p_spec bigint, p_worker bigint, p_limit integer, p_now timestamptz, p_expiration timestamptz, ' +
      'p_max_running integer, p_count_attempts boolean, p_namespace bigint, p_spec_count bigint, p_spec_version bigint'
    await sql`UPDATE coordinate_stored_functions SET hash = 'older'`.execute(db)
    await sql`DROP FUNCTION claim_work_units`.execute(db)
    await sql.raw(`CREATE FUNCTION claim_work_units(${claimArguments}) RETURNS TABLE (unit_id bigint) LANGUAGE sql AS 'SELECT 1::bigint'`).execute(db)
    await sql.raw(`CREATE FUNCTION claim_work_units_with_data(${claimArguments}) RETURNS TABLE (unit_id bigint) LANGUAGE sql AS 'SELECT 1::bigint'`).execute(db)
    const installed = await Promise.all([installStoredFunctions(db), installStoredFunctions(other)])
    expect(installed.sort()).toEqual([false, true])
    expect(await describeSchema(db)).toEqual([...before, ...STORED_FUNCTIONS].sort())
    expect((await xmins.execute(db)).rows).not.toEqual(xminBefore)
  })

  it.runIf(url !== undefined)('refuses a schema made by the pre-release migrations, saying what to do', async () => {
    await sql`CREATE SCHEMA old_layout`.execute(db)
    await sql`CREATE TABLE old_layout.coordinate_migration (name text PRIMARY KEY, timestamp text)`.execute(db)
    await sql`INSERT INTO old_layout.coordinate_migration VALUES ('0001_core', '')`.execute(db)
    await expect(migrateToLatest(db, 'old_layout')).rejects.toThrow(/pre-release version of coordinate-ts; drop it/)
    const tables = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM pg_class WHERE relnamespace = 'old_layout'::regnamespace`.execute(db)
    expect(tables.rows).toEqual([{ n: 2 }])
  })
})
