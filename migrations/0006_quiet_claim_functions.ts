import { type Kysely, sql } from 'kysely'
import { createClaimFunctions } from './claim-functions.js'

// claim_work_units and complete_attempts lose their p_quiet parameter: every caller asked for
// quiet calls (or had notifications off for its whole session), and announcing after commit is
// now the one way these writes are heard, so the functions are quiet by their SET clause.
// complete_attempts also returns nothing now; chained_outputs (new) gives a chaining
// completion its rows. A changed parameter list is a new function to Postgres, so the old ones
// are dropped first.

/** Replaces the claim and completion functions with their quiet, leaner definitions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS claim_work_units(bigint, bigint, integer, timestamptz, timestamptz, integer, boolean, bigint, bigint, bigint, boolean)`.execute(db)
  await sql`DROP FUNCTION IF EXISTS complete_attempts(bigint[], text[], bytea[], timestamptz, boolean, boolean)`.execute(db)
  await createClaimFunctions(db)
}

/**
 * Keeps the new definitions: the old bodies are not kept anywhere, and code at an earlier
 * migration cannot run against this schema anyway (Kysely's migrator refuses unknown migrations).
 */
export async function down(): Promise<void> {}
