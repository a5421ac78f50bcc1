import { type Kysely, sql } from 'kysely'

// The hierarchical locks of the jobserver's lock methods, shared by every daemon on the store.
// Only locked paths have rows; go's intermediate tree nodes are implicit. `key` is the path's
// labels, each in canonical CBOR, concatenated (src/postgres/locks.ts): because a CBOR item is
// self-delimiting, one path is a label-wise prefix of another exactly when its key is a byte
// prefix of the other's, so "is an ancestor locked" is an equality lookup on the primary key
// and "is a descendant locked" is a range scan on it (bytea sorts bytewise).

const statements = [
  `
    CREATE TABLE path_lock (
        key bytea PRIMARY KEY,
        owner text NOT NULL,
        deadline timestamptz NOT NULL
      )
  `,
  `
    -- Every lock operation first deletes the locks whose deadline has passed.
      CREATE INDEX path_lock_deadline ON path_lock (deadline)
  `,
]

/** Creates the lock table. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per call: PGlite's extended protocol takes a single statement.
  for (const statement of statements) await sql.raw(statement).execute(db)
}

/** Drops what 0002 created. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE path_lock`.execute(db)
}
