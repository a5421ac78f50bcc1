import type { ChangeEvent, ChangeFeed } from '../coordinate/change-feed.js'
import { DatabaseHealth } from './database-health.js'

/** One live LISTEN session: notifications arrive through `onPayload` until it ends. */
export interface ListenSession {
  /** Resolves when the session has ended (connection lost or closed). */
  ended: Promise<void>
  close(): Promise<void>
}

/** Opens a LISTEN session on a channel, delivering each payload to `onPayload`. */
export type ListenConnector = (channel: string, onPayload: (payload: string) => void) => Promise<ListenSession>

/** The name the LISTEN connection reports to DatabaseHealth under. */
const LISTEN = 'listen'

/** How long to wait before reconnecting, doubling per failure up to the maximum (ms). */
const RECONNECT_MIN_MS = 100
const RECONNECT_MAX_MS = 5_000

/**
 * The change feed of one database schema: one dedicated LISTEN connection, opened when the
 * first subscriber arrives and closed with the last. When the connection drops it reconnects
 * with backoff and then tells subscribers to resync, since notifications sent meanwhile are lost.
 */
export class PostgresChangeFeed implements ChangeFeed {
  readonly #connect: ListenConnector
  readonly #channel: string
  readonly #listeners = new Set<(event: ChangeEvent) => void>()
  #session: ListenSession | undefined
  #running = false
  #generation = 0
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined

  /** @internal Made by openCoordinate(). */
  constructor(
    connect: ListenConnector,
    channel: string,
    /** Where losing and regaining the LISTEN connection is reported. */
    private readonly health = new DatabaseHealth(),
  ) {
    this.#connect = connect
    this.#channel = channel
  }

  /** Subscribes to changes; the first subscriber starts the LISTEN connection. */
  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#listeners.add(listener)
    if (!this.#running) {
      this.#running = true
      this.#loop = this.#run(++this.#generation)
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) void this.close()
    }
  }

  /** Resolves once the LISTEN connection is up (for tests and start-up ordering). */
  async ready(): Promise<void> {
    while (this.#running && !this.#session) await new Promise((resolve) => setTimeout(resolve, 5).unref())
  }

  /** Whether the LISTEN connection is up now (for readiness checks). */
  get listening(): boolean {
    return this.#session !== undefined
  }

  /** Ends the LISTEN connection; pending reconnects stop. */
  async close(): Promise<void> {
    this.#running = false
    // The loop in flight stops at its next step, even if a subscriber starts a new one meanwhile.
    this.#generation++
    this.#wake?.()
    const session = this.#session
    const loop = this.#loop
    this.#session = undefined
    await session?.close().catch(() => undefined)
    await loop
  }

  // One loop per period between the first subscriber and the last (`generation`): a loop whose
  // period was closed, even while it awaited, touches nothing, so unsubscribing and subscribing
  // again at once cannot leave two loops (two LISTEN connections) or a closing session that
  // ready() takes for a live one.
  async #run(generation: number): Promise<void> {
    // close() moves the generation on, so a loop of an earlier period is never current.
    const current = (): boolean => generation === this.#generation
    let delay = RECONNECT_MIN_MS
    let first = true
    while (current()) {
      try {
        const session = await this.#connect(this.#channel, (payload) => this.#deliver(payload))
        if (!current()) {
          await session.close()
          return
        }
        this.#session = session
        this.health.ok(LISTEN, { resync: 'notifications sent meanwhile are lost; subscribers resync' })
        if (!first) this.#emit({ kind: 'resync' })
        first = false
        delay = RECONNECT_MIN_MS
        await session.ended
        if (current()) this.health.lost(LISTEN, new Error('LISTEN connection ended'))
      } catch (error) {
        // Connection refused or lost while connecting: retry below.
        if (!first && current()) this.health.lost(LISTEN, error)
      }
      if (!current()) return
      this.#session = undefined
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        setTimeout(resolve, delay).unref()
      })
      delay = Math.min(delay * 2, RECONNECT_MAX_MS)
    }
  }

  #deliver(payload: string): void {
    const event = parsePayload(payload)
    if (event) this.#emit(event)
  }

  #emit(event: ChangeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A subscriber's bug must not stop the others from hearing of the change.
      }
    }
  }
}

/** Reads a payload sent by the notify triggers (migrations/0001_baseline.ts); unknown shapes are ignored. */
export function parsePayload(payload: string): ChangeEvent | undefined {
  let message: { t?: unknown; n?: unknown; s?: unknown; k?: unknown }
  try {
    message = JSON.parse(payload) as typeof message
  } catch {
    return undefined
  }
  if (typeof message.n !== 'string') return undefined
  if (message.t === 'n') return { kind: 'namespace', namespace: message.n }
  if (typeof message.s !== 'string') return undefined
  if (message.t === 's') return { kind: 'work-spec', namespace: message.n, workSpec: message.s }
  if (message.t !== 'u') return undefined
  const keys = Array.isArray(message.k)
    ? message.k.filter((k): k is string => typeof k === 'string').map((hex) => new Uint8Array(Buffer.from(hex, 'hex')))
    : null
  return { kind: 'work-units', namespace: message.n, workSpec: message.s, keys }
}
