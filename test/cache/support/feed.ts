import pg from 'pg'
import type { ChangeEvent, ChangeFeed } from '../../../src/coordinate/change-feed.js'
import { encodeData } from '../../../src/coordinate/cbor-data.js'
import type { DataDict } from '../../../src/coordinate/data.js'
import { withSchemaClient } from '../../support/schema-client.js'

/**
 * Resolves with the first event `match` accepts. Subscribed after the cache, so by the time it
 * resolves the cache has already handled the event (the feed calls subscribers in order).
 */
export function nextEvent(feed: ChangeFeed, match: (event: ChangeEvent) => boolean): Promise<ChangeEvent> {
  return nthEvent(feed, match, 1)
}

/** Resolves with the nth event `match` accepts (subscribed after the cache, like nextEvent). */
export function nthEvent(feed: ChangeFeed, match: (event: ChangeEvent) => boolean, n: number): Promise<ChangeEvent> {
  let seen = 0
  return new Promise((resolve) => {
    const stop = feed.subscribe((event) => {
      if (match(event) && ++seen === n) {
        stop()
        resolve(event)
      }
    })
  })
}

/** A change feed the test drives by hand. */
export class ManualFeed implements ChangeFeed {
  readonly #listeners = new Set<(event: ChangeEvent) => void>()

  /** Subscribes a listener. */
  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Delivers an event to every listener, as the real feed does (a listener's throw is swallowed there too). */
  emit(event: ChangeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // The real feed isolates subscribers the same way.
      }
    }
  }

  /** How many listeners are subscribed. */
  get size(): number {
    return this.#listeners.size
  }
}

/**
 * Writes a unit's data in a session with notifications turned off (`SET coordinate.notify =
 * off`), bumping its version as every write does: a change whose notification is lost.
 */
export async function silentSetUnitData(url: string, namespace: string, spec: string, key: string, data: DataDict): Promise<void> {
  await withSchemaClient(url, async (client) => {
    await client.query('SET coordinate.notify = off')
    const { rowCount } = await client.query(
      `UPDATE work_unit SET data = $1, version = version + 1
       WHERE name = $2 AND work_spec_id = (
         SELECT s.id FROM work_spec s JOIN namespace n ON n.id = s.namespace_id WHERE n.name = $3 AND s.name = $4)`,
      [Buffer.from(encodeData(data)), Buffer.from(key, 'utf8'), namespace, spec],
    )
    if (rowCount !== 1) throw new Error(`silentSetUnitData updated ${rowCount} rows`)
  })
}

/** Kills every LISTEN connection of coordinate-ts on the database of `url`; returns how many. */
export async function killListeners(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rowCount } = await client.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'coordinate-listen' AND datname = current_database()",
    )
    return rowCount ?? 0
  } finally {
    await client.end()
  }
}

/** How many LISTEN connections of coordinate-ts are open on the database of `url`. */
export async function countListeners(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::integer AS n FROM pg_stat_activity WHERE application_name = 'coordinate-listen' AND datname = current_database()",
    )
    return rows[0]?.n ?? 0
  } finally {
    await client.end()
  }
}
