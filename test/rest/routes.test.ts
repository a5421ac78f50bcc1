import { describe, expect, it } from 'vitest'
import { Tuple, Uuid, decodeData } from '../../src/coordinate/index.js'
import { encodeName } from '../../src/rest/index.js'
import { send, sendRawGet, startTestApi } from './support.js'

// Route-level behaviour of the REST API over a real server and database: media types, name and
// data encodings, error bodies, paging, and every kind of bad input (answered 4xx, changing
// nothing, the server still serving).
const api = await startTestApi()
const base = api.url
const V1 = 'application/vnd.diffeo.coordinate.v1+json'

async function specNames(ns: string): Promise<string[]> {
  const answer = await send(base, 'GET', `/namespace/${encodeName(ns)}/work_spec`)
  return (answer.body as { work_specs: { name: string }[] }).work_specs.map((s) => s.name)
}

async function stillServing(): Promise<void> {
  expect((await send(base, 'GET', '/')).status).toBe(200)
}

describe('content negotiation', () => {
  it('answers the v1 type by default and for wildcards, a named JSON type when asked', async () => {
    for (const [accept, type] of [
      [undefined, V1],
      ['*/*', V1],
      ['application/*', V1],
      ['application/json', 'application/json'],
      ['text/*', 'text/json'],
      ['text/html;q=0.9, application/json;q=0.5', 'application/json'],
    ] as const) {
      const answer = await send(base, 'GET', '/', { headers: accept ? { accept } : {} })
      expect(answer.status, String(accept)).toBe(200)
      expect(answer.headers['content-type']).toContain(type)
    }
  })

  it('answers 406 with an error body when no JSON type is acceptable', async () => {
    const answer = await send(base, 'GET', '/', { headers: { accept: 'text/html' } })
    expect(answer.status).toBe(406)
    expect(answer.body).toMatchObject({ error: 'NOT_ACCEPTABLE' })
  })

  it('refuses bodies of other media types with 415 and creates nothing', async () => {
    const body = JSON.stringify({ data: { name: 'x' } })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const answer = await send(base, 'POST', '/namespace/media/work_spec', { headers: { 'content-type': type }, body })
      expect(answer.status, type).toBe(415)
      expect(answer.body).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' })
    }
    for (const type of ['application/json; charset=utf-8', 'text/json', V1, 'application/vnd.diffeo.coordinate+json']) {
      expect((await send(base, 'POST', '/namespace/media/work_spec', { headers: { 'content-type': type }, body })).status, type).toBe(201)
    }
    expect(await specNames('media')).toEqual(['x'])
  })
})

describe('resources and status codes', () => {
  it('creates with 201 and a Location that reads back, deletes with 204', async () => {
    const created = await send(base, 'POST', '/namespace/res/work_spec', { json: { data: { name: 'spec one', priority: 3 } } })
    expect(created.status).toBe(201)
    expect(created.headers.location).toBe(`/namespace/res/work_spec/${encodeName('spec one')}`)
    const read = await send(base, 'GET', String(created.headers.location))
    expect(read.body).toMatchObject({ name: 'spec one', data: { name: 'spec one', priority: 3 } })
    const meta = await send(base, 'GET', `${String(created.headers.location)}/meta`)
    expect(meta.body).toMatchObject({ priority: 3, weight: 20, interval_ms: 0, next_continuous: null })
    expect((await send(base, 'DELETE', String(created.headers.location))).status).toBe(204)
    expect((await send(base, 'GET', String(created.headers.location))).body).toEqual({ error: 'NO_SUCH_WORK_SPEC', message: 'No such work spec spec one', value: 'spec one' })
  })

  it('answers unknown routes with 404 and known paths with a wrong method with 405 and Allow', async () => {
    const unknown = await send(base, 'GET', '/no/such/route')
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ error: 'NOT_FOUND' })
    const wrong = await send(base, 'PATCH', '/namespace/res')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.allow).toBe('GET, DELETE, HEAD')
    expect(wrong.body).toMatchObject({ error: 'METHOD_NOT_ALLOWED' })
  })

  it('rebuilds attempt conflicts as 409 NOT_PENDING and keeps the first outcome', async () => {
    await send(base, 'POST', '/namespace/att/work_spec', { json: { data: { name: 's' } } })
    await send(base, 'POST', '/namespace/att/work_spec/s/work_unit', { json: { name: 'u' } })
    const claim = await send(base, 'POST', '/namespace/att/worker/w/request_attempts', { json: {} })
    const attempt = (claim.body as { attempts: { url: string; finish_url: string; fail_url: string }[] }).attempts[0]!
    expect((await send(base, 'POST', attempt.finish_url, { json: { data: { done: true } } })).status).toBe(204)
    const again = await send(base, 'POST', attempt.fail_url)
    expect(again.status).toBe(409)
    expect(again.body).toMatchObject({ error: 'NOT_PENDING' })
    expect((await send(base, 'GET', attempt.url)).body).toMatchObject({ status: 'finished', data: { done: true } })
  })

  it('answers times in RFC 3339 UTC and durations in milliseconds', async () => {
    await send(base, 'POST', '/namespace/times/work_spec', { json: { data: { name: 's', interval: 1.5 } } })
    await send(base, 'POST', '/namespace/times/work_spec/s/work_unit', { json: { name: 'u', meta: { not_before: '2030-01-02T03:04:05+01:00' } } })
    const unit = await send(base, 'GET', '/namespace/times/work_spec/s/work_unit/u')
    expect(unit.body).toMatchObject({ status: 'delayed', meta: { priority: 0, not_before: '2030-01-02T02:04:05.000Z' } })
    expect((await send(base, 'GET', '/namespace/times/work_spec/s/meta')).body).toMatchObject({ interval_ms: 1500 })
  })
})

describe('name and data encoding', () => {
  it('addresses names outside [-._:A-Za-z0-9] and binary keys by "-" + base64url', async () => {
    expect(encodeName('')).toBe('-')
    expect(encodeName('-')).toBe('-LQ')
    expect(encodeName('a b')).toBe('-YSBi')
    expect(encodeName(Uint8Array.of(0))).toBe('-AA')
    const ns = 'name space/é'
    await send(base, 'POST', `/namespace/${encodeName(ns)}/work_spec`, { json: { data: { name: '-dash' } } })
    const key = Uint8Array.of(0xff, 0x00, 0x2f)
    const path = `/namespace/${encodeName(ns)}/work_spec/${encodeName('-dash')}/work_unit`
    const added = await send(base, 'POST', path, { json: { key: encodeName(key), data: { v: 1 } } })
    expect(added.status).toBe(201)
    expect(added.body).toMatchObject({ key: '-_wAv', name: '\ufffd\u0000/' })
    const unit = await send(base, 'GET', `${path}/-_wAv`)
    expect(unit.body).toMatchObject({ key: '-_wAv', work_spec: '-dash', data: { v: 1 } })
    expect((await send(base, 'GET', '/namespace')).body).toMatchObject({ namespaces: expect.arrayContaining([{ name: ns, url: `/namespace/${encodeName(ns)}` }]) })
  })

  it('sends data JSON cannot carry as base64 CBOR and takes it back the same way', async () => {
    await send(base, 'POST', '/namespace/cbor/work_spec', { json: { data: { name: 's' } } })
    const exotic = { t: Tuple.of(1, 'x'), u: Uuid.parse('12345678-9abc-def0-1234-56789abcdef0'), b: Uint8Array.of(1, 2), big: 2n ** 64n - 1n }
    const { encodeData } = await import('../../src/coordinate/index.js')
    const data = Buffer.from(encodeData(exotic)).toString('base64')
    expect((await send(base, 'POST', '/namespace/cbor/work_spec/s/work_unit', { json: { name: 'u', data } })).status).toBe(201)
    const unit = (await send(base, 'GET', '/namespace/cbor/work_spec/s/work_unit/u')).body as { data: string }
    expect(typeof unit.data).toBe('string')
    expect(decodeData(Buffer.from(unit.data, 'base64'))).toStrictEqual(exotic)
    // The Go reference's own example: {"key": ()} is "oWNrZXnYgIA=".
    expect((await send(base, 'POST', '/namespace/cbor/work_spec/s/work_unit', { json: { name: 'go', data: 'oWNrZXnYgIA=' } })).status).toBe(201)
    expect(((await send(base, 'GET', '/namespace/cbor/work_spec/s/work_unit/go')).body as { data: unknown }).data).toBe('oWNrZXnYgIA=')
  })
})

describe('paging', () => {
  it('pages units by key with limit and next, never skipping or repeating one', async () => {
    await send(base, 'POST', '/namespace/pages/work_spec', { json: { data: { name: 's' } } })
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`)
    const added = await send(base, 'POST', '/namespace/pages/work_spec/s/add_work_units', { json: { work_units: keys.map((name) => ({ name })) } })
    expect(added.body).toEqual({ count: 25 })
    const seen: string[] = []
    let next: string | null = null
    let pages = 0
    do {
      const query: string = `?limit=10${next === null ? '' : `&previous=${next}`}`
      const page = (await send(base, 'GET', `/namespace/pages/work_spec/s/work_unit${query}`)).body as { work_units: { name: string; status: string }[]; next: string | null }
      seen.push(...page.work_units.map((u) => u.name))
      expect(page.work_units.every((u) => u.status === 'available')).toBe(true)
      next = page.next
      pages++
    } while (next !== null)
    expect(seen).toEqual(keys)
    expect(pages).toBe(3)
  })
})

describe('bad input', () => {
  it('answers malformed JSON with 400 and keeps serving', async () => {
    for (const body of ['{', '{"data": }', '[1,', 'nul']) {
      const answer = await send(base, 'POST', '/namespace/bad/work_spec', { headers: { 'content-type': 'application/json' }, body })
      expect(answer.status, body).toBe(400)
      expect(answer.body).toMatchObject({ error: 'BAD_REQUEST' })
      expect(answer.text).not.toContain('    at ')
    }
    expect(await specNames('bad')).toEqual([])
    await stillServing()
  })

  it('refuses a bulk item naming an attempt of another namespace, and creates no namespace for it', async () => {
    const url = '/namespace/never-made/work_spec/s/work_unit/u/attempt/1'
    for (const route of ['renew_attempts', 'complete_attempts']) {
      const json = route === 'renew_attempts' ? { renewals: [{ attempt_url: url, extend_ms: 1000 }] } : { completions: [{ attempt_url: url, status: 'finished' }] }
      const answer = await send(base, 'POST', `/namespace/bulk-home/${route}`, { json })
      expect(answer.status, route).toBe(400)
      expect(answer.body, route).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining('another namespace') })
    }
    const listed = (await send(base, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
    expect(listed.namespaces.map((ns) => ns.name)).not.toContain('never-made')
    await stillServing()
  })

  it('refuses bad names: invalid base64, invalid UTF-8, too long', async () => {
    for (const [path, what] of [
      ['/namespace/-%21%21/work_spec', 'not base64url'],
      [`/namespace/${encodeName(Uint8Array.of(0xc3, 0x28))}/work_spec`, 'not valid UTF-8'],
      [`/namespace/${'n'.repeat(2001)}/work_spec`, 'bytes long'],
      [`/namespace/bad/work_spec/${encodeName('x'.repeat(2001))}`, 'bytes long'],
    ] as const) {
      const answer = await send(base, 'GET', path)
      expect(answer.status, path.slice(0, 40)).toBe(400)
      expect(answer.body).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining(what) })
    }
    await stillServing()
  })

  it('refuses negative, zero and non-numeric limits and unknown statuses', async () => {
    await send(base, 'POST', '/namespace/bad/work_spec', { json: { data: { name: 'lim' } } })
    for (const query of ['limit=-1', 'limit=0', 'limit=abc', 'limit=1.5', 'limit=10001', 'status=running']) {
      const answer = await send(base, 'GET', `/namespace/bad/work_spec/lim/work_unit?${query}`)
      expect(answer.status, query).toBe(400)
      expect(answer.body).toMatchObject({ error: 'INVALID_INPUT' })
    }
  })

  it('refuses bodies over the limit with 413 and writes nothing', async () => {
    const huge = JSON.stringify({ work_units: [{ name: 'u', data: { blob: 'x'.repeat(5 * 1024 * 1024) } }] })
    const answer = await send(base, 'POST', '/namespace/bad/work_spec/lim/add_work_units', { headers: { 'content-type': 'application/json' }, body: huge })
    expect(answer.status).toBe(413)
    expect(answer.body).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' })
    expect((await send(base, 'GET', '/namespace/bad/work_spec/lim/counts')).body).toEqual({})
    await stillServing()
  })

  it('refuses dot segments and encoded slashes, backslashes and NULs in paths', async () => {
    for (const path of ['/namespace/../summary', '/namespace/%2e%2e/summary', '/namespace/a%2Fb', '/namespace/a%2fb/work_spec', '/namespace/a%5Cb', '/namespace/a%00b', '/namespace/./x']) {
      const answer = await sendRawGet(base, path)
      expect(answer.status, path).toBe(400)
      expect(answer.body, path).toMatchObject({ error: 'BAD_REQUEST' })
    }
    expect((await send(base, 'GET', '/namespace/%ZZ')).status).toBe(400)
    await stillServing()
  })

  it('refuses wrong field types, missing fields and a DELETE of everything without all=true', async () => {
    await send(base, 'POST', '/namespace/bad/work_spec/lim/work_unit', { json: { name: 'keep' } })
    const cases: [string, 'POST' | 'PUT' | 'DELETE', string, unknown][] = [
      ['missing spec data', 'POST', '/namespace/bad/work_spec', {}],
      ['spec without name', 'POST', '/namespace/bad/work_spec', { data: { priority: 1 } }],
      ['bad CBOR string', 'POST', '/namespace/bad/work_spec', { data: 'not base64!' }],
      ['unit with name and key', 'POST', '/namespace/bad/work_spec/lim/work_unit', { name: 'a', key: 'a' }],
      ['priority as text', 'POST', '/namespace/bad/work_spec/lim/work_unit', { name: 'a', meta: { priority: 'high' } }],
      ['bad time', 'POST', '/namespace/bad/work_spec/lim/work_unit', { name: 'a', meta: { not_before: 'tomorrow' } }],
      ['body is a list', 'POST', '/namespace/bad/work_spec/lim/work_unit', [1, 2]],
      ['renew without extend_ms', 'POST', '/namespace/bad/worker/w/request_attempts', { number_of_work_units: 'two' }],
      ['meta weight as text', 'PUT', '/namespace/bad/work_spec/lim/meta', { weight: 'heavy' }],
      ['delete all without all=true', 'DELETE', '/namespace/bad/work_spec/lim/work_unit', undefined],
    ]
    for (const [what, method, path, json] of cases) {
      const answer = await send(base, method, path, json === undefined ? {} : { json })
      expect(answer.status, what).toBe(400)
      expect(['INVALID_INPUT', 'NO_WORK_SPEC_NAME'], what).toContain((answer.body as { error: string }).error)
    }
    expect(await specNames('bad')).toEqual(['lim'])
    expect((await send(base, 'GET', '/namespace/bad/work_spec/lim/counts')).body).toEqual({ available: 1 })
    expect((await send(base, 'GET', '/namespace/bad/work_spec/lim/meta')).body).toMatchObject({ weight: 20 })
    expect((await send(base, 'DELETE', '/namespace/bad/work_spec/lim/work_unit?all=true')).body).toEqual({ deleted: 1 })
  })

  it('checks values at the route, before looking up what they apply to (400, not 404)', async () => {
    // None of these resources exists: a route that left checks to the layer below would answer 404.
    const A = '/namespace/none/work_spec/none/work_unit/none/attempt/1'
    const cases: [string, string, unknown][] = [
      ['a negative lease extension', `${A}/renew`, { extend_ms: -5 }],
      ['a retry delay of a century', `${A}/retry`, { delay_ms: 3.2e12 }],
      ['a fractional batch size', '/namespace/none/worker/w/request_attempts', { number_of_work_units: 1.5 }],
      ['a priority that is not finite', '/namespace/none/work_spec/none/change', { meta: { priority: 1e309 } }],
      ['a fractional weight', '/namespace/none/work_spec/none/meta', { weight: 2.5 }],
      ['a negative version guard', '/namespace/none/work_spec/none', { data: { name: 'none' }, if_version: -1 }],
    ]
    for (const [what, path, json] of cases) {
      const answer = await send(base, path.endsWith('/meta') || path.endsWith('/none') ? 'PUT' : 'POST', path, { json })
      expect(answer.status, what).toBe(400)
      expect((answer.body as { error: string }).error, what).toBe('INVALID_INPUT')
    }
    expect((await send(base, 'GET', '/namespace/none/work_spec')).body).toMatchObject({ work_specs: [] })
  })
})
