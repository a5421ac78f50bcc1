import { Agent, type Dispatcher, request } from 'undici'
import { ClosedError, CoordinateError } from '../../coordinate/errors.js'
import { errorFromBody } from '../errors.js'

/** How restCoordinate reaches the server. */
export interface RestClientOptions {
  /** Sent as `Authorization: Bearer <token>` (default: $COORDINATE_HTTP_TOKEN, if set). */
  token?: string
  /** Longest wait for a response's headers, and for gaps in its body, in ms (default 30,000). */
  timeoutMs?: number
  /** Most keep-alive connections to the server (default 16). */
  connections?: number
  /** An undici dispatcher of your own (connections and timeouts are then its business). */
  dispatcher?: Dispatcher
}

/** The server could not be reached, or the connection failed mid-request. */
export class TransportError extends CoordinateError {
  constructor(message: string) {
    super('TRANSPORT', message)
  }
}

/** Parameters of one request. */
export interface RequestSpec {
  query?: Record<string, string | readonly string[] | undefined>
  body?: unknown
}

const JSON_TYPE = 'application/json'

/** JSON over HTTP with keep-alive, timeouts and typed errors: the transport under restCoordinate. */
export class RestTransport {
  readonly #base: URL
  readonly #dispatcher: Dispatcher
  readonly #ownDispatcher: boolean
  readonly #headers: Record<string, string>
  readonly #timeoutMs: number
  #closed = false

  constructor(baseUrl: string, options: RestClientOptions = {}) {
    this.#base = new URL(baseUrl)
    this.#ownDispatcher = options.dispatcher === undefined
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: options.connections ?? 16, keepAliveTimeout: 30_000, pipelining: 1 })
    this.#timeoutMs = options.timeoutMs ?? 30_000
    this.#headers = { accept: JSON_TYPE }
    const token = options.token ?? process.env.COORDINATE_HTTP_TOKEN
    if (token) this.#headers.authorization = `Bearer ${token}`
  }

  /** The absolute URL of a path with query parameters. */
  url(path: string, query?: RequestSpec['query']): URL {
    const url = new URL(path, this.#base)
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue
      for (const v of typeof value === 'string' ? [value] : value) url.searchParams.append(name, v)
    }
    return url
  }

  /** Sends one request; resolves to the parsed JSON body (undefined for 204), rejects with the typed error of an error answer. */
  async call(method: Dispatcher.HttpMethod, path: string, spec: RequestSpec = {}): Promise<unknown> {
    if (this.#closed) throw new ClosedError()
    const headers: Record<string, string> = { ...this.#headers }
    let body: string | undefined
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body)
      headers['content-type'] = JSON_TYPE
    }
    let response: Dispatcher.ResponseData
    try {
      response = await request(this.url(path, spec.query), {
        method,
        headers,
        body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      })
    } catch (error) {
      if (this.#closed) throw new ClosedError()
      throw new TransportError(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`)
    }
    const text = await response.body.text()
    const parsed = text === '' ? undefined : parseJson(text)
    if (response.statusCode >= 400) throw errorFromBody(response.statusCode, parsed)
    return parsed
  }

  /** Opens a streaming GET (for server-sent events); the caller reads and ends the body. */
  async stream(path: string, query: RequestSpec['query'], signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    if (this.#closed) throw new ClosedError()
    const response = await request(this.url(path, query), {
      method: 'GET',
      headers: { ...this.#headers, accept: 'text/event-stream' },
      dispatcher: this.#dispatcher,
      headersTimeout: this.#timeoutMs,
      // Keepalive comments come every 15 s; a stream silent for longer than this is dead.
      bodyTimeout: Math.max(this.#timeoutMs, 45_000),
      signal,
    })
    if (response.statusCode !== 200) {
      const text = await response.body.text()
      throw errorFromBody(response.statusCode, text === '' ? undefined : parseJson(text))
    }
    return response
  }

  /** Closes the connections; later calls throw ClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownDispatcher) await this.#dispatcher.close()
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
