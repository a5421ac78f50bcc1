import { describe, expect, it } from 'vitest'
import { encodeData } from '../../src/coordinate/cbor-data.js'
import type { DataValue } from '../../src/coordinate/data.js'
import { send, startTestApi } from './support.js'

// Data sent as base64 CBOR can decode to a dict that may not be stored (here: nested deeper than
// 256). Every route that stores data refuses it before it looks up what its path names, in the
// words the backend uses for it: a lookup answers 404 for a missing target and creates a missing
// namespace, and a client sending bad data to an existing target sees the same message as ever.
const api = await startTestApi({})

// A list nested deeper than data may be (256), which CBOR decoding still accepts (512).
function nested(depth: number): DataValue {
  let value: DataValue = []
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const TOO_DEEP = Buffer.from(encodeData({ deep: nested(300) })).toString('base64')
// What the backend says of TOO_DEEP, named `what`: the walk stops at the 257th level.
const tooDeep = (what: string) => `${what}.deep${'[0]'.repeat(256)} is nested more than 256 deep`

async function namespaceNames(): Promise<string[]> {
  const answer = (await send(api.url, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
  return answer.namespaces.map((ns) => ns.name)
}

type Route = [label: string, method: 'POST' | 'PUT', path: (ns: string, attempt: string) => string, body: (ns: string, attempt: string) => unknown, message: string]

const attemptUrl = (ns: string, attempt: string) => `/namespace/${ns}/work_spec/s/work_unit/u/attempt/${attempt}`
const routes: Route[] = [
  ['PUT U/data', 'PUT', (ns) => `/namespace/${ns}/work_spec/s/work_unit/u/data`, () => ({ data: TOO_DEEP }), tooDeep('data')],
  ['POST A/finish', 'POST', (ns, a) => `${attemptUrl(ns, a)}/finish`, () => ({ data: TOO_DEEP }), tooDeep('data')],
  ['POST A/fail', 'POST', (ns, a) => `${attemptUrl(ns, a)}/fail`, () => ({ data: TOO_DEEP }), tooDeep('data')],
  ['POST A/expire', 'POST', (ns, a) => `${attemptUrl(ns, a)}/expire`, () => ({ data: TOO_DEEP }), tooDeep('data')],
  ['POST A/renew', 'POST', (ns, a) => `${attemptUrl(ns, a)}/renew`, () => ({ extend_ms: 1000, data: TOO_DEEP }), tooDeep('data')],
  ['POST A/retry', 'POST', (ns, a) => `${attemptUrl(ns, a)}/retry`, () => ({ data: TOO_DEEP }), tooDeep('data')],
  ['PUT W', 'PUT', (ns) => `/namespace/${ns}/worker/w`, () => ({ active: true, data: TOO_DEEP }), tooDeep('worker data')],
  [
    'POST N/complete_attempts',
    'POST',
    (ns) => `/namespace/${ns}/complete_attempts`,
    (ns, a) => ({ completions: [{ attempt_url: attemptUrl(ns, a), status: 'finished', data: TOO_DEEP }] }),
    tooDeep('completion 0 data'),
  ],
  [
    'POST N/renew_attempts',
    'POST',
    (ns) => `/namespace/${ns}/renew_attempts`,
    (ns, a) => ({ renewals: [{ attempt_url: attemptUrl(ns, a), extend_ms: 1000, data: TOO_DEEP }] }),
    tooDeep('data'),
  ],
]

describe('CBOR data that decodes but may not be stored', () => {
  it.each(routes.map((r, i) => [...r, `stored-unseen${i}`] as const))('%s to a missing target: 400, and no namespace appears', async (_label, method, path, body, message, ns) => {
    const answer = await send(api.url, method, path(ns, 'x'), { json: body(ns, 'x') })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message })
    expect(await namespaceNames()).not.toContain(ns)
  })

  it.each(routes)('%s to an existing target: 400 with the backend message, and nothing changes', async (_label, method, path, body, message) => {
    const ns = 'stored-existing'
    const spec = await (await api.cache.namespace(ns)).setWorkSpec({ name: 's' })
    await spec.deleteWorkUnits({})
    await spec.addWorkUnits([{ key: 'u', data: { kept: true } }])
    const claimed = await send(api.url, 'POST', `/namespace/${ns}/worker/w/request_attempts`, { json: { number_of_work_units: 1 } })
    const [attempt] = (claimed.body as { attempts: { id: string }[] }).attempts
    await send(api.url, 'PUT', `/namespace/${ns}/worker/w`, { json: { active: true, data: { kept: 'worker' } } })
    const answer = await send(api.url, method, path(ns, attempt!.id), { json: body(ns, attempt!.id) })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message })
    const unit = (await send(api.url, 'GET', `/namespace/${ns}/work_spec/s/work_unit/u`)).body
    expect(unit).toMatchObject({ data: { kept: true }, status: 'pending' })
    expect((await send(api.url, 'GET', attemptUrl(ns, attempt!.id))).body).toMatchObject({ status: 'pending', data: { kept: true } })
    expect((await send(api.url, 'GET', `/namespace/${ns}/worker/w`)).body).toMatchObject({ data: { kept: 'worker' } })
  })
})

describe('POST N/work_spec', () => {
  it('refuses a spec that may not be stored before it looks the namespace up', async () => {
    const spec = Buffer.from(encodeData({ name: 's', deep: nested(300) })).toString('base64')
    const answer = await send(api.url, 'POST', '/namespace/stored-unseen-spec/work_spec', { json: { data: spec } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message: tooDeep('work spec') })
    expect(await namespaceNames()).not.toContain('stored-unseen-spec')
  })
})

describe('PUT W', () => {
  it('judges the whole body before it changes anything', async () => {
    await send(api.url, 'PUT', '/namespace/stored-worker/worker/child', { json: { active: true } })
    const answer = await send(api.url, 'PUT', '/namespace/stored-worker/worker/child', { json: { parent: 'boss', active: 'yes' } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message: 'active must be true or false, not "yes"' })
    expect((await send(api.url, 'GET', '/namespace/stored-worker/worker/child')).body).toMatchObject({ parent: null, active: true })
    const workers = (await send(api.url, 'GET', '/namespace/stored-worker/worker')).body as { workers: { name: string }[] }
    expect(workers.workers.map((w) => w.name)).toEqual(['child'])
  })
})
