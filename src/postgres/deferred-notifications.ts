import type { Kysely } from 'kysely'
import { notifySql } from './sql/notify.js'

// The same limits as the notify trigger (migrations/0001_baseline.ts): list keys only for small changes.
const MAX_KEYS = 20
const MAX_KEY_BYTES = 1500
// How long changes gather before one NOTIFY statement carries them all: a claim-and-finish loop
// makes hundreds of changes a second, and one statement each would double its round trips.
const COALESCE_MS = 2
// The least time from one NOTIFY statement to the next. Under load a new change is always
// waiting, and sending each batch the moment the last one returned cost a round trip for every
// two or three units at batch 1; at 10 ms apart the announcements cost at most 100 statements
// a second per Coordinate, and a busy spec's changes reach other caches within about 10 ms.
const MIN_INTERVAL_MS = 10

interface SpecChange {
  namespace: string
  spec: string
  /** Hex keys, or null once too many to list (any unit of the spec may have changed). */
  keys: Set<string> | null
  bytes: number
}

/**
 * Unit changes announced after their transaction commits instead of inside it. A notifying
 * commit holds Postgres's notification-queue lock through its WAL flush, so every claim and
 * completion announcing itself would serialize all of them; here changes gather for 2 ms, at
 * most one NOTIFY statement per Coordinate is in flight and the next starts no sooner than
 * 10 ms after it, the changes made meanwhile riding along. The payloads are the trigger's, so
 * listeners cannot tell the difference. If the process dies between the commit and the
 * NOTIFY, other caches see the change at their next refresh.
 */
export class DeferredNotifications {
  readonly #pending = new Map<string, SpecChange>()
  #flushing: Promise<void> | undefined
  /** When the last NOTIFY statement went out (performance.now()). */
  #lastSent = -Infinity
  #statements = 0

  constructor(
    private readonly db: Kysely<unknown>,
    private readonly channel: string,
  ) {}

  /** Queues the news that these units of a spec changed, and sends it as soon as it can. */
  unitsChanged(namespace: string, spec: string, keys: Iterable<Uint8Array>): void {
    // Names are Postgres text, which cannot hold NUL, so the pair joined by one is unambiguous.
    const id = `${namespace}\0${spec}`
    let change = this.#pending.get(id)
    if (!change) {
      change = { namespace, spec, keys: new Set(), bytes: 0 }
      this.#pending.set(id, change)
    }
    for (const key of keys) {
      if (change.keys === null) break
      change.keys.add(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex'))
      change.bytes += key.length
      if (change.keys.size > MAX_KEYS || change.bytes > MAX_KEY_BYTES) change.keys = null
    }
    this.#flushing ??= this.#flushSoon().finally(() => {
      this.#flushing = undefined
    })
  }

  /** How many NOTIFY statements this has sent so far. */
  get statementsSent(): number {
    return this.#statements
  }

  /** Resolves once everything queued so far has been sent (or failed to be). */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing
  }

  async #flushSoon(): Promise<void> {
    await sleep(COALESCE_MS)
    while (this.#pending.size > 0) {
      const wait = this.#lastSent + MIN_INTERVAL_MS - performance.now()
      if (wait > 0) await sleep(wait)
      this.#lastSent = performance.now()
      this.#statements++
      const payloads = [...this.#pending.values()].map(({ namespace, spec, keys }) =>
        JSON.stringify({ t: 'u', n: namespace, s: spec, k: keys && [...keys] }),
      )
      this.#pending.clear()
      try {
        await notifySql(this.channel, payloads).execute(this.db)
      } catch {
        // The pool is closing or the server went away; listeners resync when they reconnect.
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
