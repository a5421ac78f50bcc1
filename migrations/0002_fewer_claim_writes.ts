import { type Kysely, sql } from 'kysely'

// Fewer WAL records per claimed and finished unit (docs/design.md, "What a unit costs in WAL").
// A claim+finish cycle wrote about 16.7 records (1.6 kB) per unit where a bare one-table queue
// writes 7; four of the differences are cheap to remove:
//
// - One index for an attempt's identity and its unit's history: the primary key becomes
//   (work_unit_id, id), replacing both the key on id and the index on work_unit_id. A claim
//   inserts an attempt and a completion writes a new version of it (its status is in the
//   pending-lease index's predicate, so it cannot be a HOT update): each wrote an entry in both
//   indexes. Every statement that finds an attempt by id knows its unit too (an attempt handle
//   carries its unit), so it names both. Ids stay unique: they all come from the identity
//   sequence. The completion functions take the units' ids, so their old forms are dropped
//   here and the repeatable step installs the new ones.
// - attempt.active and its index attempt_worker_active: `active` was true exactly when the
//   status was 'pending' (every write set the two together), so the column said nothing the
//   status does not, and its index cost every claim one more index entry. A worker's active
//   attempts are now read through attempt_pending, which holds only the leases out.
// - Room on attempt pages: attempts are inserted in order and filled their pages, so each
//   completion's new row version went to another page, which costs an extra lock record.
// - More room on work_unit pages: a claim and a completion each write a new version of the
//   unit row, and a batch of consecutive units shares its pages; at fillfactor 80 most new
//   versions moved to other pages (extra lock records, and completions that could not be
//   HOT updates).
//
// Existing rows stay where they are (a fillfactor applies to pages filled from now on); no
// data changes. This migration is frozen: its text never changes once released.

const statements = [
  `ALTER TABLE attempt DROP CONSTRAINT attempt_pkey`,
  `DROP INDEX attempt_work_unit`,
  `ALTER TABLE attempt ADD CONSTRAINT attempt_pkey PRIMARY KEY (work_unit_id, id)`,
  `DROP FUNCTION IF EXISTS complete_attempts(bigint[], text[], bytea[], timestamptz, boolean)`,
  `DROP FUNCTION IF EXISTS chained_outputs(bigint[])`,
  `DROP INDEX attempt_worker_active`,
  `ALTER TABLE attempt DROP COLUMN active`,
  `ALTER TABLE attempt SET (fillfactor = 70)`,
  `ALTER TABLE work_unit SET (fillfactor = 60)`,
]

/** Merges attempt's key and unit index, drops its redundant active flag and its index, leaves room on pages. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Puts the key on id, the unit index, the flag (derived from the status) and its index back, and the old fillfactors. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE attempt DROP CONSTRAINT attempt_pkey`.execute(db)
  await sql`ALTER TABLE attempt ADD CONSTRAINT attempt_pkey PRIMARY KEY (id)`.execute(db)
  await sql`CREATE INDEX attempt_work_unit ON attempt (work_unit_id)`.execute(db)
  await sql`DROP FUNCTION IF EXISTS complete_attempts, chained_outputs`.execute(db)
  // So that opening the schema again installs the stored functions this one dropped.
  await sql`UPDATE coordinate_stored_functions SET hash = ''`.execute(db)
  await sql`ALTER TABLE attempt ADD COLUMN active boolean NOT NULL DEFAULT true`.execute(db)
  await sql`UPDATE attempt SET active = (status = 'pending')`.execute(db)
  await sql`CREATE INDEX attempt_worker_active ON attempt (worker_id) WHERE active`.execute(db)
  await sql`ALTER TABLE attempt RESET (fillfactor)`.execute(db)
  await sql`ALTER TABLE work_unit SET (fillfactor = 80)`.execute(db)
}
