import { type RawBuilder, sql } from 'kysely'

// Statements of the row-locked update (src/postgres/locked-update.ts runs them in one transaction).

/** Bounds this transaction's waits for row locks (lock_timeout, local to the transaction). */
export function lockTimeoutSql(ms: number): RawBuilder<unknown> {
  return sql`SELECT set_config('lock_timeout', ${`${ms}ms`}, true)`
}

/** A row's data and version, locked until the transaction ends. */
export function lockRowDataSql(table: 'work_unit' | 'work_spec', id: string): RawBuilder<{ data: Uint8Array; version: string }> {
  return sql<{ data: Uint8Array; version: string }>`SELECT data, version FROM ${sql.table(table)} WHERE id = ${id} FOR UPDATE`
}
