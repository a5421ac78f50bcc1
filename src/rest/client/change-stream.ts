import { createParser } from 'eventsource-parser'
import type { ChangeEvent, ChangeFeed } from '../../coordinate/change-feed.js'
import { decodeKey } from '../names.js'
import type { RestTransport } from './transport.js'

const RECONNECT_MIN_MS = 100
const RECONNECT_MAX_MS = 5_000

/**
 * The server's change feed over server-sent events. One stream serves every subscriber; it is
 * opened by the first and closed with the last (or by close()). After the stream drops it
 * reconnects with backoff and emits `resync`, since events sent meanwhile are lost.
 */
export class RestChangeFeed implements ChangeFeed {
  readonly #transport: RestTransport
  readonly #namespaces: readonly string[] | undefined
  readonly #onClose: () => void
  readonly #listeners = new Set<(event: ChangeEvent) => void>()
  #abort: AbortController | undefined
  #loop: Promise<void> | undefined
  #live = false
  #waiters: (() => void)[] = []

  constructor(transport: RestTransport, namespaces: readonly string[] | undefined, onClose: () => void) {
    this.#transport = transport
    this.#namespaces = namespaces
    this.#onClose = onClose
  }

  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (event: ChangeEvent) => void): () => void {
    this.#listeners.add(listener)
    if (this.#loop === undefined) {
      this.#abort = new AbortController()
      this.#loop = this.#run(this.#abort.signal)
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) void this.close()
    }
  }

  /** Resolves once the stream is live (the server has subscribed it to its feed). */
  ready(): Promise<void> {
    if (this.#live || this.#loop === undefined) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Ends the stream. */
  async close(): Promise<void> {
    this.#abort?.abort()
    const loop = this.#loop
    this.#loop = undefined
    this.#live = false
    this.#release()
    await loop
    this.#onClose()
  }

  async #run(signal: AbortSignal): Promise<void> {
    let delay = RECONNECT_MIN_MS
    let first = true
    while (!signal.aborted) {
      try {
        const response = await this.#transport.stream('/events', { namespace: this.#namespaces }, signal)
        const parser = createParser({
          onEvent: (message) => {
            if (message.event === 'ready') {
              this.#live = true
              this.#release()
              if (!first) this.#emit({ kind: 'resync' })
              first = false
              delay = RECONNECT_MIN_MS
            } else if (message.event === 'change') {
              const event = changeEventFromJson(message.data)
              if (event !== undefined) this.#emit(event)
            }
          },
        })
        for await (const chunk of response.body) parser.feed(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'))
      } catch {
        // Refused, timed out or dropped: reconnect below.
      }
      this.#live = false
      if (signal.aborted) return
      await sleep(delay, signal)
      delay = Math.min(delay * 2, RECONNECT_MAX_MS)
    }
  }

  #emit(event: ChangeEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A failing listener must not stop the others or the stream.
      }
    }
  }

  #release(): void {
    for (const resolve of this.#waiters.splice(0)) resolve()
  }
}

/** A change event from the JSON of an SSE `change` frame (undefined if it is not one). */
export function changeEventFromJson(text: string): ChangeEvent | undefined {
  let e: Record<string, unknown>
  try {
    e = JSON.parse(text) as Record<string, unknown>
  } catch {
    return undefined
  }
  const namespace = String(e.namespace)
  switch (e.kind) {
    case 'work-units':
      return { kind: 'work-units', namespace, workSpec: String(e.work_spec), keys: Array.isArray(e.keys) ? e.keys.map((k) => decodeKey(String(k))) : null }
    case 'work-spec':
      return { kind: 'work-spec', namespace, workSpec: String(e.work_spec) }
    case 'namespace':
      return { kind: 'namespace', namespace }
    case 'resync':
      return { kind: 'resync' }
    default:
      return undefined
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })
}
