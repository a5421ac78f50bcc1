import { describe, expect, it, vi } from 'vitest'
import { assertDataDict } from '../../src/coordinate/data.js'
import { send, startTestApi } from './support.js'

// Checking a unit's data walks all of it, which is a bulk add's main cost besides the write:
// add_work_units checks each unit's data where it reads it from JSON (for the field-named
// error) and where the backend encodes it (the library's own check), and nowhere else.
vi.mock('../../src/coordinate/data.js', async (original) => {
  const actual = await original<typeof import('../../src/coordinate/data.js')>()
  return { ...actual, assertDataDict: vi.fn(actual.assertDataDict) }
})

const api = await startTestApi({})

describe('POST S/add_work_units', () => {
  it('walks each unit data twice: once reading the JSON, once in the backend', async () => {
    await send(api.url, 'POST', '/namespace/walks/work_spec', { json: { data: { name: 's' } } })
    const checks = vi.mocked(assertDataDict)
    checks.mockClear()
    const units = [0, 1, 2].map((i) => ({ name: `u${i}`, data: { walked: i } }))
    const answer = await send(api.url, 'POST', '/namespace/walks/work_spec/s/add_work_units', { json: { work_units: units } })
    expect(answer.body).toEqual({ count: 3 })
    const walked = checks.mock.calls.map(([value]) => value).filter((value) => typeof value === 'object' && value !== null && 'walked' in value)
    expect(walked).toEqual([{ walked: 0 }, { walked: 1 }, { walked: 2 }, { walked: 0 }, { walked: 1 }, { walked: 2 }])
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
