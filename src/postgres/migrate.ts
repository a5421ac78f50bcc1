import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import * as core from '../../migrations/0001_core.js'
import * as locks from '../../migrations/0002_locks.js'
import * as changeNotifications from '../../migrations/0003_change_notifications.js'
import * as claimFunctions from '../../migrations/0004_claim_functions.js'
import * as claimIndexByActiveAttempt from '../../migrations/0005_claim_index_by_active_attempt.js'
import * as quietClaimFunctions from '../../migrations/0006_quiet_claim_functions.js'
import * as statusDomains from '../../migrations/0007_status_domains.js'

// Migrations are imported statically rather than read from a folder, so they work after
// bundling and inside PGlite alike. Names sort in the order they must run.
const migrations: Record<string, Migration> = {
  '0001_core': core,
  '0002_locks': locks,
  '0003_change_notifications': changeNotifications,
  '0004_claim_functions': claimFunctions,
  '0005_claim_index_by_active_attempt': claimIndexByActiveAttempt,
  '0006_quiet_claim_functions': quietClaimFunctions,
  '0007_status_domains': statusDomains,
}

/** The name of the newest migration: a schema that has it applied is up to date. */
export const LATEST_MIGRATION = Object.keys(migrations).sort().at(-1) ?? ''

const provider: MigrationProvider = { getMigrations: async () => migrations }

/** Brings `schema` up to the latest migration; safe when several processes start at once. */
export async function migrateToLatest(db: Kysely<unknown>, schema: string): Promise<void> {
  await createSchema(db, schema)
  const migrator = new Migrator({
    db,
    provider,
    // Our own bookkeeping tables, in our own schema, so a host application's Kysely
    // migrations never see or lock ours.
    migrationTableSchema: schema,
    migrationTableName: 'coordinate_migration',
    migrationLockTableName: 'coordinate_migration_lock',
  })
  const { error } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`)
}

async function createSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  try {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db)
  } catch (error) {
    // Two processes creating the schema at once: the loser sees a unique violation.
    if (!isPgError(error, '23505') && !isPgError(error, '42P06')) throw error
  }
}

/** Tells whether an error is a Postgres error with this SQLSTATE. */
export function isPgError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}
