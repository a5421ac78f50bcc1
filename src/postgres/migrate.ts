import { type Kysely, sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import * as baseline from '../../migrations/0001_baseline.js'
import * as fewerClaimWrites from '../../migrations/0002_fewer_claim_writes.js'
import * as unitCounts from '../../migrations/0003_unit_counts.js'
import * as roomForHotUpdates from '../../migrations/0004_room_for_hot_updates.js'
import * as oneCountRowPerStatement from '../../migrations/0005_one_count_row_per_statement.js'
import {
  LOCK_STORED_FUNCTIONS_VERSION_SQL,
  STORED_FUNCTIONS_VERSION_SQL,
  createSchemaSql,
  hasMigrationTableSql,
  prereleaseMigrationSql,
  recordStoredFunctionsSql,
} from './sql/schema-setup.js'
import { STORED_FUNCTIONS, STORED_FUNCTIONS_HASH } from './sql/stored-functions.js'

// Migrations are imported statically rather than read from a folder, so they work after
// bundling and inside PGlite alike. Names sort in the order they must run. Each is frozen once
// released: its own SQL, never imported from shared code (docs/design.md).
/** Every migration by name, in the order they run. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_baseline': baseline,
  '0002_fewer_claim_writes': fewerClaimWrites,
  '0003_unit_counts': unitCounts,
  '0004_room_for_hot_updates': roomForHotUpdates,
  '0005_one_count_row_per_statement': oneCountRowPerStatement,
}

/** The name of the newest migration: a schema that has it applied is up to date. */
export const LATEST_MIGRATION = Object.keys(MIGRATIONS).sort().at(-1) ?? ''

const provider: MigrationProvider = { getMigrations: async () => ({ ...MIGRATIONS }) }

/** A migrator over MIGRATIONS that keeps its bookkeeping in `schema`. */
export function schemaMigrator(db: Kysely<unknown>, schema: string): Migrator {
  return new Migrator({
    db,
    provider,
    // Our own bookkeeping tables, in our own schema, so a host application's Kysely
    // migrations never see or lock ours.
    migrationTableSchema: schema,
    migrationTableName: 'coordinate_migration',
    migrationLockTableName: 'coordinate_migration_lock',
  })
}

/**
 * Brings `schema` up to the latest migration, then installs the stored functions if their
 * text changed; safe when several processes start at once.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema: string): Promise<void> {
  await createSchema(db, schema)
  await refusePrereleaseSchema(db, schema)
  const { error } = await schemaMigrator(db, schema).migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`)
  await installStoredFunctions(db)
}

/**
 * The repeatable step after migrations: (re)creates the stored functions when the hash of
 * their text differs from the one the schema records. The lock on the record's row makes
 * processes that start at once install them one after the other; the later ones find the new
 * hash and do nothing.
 */
export async function installStoredFunctions(db: Kysely<unknown>): Promise<boolean> {
  const current = await STORED_FUNCTIONS_VERSION_SQL.execute(db)
  if (current.rows[0]?.hash === STORED_FUNCTIONS_HASH) return false
  return db.transaction().execute(async (trx) => {
    const locked = await LOCK_STORED_FUNCTIONS_VERSION_SQL.execute(trx)
    if (locked.rows[0]?.hash === STORED_FUNCTIONS_HASH) return false
    // One statement per call: PGlite's extended protocol takes a single statement.
    for (const statement of STORED_FUNCTIONS) await sql.raw(statement).execute(trx)
    await recordStoredFunctionsSql(STORED_FUNCTIONS_HASH).execute(trx)
    return true
  })
}

async function createSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  try {
    await createSchemaSql(schema).execute(db)
  } catch (error) {
    // Two processes creating the schema at once: the loser sees a unique violation.
    if (!isPgError(error, '23505') && !isPgError(error, '42P06')) throw error
  }
}

// Databases made before the baseline recorded migrations 0001_core to 0007_status_domains,
// which the baseline replaced; Kysely's own error for them ("corrupted migrations") would not
// say what to do.
async function refusePrereleaseSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  const exists = await hasMigrationTableSql(schema).execute(db)
  if (!exists.rows[0]?.found) return
  const old = await prereleaseMigrationSql(schema).execute(db)
  if (old.rows.length > 0) {
    throw new Error(`schema ${schema} was made by a pre-release version of coordinate-ts; drop it and open again`)
  }
}

/** Tells whether an error is a Postgres error with this SQLSTATE. */
export function isPgError(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}
