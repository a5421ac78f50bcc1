import { type RawBuilder, sql } from 'kysely'

// The path locks' statements (src/postgres/locks.ts runs them, inside one serialised
// transaction per operation except readlock).

/** Whatever default_transaction_isolation says: each statement sees what committed before it. */
export const READ_COMMITTED_SQL = sql`SET TRANSACTION ISOLATION LEVEL READ COMMITTED`

/** Serialises lock operations of this schema across every daemon (keyed by schema too). */
export const LOCK_TABLE_SQL = sql`SELECT pg_advisory_xact_lock(hashtext('coordinate-ts path_lock'), hashtext(current_schema()))`

/** Forgets the locks whose deadline has passed. */
export function deleteExpiredLocksSql(now: Date): RawBuilder<unknown> {
  return sql`DELETE FROM path_lock WHERE deadline < ${now}`
}

/**
 * The 1-based positions of the keys that a held lock blocks: a lock on the path itself or
 * below it (a range scan [key, upper)), or on one of its proper prefixes (equality; `prefixOf`
 * names the position each prefix key belongs to).
 */
export function blockedLocksSql(
  keys: readonly Buffer[],
  upperBounds: readonly Buffer[],
  prefixOf: readonly number[],
  prefixKeys: readonly Buffer[],
): RawBuilder<{ i: number }> {
  return sql<{ i: number }>`
        SELECT p.i::int AS i
        FROM unnest(${keys}::bytea[], ${upperBounds}::bytea[]) WITH ORDINALITY AS p (key, upper, i)
        WHERE EXISTS (SELECT 1 FROM path_lock l WHERE l.key >= p.key AND l.key < p.upper)
        UNION
        SELECT q.i
        FROM unnest(${prefixOf}::int[], ${prefixKeys}::bytea[]) AS q (i, key)
        WHERE EXISTS (SELECT 1 FROM path_lock l WHERE l.key = q.key)`
}

/** The owners of the locks on exactly these keys. */
export function lockOwnersSql(keys: readonly Buffer[]): RawBuilder<{ key: Buffer; owner: string }> {
  return sql<{ key: Buffer; owner: string }>`SELECT key, owner FROM path_lock WHERE key = ANY(${keys}::bytea[])`
}

/** The owners of the locks on exactly these keys still running at `now`. */
export function liveLockOwnersSql(keys: readonly Buffer[], now: Date): RawBuilder<{ key: Buffer; owner: string }> {
  return sql<{ key: Buffer; owner: string }>`
      SELECT key, owner FROM path_lock WHERE key = ANY(${keys}::bytea[]) AND deadline >= ${now}`
}

/** Takes locks on these keys for `owner` until `deadline`. */
export function insertLocksSql(keys: readonly Buffer[], owner: string, deadline: Date): RawBuilder<unknown> {
  return sql`INSERT INTO path_lock (key, owner, deadline) SELECT k, ${owner}, ${deadline} FROM unnest(${keys}::bytea[]) AS k`
}

/** Moves the deadline of the locks on these keys. */
export function renewLocksSql(keys: readonly Buffer[], deadline: Date): RawBuilder<unknown> {
  return sql`UPDATE path_lock SET deadline = ${deadline} WHERE key = ANY(${keys}::bytea[])`
}

/** Releases the locks on these keys. */
export function deleteLocksSql(keys: readonly Buffer[]): RawBuilder<unknown> {
  return sql`DELETE FROM path_lock WHERE key = ANY(${keys}::bytea[])`
}

/** Releases every lock with a key in [key, upper) and counts them. */
export function deleteLockRangeSql(key: Buffer, upper: Buffer): RawBuilder<{ count: number }> {
  return sql<{ count: number }>`
          WITH deleted AS (
            DELETE FROM path_lock WHERE key >= ${key} AND key < ${upper} RETURNING 1
          )
          SELECT count(*)::int AS count FROM deleted`
}
