import { type Kysely, sql } from 'kysely'
import { createClaimFunctions } from './claim-functions.js'

// The claim index selects units by `active_attempt_id IS NULL` instead of `state = 'available'`.
//
// A unit is available exactly when it has no active attempt: every write that makes a unit
// available clears its active attempt, and every write that gives it one makes it pending. The
// two predicates select the same rows, but they differ in what a completion costs. Postgres
// can update a row in place (a HOT update, no new index entries) only when no indexed column
// and no column of an index predicate changes. A completion changes `state` (pending → finished
// or failed) and keeps the active attempt, so with `state` out of every index of work_unit it
// is a HOT update, where before it added an entry to the primary key and to the (spec, name)
// index of every unit it finished. The claim functions (./claim-functions.ts) test both
// conditions: the index's, so the planner uses it, and `state`, so a unit that broke the rule
// would be skipped rather than handed out twice.

const statements = [
  `DROP INDEX work_unit_claim`,
  `
    CREATE INDEX work_unit_claim ON work_unit (work_spec_id, priority DESC, name)
      WHERE active_attempt_id IS NULL
  `,
]

/** Moves the claim index's predicate off `state`, so completions update units in place. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
  // A database migrated to 0004 before these functions tested active_attempt_id gets them now.
  await createClaimFunctions(db)
}

/** Puts back migration 0004's index (its functions still work with either index). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX work_unit_claim`.execute(db)
  await sql`CREATE INDEX work_unit_claim ON work_unit (work_spec_id, priority DESC, name) WHERE state = 'available'`.execute(db)
}
