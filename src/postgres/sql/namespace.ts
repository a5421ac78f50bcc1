import { type RawBuilder, sql } from 'kysely'
import { encodeData } from '../../coordinate/cbor-data.js'

// Statements on namespaces and the workers they hold by name (src/postgres/coordinate.ts and
// namespace.ts run them).

/**
 * Gets or creates a namespace by name in one statement. An insert racing ours and committing
 * after our snapshot makes both halves come back empty: the caller then tries again.
 */
export function namespaceIdSql(name: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
        WITH inserted AS (
          INSERT INTO namespace (name) VALUES (${name}) ON CONFLICT (name) DO NOTHING RETURNING id
        )
        SELECT id::text FROM inserted
        UNION ALL
        SELECT id::text FROM namespace WHERE name = ${name}
        LIMIT 1`
}

/** Every namespace, sorted by name. */
export const NAMESPACES_SQL = sql<{ id: string; name: string }>`SELECT id::text, name FROM namespace ORDER BY name`

/** Deletes a namespace; everything in it goes by cascade. */
export function deleteNamespaceSql(namespaceId: string): RawBuilder<unknown> {
  return sql`DELETE FROM namespace WHERE id = ${namespaceId}`
}

/**
 * Gets or creates a worker by name (new: active, mode "", empty data); empty when a racing
 * insert hid both halves, as for namespaces.
 */
export function workerIdSql(namespaceId: string, name: string, now: Date, expiration: Date): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
        WITH inserted AS (
          INSERT INTO worker (namespace_id, name, data, expiration, last_update)
          VALUES (${namespaceId}, ${name}, ${encodeData({})}, ${expiration}, ${now})
          ON CONFLICT (namespace_id, name) DO NOTHING RETURNING id
        )
        SELECT id::text FROM inserted
        UNION ALL
        SELECT id::text FROM worker WHERE namespace_id = ${namespaceId} AND name = ${name}
        LIMIT 1`
}

/** A namespace's workers, sorted by name. */
export function workersSql(namespaceId: string): RawBuilder<{ id: string; name: string }> {
  return sql<{ id: string; name: string }>`SELECT id::text, name FROM worker WHERE namespace_id = ${namespaceId} ORDER BY name`
}
