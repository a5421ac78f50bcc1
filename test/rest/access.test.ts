import { describe, expect, it } from 'vitest'
import type { Coordinate } from '../../src/coordinate/api.js'
import { DaemonMetrics } from '../../src/rest/daemon-metrics.js'
import { restCoordinate } from '../../src/rest/index.js'
import { HttpError } from '../../src/rest/errors.js'
import { send, startTestApi } from './support.js'

// Access control: the bearer token, the Host check against DNS rebinding, CORS only when
// configured, and no internals in error answers.
const TOKEN = 's3cret-token-0123456789'

// summarize() fails with an internal error whose message must not reach the client.
const failingSummary = (inner: Coordinate): Coordinate =>
  Object.assign(Object.create(inner) as Coordinate, {
    summarize: () => Promise.reject(new Error('connection to 10.1.2.3 refused: internal detail')),
    namespace: (name: string) => inner.namespace(name),
    namespaces: () => inner.namespaces(),
  })

const api = await startTestApi({
  access: { token: TOKEN, allowedHosts: ['coordinate.internal'] },
  corsOrigins: ['https://dashboard.example'],
  metrics: new DaemonMetrics({ defaults: false }),
  wrap: failingSummary,
})
const base = api.url
const auth = { authorization: `Bearer ${TOKEN}` }

describe('bearer token', () => {
  it('refuses requests without the token, or with one a byte off, with 401 and changes nothing', async () => {
    const offByOne = TOKEN.slice(0, -1) + String.fromCharCode(TOKEN.charCodeAt(TOKEN.length - 1) + 1)
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${offByOne}` }, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
      const answer = await send(base, 'POST', '/namespace/auth/work_spec', { headers, json: { data: { name: 's' } } })
      expect(answer.status, JSON.stringify(headers)).toBe(401)
      expect(answer.headers['www-authenticate']).toBe('Bearer')
      expect(answer.body).toMatchObject({ error: 'UNAUTHORIZED' })
    }
    expect((await send(base, 'GET', '/namespace/auth/work_spec', { headers: auth })).body).toEqual({ work_specs: [] })
  })

  it('lets /healthz through without the token, but not /metrics, /readyz, /events or unknown routes', async () => {
    expect((await send(base, 'GET', '/healthz')).status).toBe(200)
    for (const path of ['/metrics', '/readyz', '/events', '/no/such/route']) expect((await send(base, 'GET', path)).status, path).toBe(401)
    expect((await send(base, 'GET', '/metrics', { headers: auth })).status).toBe(200)
  })

  it('is sent by restCoordinate, whose calls fail typed without it', async () => {
    const good = restCoordinate(base, { token: TOKEN })
    const bad = restCoordinate(base, { token: 'wrong' })
    try {
      expect((await good.namespace('client')).name).toBe('client')
      const error = await bad.namespace('client').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(HttpError)
      expect(error).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' })
    } finally {
      await good.close()
      await bad.close()
    }
  })
})

describe('Host check', () => {
  it('refuses Host names that are neither the bound address nor allowed, with 403', async () => {
    const port = new URL(base).port
    for (const host of ['evil.example', `evil.example:${port}`, 'coordinate.internal.evil.example', '']) {
      const answer = await send(base, 'GET', '/healthz', { headers: { host } })
      expect(answer.status, host).toBe(403)
      expect(answer.body).toMatchObject({ error: 'FORBIDDEN_HOST' })
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `coordinate.internal:${port}`, 'COORDINATE.INTERNAL']) {
      expect((await send(base, 'GET', '/healthz', { headers: { host } })).status, host).toBe(200)
    }
  })
})

describe('CORS', () => {
  it('answers configured origins only, preflights included', async () => {
    const allowed = await send(base, 'GET', '/healthz', { headers: { origin: 'https://dashboard.example' } })
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.example')
    const other = await send(base, 'GET', '/healthz', { headers: { origin: 'https://evil.example' } })
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
    const preflight = await send(base, 'OPTIONS', '/namespace', { headers: { origin: 'https://dashboard.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } })
    expect(preflight.status).toBe(204)
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('Authorization')
  })
})

describe('internal errors', () => {
  it('answer 500 with a generic message: no stack, no internal detail; the server keeps serving', async () => {
    const answer = await send(base, 'GET', '/summary', { headers: auth })
    expect(answer.status).toBe(500)
    expect(answer.body).toEqual({ error: 'INTERNAL', message: 'internal error; see the server log' })
    expect(answer.text).not.toContain('10.1.2.3')
    expect((await send(base, 'GET', '/namespace', { headers: auth })).status).toBe(200)
  })
})
