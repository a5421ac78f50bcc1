import { type Kysely, sql } from 'kysely'

// A unit's state and an attempt's status keep their values and stay text, but the rule on
// their values moves from a CHECK constraint of the table to a domain type of the column.
//
// Postgres prepares a table's CHECK constraints again for every statement that writes the
// table: it parses each from its stored text and plans it. A claim and a completion write both
// tables, so under a batch-1 claim loop that was 4 % of the server's CPU. A domain's check is
// parsed and planned once per session (the type cache keeps it) and still refuses a bad value
// with check_violation, whichever statement writes it.
//
// Done in this order so that no table is rewritten: a column changed to a domain that has no
// constraint yet keeps its storage (text and the domain are the same bytes), and adding the
// constraint to the domain then only reads the rows to check them. The index on pending
// attempts names `status` in its predicate and is rebuilt; it holds only the leases out.

const statements = [
  `CREATE DOMAIN work_unit_state AS text`,
  `CREATE DOMAIN attempt_status AS text`,
  `ALTER TABLE work_unit ALTER COLUMN state TYPE work_unit_state`,
  `ALTER TABLE attempt ALTER COLUMN status TYPE attempt_status`,
  `ALTER DOMAIN work_unit_state ADD CONSTRAINT work_unit_state_check CHECK (VALUE IN ('available', 'pending', 'finished', 'failed'))`,
  `ALTER DOMAIN attempt_status ADD CONSTRAINT attempt_status_check CHECK (VALUE IN ('pending', 'expired', 'finished', 'failed', 'retryable'))`,
  `ALTER TABLE work_unit DROP CONSTRAINT work_unit_state_check`,
  `ALTER TABLE attempt DROP CONSTRAINT attempt_status_check`,
]

/** Moves the rule on unit states and attempt statuses from table constraints to domains. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Puts the table constraints back and the columns back to plain text. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE work_unit ADD CONSTRAINT work_unit_state_check CHECK (state IN ('available', 'pending', 'finished', 'failed'))`.execute(db)
  await sql`ALTER TABLE attempt ADD CONSTRAINT attempt_status_check CHECK (status IN ('pending', 'expired', 'finished', 'failed', 'retryable'))`.execute(db)
  await sql`ALTER TABLE work_unit ALTER COLUMN state TYPE text`.execute(db)
  await sql`ALTER TABLE attempt ALTER COLUMN status TYPE text`.execute(db)
  await sql`DROP DOMAIN work_unit_state, attempt_status`.execute(db)
}
