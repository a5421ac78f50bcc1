import { type RawBuilder, sql } from 'kysely'

/**
 * Sends these payloads on `channel` in one statement. A notification carries no data to keep,
 * so its commit need not wait for a WAL flush.
 */
export function notifySql(channel: string, payloads: readonly string[]): RawBuilder<unknown> {
  return sql`SELECT set_config('synchronous_commit', 'off', true), pg_notify(${channel}, p)
          FROM unnest(${payloads}::text[]) AS p`
}
