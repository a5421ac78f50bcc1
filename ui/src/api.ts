// Requests to the daemon's HTTP API, with the bearer token kept in this tab's session storage.

const TOKEN_KEY = 'coordinate.token'

/** An answer other than 2xx, with the API's error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

type Listener = () => void
const tokenListeners = new Set<Listener>()

/** The token this tab has, if any. */
export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

/** Keeps the token for this tab and tells whoever waits for one. */
export function setToken(value: string): void {
  sessionStorage.setItem(TOKEN_KEY, value)
  for (const listener of tokenListeners) listener()
}

/** Calls `listener` when a token is set; returns the unsubscribe function. */
export function onTokenSet(listener: Listener): () => void {
  tokenListeners.add(listener)
  return () => tokenListeners.delete(listener)
}

const authListeners = new Set<Listener>()

/** Calls `listener` whenever the API refuses this tab's token (or its lack of one). */
export function onAuthNeeded(listener: Listener): () => void {
  authListeners.add(listener)
  return () => authListeners.delete(listener)
}

/** Headers every request carries. */
export function authHeaders(): Record<string, string> {
  const value = token()
  return value === null ? {} : { Authorization: `Bearer ${value}` }
}

/** Sends one request and returns its JSON answer (undefined for 204). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const response = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body) })
  if (response.status === 401) {
    for (const listener of authListeners) listener()
  }
  if (!response.ok) {
    let code = 'HTTP_' + response.status
    let message = response.statusText
    try {
      const error = (await response.json()) as { error?: string; message?: string }
      code = error.error ?? code
      message = error.message ?? message
    } catch {
      // Not a JSON error body: keep the status line.
    }
    throw new ApiError(response.status, code, message)
  }
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

/** Builds a query string from repeatable parameters, leaving out empty values. */
export function query(params: Record<string, string | readonly string[] | undefined | null>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue
    for (const item of typeof value === 'string' ? [value] : value) search.append(name, item)
  }
  const text = search.toString()
  return text === '' ? '' : '?' + text
}
