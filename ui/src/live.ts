import { createParser } from 'eventsource-parser'
import { useEffect, useRef, useState } from 'preact/hooks'
import { authHeaders, onTokenSet } from './api.js'

// Live updates: one server-sent-event stream per tab, read with fetch (EventSource cannot send
// the bearer token). Pages do not apply events one by one: an event only marks their data stale,
// and they reload it at most once per COALESCE_MS, so a burst of thousands of changes costs a
// couple of reloads rather than thousands of renders.

/** A change event as the API's /events stream sends it. */
export interface ChangeMessage {
  kind: 'work-units' | 'work-spec' | 'namespace' | 'resync'
  namespace?: string
  work_spec?: string
}

type ChangeListener = (change: ChangeMessage) => void
const listeners = new Set<ChangeListener>()
let started = false
let connected = false
const statusListeners = new Set<(connected: boolean) => void>()

const COALESCE_MS = 400
const RECONNECT_MS = [500, 1000, 2000, 5000]

/** Calls `listener` with every change until the returned function is called. */
export function subscribe(listener: ChangeListener): () => void {
  listeners.add(listener)
  if (!started) {
    started = true
    void connect(0)
  }
  return () => listeners.delete(listener)
}

function emit(change: ChangeMessage): void {
  for (const listener of listeners) listener(change)
}

function setConnected(value: boolean): void {
  connected = value
  for (const listener of statusListeners) listener(value)
}

/** Whether the live stream is connected, following changes. */
export function useLiveStatus(): boolean {
  const [value, setValue] = useState(connected)
  useEffect(() => {
    statusListeners.add(setValue)
    return () => statusListeners.delete(setValue)
  }, [])
  return value
}

async function connect(failures: number): Promise<void> {
  let opened = false
  try {
    const response = await fetch('/events', { headers: { Accept: 'text/event-stream', ...authHeaders() } })
    if (response.status === 401) {
      // Wait for a token rather than hammering the server.
      const off = onTokenSet(() => {
        off()
        void connect(0)
      })
      return
    }
    if (!response.ok || response.body === null) throw new Error(`events: HTTP ${response.status}`)
    opened = true
    setConnected(true)
    // Events may have been missed while disconnected: everything is stale.
    emit({ kind: 'resync' })
    await readEvents(response.body)
  } catch {
    // Reconnect below.
  }
  setConnected(false)
  const delay = RECONNECT_MS[Math.min(opened ? 0 : failures, RECONNECT_MS.length - 1)] ?? 5000
  setTimeout(() => void connect(opened ? 0 : failures + 1), delay)
}

async function readEvents(body: ReadableStream<Uint8Array>): Promise<void> {
  const parser = createParser({ onEvent: (event) => event.event === 'change' && dispatchChange(event.data) })
  const reader = body.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    parser.feed(decoder.decode(value, { stream: true }))
  }
}

function dispatchChange(data: string): void {
  try {
    emit(JSON.parse(data) as ChangeMessage)
  } catch {
    // A frame we cannot read is skipped; the next resync covers it.
  }
}

/** What a page's data loader returns over time. */
export interface LiveData<T> {
  data: T | undefined
  error: Error | undefined
  /** Reloads at once (after an action). */
  reload: () => void
}

/**
 * Loads data now and again whenever a relevant change arrives, at most once per COALESCE_MS
 * and never two loads at once. The loader is re-run from scratch when `deps` change.
 */
export function useLive<T>(load: () => Promise<T>, deps: unknown[], relevant: (change: ChangeMessage) => boolean): LiveData<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined }>({ data: undefined, error: undefined })
  const control = useRef({ running: false, again: false, last: 0, timer: 0 as ReturnType<typeof setTimeout> | 0, generation: 0 })
  const loadRef = useRef(load)
  loadRef.current = load
  const relevantRef = useRef(relevant)
  relevantRef.current = relevant

  const run = (): void => {
    const c = control.current
    if (c.running) {
      c.again = true
      return
    }
    c.running = true
    c.again = false
    c.last = performance.now()
    const generation = c.generation
    loadRef.current().then(
      (data) => generation === c.generation && setState({ data, error: undefined }),
      (error: unknown) => generation === c.generation && setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)) })),
    ).finally(() => {
      if (generation !== c.generation) return
      c.running = false
      if (c.again) schedule()
    })
  }

  const schedule = (): void => {
    const c = control.current
    if (c.timer !== 0) return
    const wait = Math.max(0, COALESCE_MS - (performance.now() - c.last))
    c.timer = setTimeout(() => {
      c.timer = 0
      run()
    }, wait)
  }

  useEffect(() => {
    const c = control.current
    c.generation++
    c.running = false
    setState({ data: undefined, error: undefined })
    run()
    const off = subscribe((change) => {
      if (change.kind === 'resync' || relevantRef.current(change)) schedule()
    })
    const offToken = onTokenSet(run)
    return () => {
      off()
      offToken()
      if (c.timer !== 0) clearTimeout(c.timer)
      c.timer = 0
    }
  }, deps)

  return { ...state, reload: run }
}
