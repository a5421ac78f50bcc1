import { describe, expect, it, vi } from 'vitest'
import { encodeData } from '../../src/coordinate/cbor-data.js'
import { type DataValue, assertDataDict } from '../../src/coordinate/data.js'
import { send, startTestApi } from './support.js'

// Checking a unit's data walks all of it, which is an add's main cost besides the write: both
// add routes check each unit's data where they read it from JSON (for the field-named error)
// and where the backend encodes it (the library's own check), and nowhere else.
vi.mock('../../src/coordinate/data.js', async (original) => {
  const actual = await original<typeof import('../../src/coordinate/data.js')>()
  return { ...actual, assertDataDict: vi.fn(actual.assertDataDict) }
})

const api = await startTestApi({})

/** The values assertDataDict was called on since the last clear that carry a `walked` field. */
function walked(): unknown[] {
  return vi.mocked(assertDataDict).mock.calls.map(([value]) => value).filter((value) => typeof value === 'object' && value !== null && 'walked' in value)
}

describe('POST S/add_work_units', () => {
  it('walks each unit data twice: once reading the JSON, once in the backend', async () => {
    await send(api.url, 'POST', '/namespace/walks/work_spec', { json: { data: { name: 's' } } })
    vi.mocked(assertDataDict).mockClear()
    const units = [0, 1, 2].map((i) => ({ name: `u${i}`, data: { walked: i } }))
    const answer = await send(api.url, 'POST', '/namespace/walks/work_spec/s/add_work_units', { json: { work_units: units } })
    expect(answer.body).toEqual({ count: 3 })
    expect(walked()).toEqual([{ walked: 0 }, { walked: 1 }, { walked: 2 }, { walked: 0 }, { walked: 1 }, { walked: 2 }])
  })

  it('still refuses bad data with the field that holds it, and adds nothing', async () => {
    await send(api.url, 'POST', '/namespace/walks/work_spec', { json: { data: { name: 'bad' } } })
    const units = [{ name: 'good', data: {} }, { name: 'bad', data: [1] }]
    const answer = await send(api.url, 'POST', '/namespace/walks/work_spec/bad/add_work_units', { json: { work_units: units } })
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ error: 'INVALID_INPUT' })
    expect(JSON.stringify(answer.body)).toContain('work_units[1].data')
    expect((await send(api.url, 'GET', '/namespace/walks/work_spec/bad/counts')).body).toEqual({})
  })
})

describe('POST S/work_unit', () => {
  it('walks the unit data twice, as a bulk add does, and answers its identity', async () => {
    await send(api.url, 'POST', '/namespace/walks/work_spec', { json: { data: { name: 'one' } } })
    vi.mocked(assertDataDict).mockClear()
    const answer = await send(api.url, 'POST', '/namespace/walks/work_spec/one/work_unit', { json: { name: 'a b', data: { walked: 'once' } } })
    expect(answer.status).toBe(201)
    expect(answer.body).toEqual({ name: 'a b', key: '-YSBi', url: '/namespace/walks/work_spec/one/work_unit/-YSBi' })
    expect(walked()).toEqual([{ walked: 'once' }, { walked: 'once' }])
    expect((await send(api.url, 'GET', '/namespace/walks/work_spec/one/work_unit/-YSBi')).body).toMatchObject({ data: { walked: 'once' } })
  })
})

// A list nested deeper than data may be (256), which CBOR decoding still accepts (512).
function nested(depth: number): DataValue {
  let value: DataValue = []
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const LONE_SURROGATE = '\ud800'
const TOO_DEEP = Buffer.from(encodeData({ deep: nested(300) })).toString('base64')

// Input the route can judge without the database is refused before it looks up what the path
// names: a lookup would answer 404 for a missing spec and create a missing namespace.
describe('a bad unit sent to a spec that does not exist', () => {
  const cases: [string, string, Record<string, unknown>, string | RegExp][] = [
    ['one unit, a key with a lone surrogate', 'work_unit', { name: LONE_SURROGATE }, 'work unit 0 key must not contain a lone surrogate'],
    ['many units, a key with a lone surrogate', 'add_work_units', { work_units: [{ name: 'fine' }, { name: LONE_SURROGATE }] }, 'work unit 1 key must not contain a lone surrogate'],
    ['one unit, CBOR data nested too deep', 'work_unit', { name: 'u', data: TOO_DEEP }, /^work unit 0 data\.deep(\[0\])+ is nested more than 256 deep$/],
    ['many units, CBOR data nested too deep', 'add_work_units', { work_units: [{ name: 'fine' }, { name: 'u', data: TOO_DEEP }] }, /^work unit 1 data\.deep(\[0\])+ is nested more than 256 deep$/],
  ]
  it.each(cases.map((c, i) => [...c, `unseen${i}`] as const))('%s: 400 INVALID_INPUT, and neither namespace nor spec appears', async (_name, route, body, message, ns) => {
    const answer = await send(api.url, 'POST', `/namespace/${ns}/work_spec/nope/${route}`, { json: body })
    expect(answer.status).toBe(400)
    expect(answer.body).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringMatching(message) as unknown })
    const namespaces = (await send(api.url, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
    expect(namespaces.namespaces.map((ns) => ns.name)).not.toContain(ns)
  })
})
