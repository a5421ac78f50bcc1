import { type RawBuilder, sql } from 'kysely'

// What src/postgres/migrate.ts runs around the migrations: the schema itself, the check for a
// pre-release schema, and the record of the stored functions' version.

/** Creates our schema unless it exists. */
export function createSchemaSql(schema: string): RawBuilder<unknown> {
  return sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`
}

/** Whether `schema` has a migration table. */
export function hasMigrationTableSql(schema: string): RawBuilder<{ found: boolean }> {
  return sql<{ found: boolean }>`SELECT to_regclass(${`${schema}.coordinate_migration`}) IS NOT NULL AS found`
}

/** A row if `schema` recorded the pre-release migration 0001_core. */
export function prereleaseMigrationSql(schema: string): RawBuilder<unknown> {
  return sql`SELECT 1 FROM ${sql.table(`${schema}.coordinate_migration`)} WHERE name = '0001_core'`
}

/** The stored functions' version the schema records. */
export const STORED_FUNCTIONS_VERSION_SQL = sql<{ hash: string }>`SELECT hash FROM coordinate_stored_functions`

/** The same, locking the record until the transaction ends. */
export const LOCK_STORED_FUNCTIONS_VERSION_SQL = sql<{ hash: string }>`SELECT hash FROM coordinate_stored_functions FOR UPDATE`

/** Records the stored functions' version. */
export function recordStoredFunctionsSql(hash: string): RawBuilder<unknown> {
  return sql`UPDATE coordinate_stored_functions SET hash = ${hash}`
}
