import { type Kysely, sql } from 'kysely'
import { createClaimFunctions } from './claim-functions.js'

// The claim and completion paths become plpgsql functions with pinned plans; their text, and
// why, are in ./claim-functions.ts.

/** Adds the pinned-plan functions of the claim and completion paths. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await createClaimFunctions(db)
}

/** Removes them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION claim_work_units, complete_attempts, spec_has_available_unit, chained_outputs`.execute(db)
}
