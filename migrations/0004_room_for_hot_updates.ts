import { type Kysely, sql } from 'kysely'

// More room on work_unit and attempt pages, so that the claim's and the completion's new row
// versions stay on the page of the old one (docs/design.md, "What a unit costs in WAL"). A
// version that fits on its page can be a HOT update (no new index entries) and costs no lock
// record on a second page; at 0002's fillfactors (work_unit 60, attempt 70) a batch of
// consecutive units still ran out of room on a share of its pages.
//
// Only pages filled from now on get the room: no table is rewritten, because a rewrite
// (VACUUM FULL, CLUSTER) holds an exclusive lock for as long as it copies every unit, and a
// deployment with millions of units would stop claiming for that long. Units already stored
// keep their pages; those finished long ago are never updated again anyway.
//
// This migration is frozen: its text never changes once released.

const statements = [`ALTER TABLE work_unit SET (fillfactor = 40)`, `ALTER TABLE attempt SET (fillfactor = 50)`]

/** Lowers the fillfactor of work_unit and attempt, for pages filled from now on. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Puts back 0002's fillfactors. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE work_unit SET (fillfactor = 60)`.execute(db)
  await sql`ALTER TABLE attempt SET (fillfactor = 70)`.execute(db)
}
