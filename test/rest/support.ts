import { afterAll } from 'vitest'
import { request } from 'undici'
import { cacheCoordinate } from '../../src/cache/index.js'
import type { Coordinate } from '../../src/coordinate/api.js'
import { type RestAppOptions, type RestServer, startRestServer } from '../../src/rest/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

/** An HTTP answer, its body parsed when it is JSON. */
export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
  text: string
}

/** Sends one raw request (any headers, any body) and reads the whole answer. */
export async function send(
  base: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS',
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer; json?: unknown } = {},
): Promise<Answer> {
  const headers = { ...options.headers }
  let body = options.body
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers['content-type'] ??= 'application/json'
  }
  const response = await request(`${base}${path}`, { method, headers, body })
  const text = await response.body.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.statusCode, headers: response.headers, body: parsed, text }
}

/** A REST server over a cache over this file's Postgres database, closed after the file. */
export async function startTestApi(options: Partial<RestAppOptions> & { wrap?: (c: Coordinate) => Coordinate } = {}) {
  const target = await openTestCoordinate()
  const cache = cacheCoordinate(target.coordinate, { clock: target.clock, changes: target.coordinate.changes(), closeBackend: false })
  const served = options.wrap ? options.wrap(cache) : cache
  const server: RestServer = await startRestServer({
    coordinate: served,
    clock: target.clock,
    changes: target.coordinate.changes(),
    host: '127.0.0.1',
    port: 0,
    ...options,
  })
  afterAll(async () => {
    await server.close()
    await cache.close()
  })
  return { ...target, cache, server, url: server.url }
}

/** Sends a GET over a bare socket, so the path reaches the server exactly as written (dot segments too). */
export async function sendRawGet(base: string, path: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(base)
  const { connect } = await import('node:net')
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`))
    let received = ''
    socket.on('data', (chunk) => (received += chunk.toString('utf8')))
    socket.on('end', () => resolve(received))
    socket.on('error', reject)
  })
  const [head = '', body = ''] = text.split('\r\n\r\n', 2)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  return { status: Number(head.split(' ')[1]), body: parsed }
}
