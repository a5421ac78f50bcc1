import { describe, expect, it } from 'vitest'
import { send, startTestApi } from './support.js'

// An encoded key that does not start with "-" stands for its UTF-8 bytes. JSON text can hold a
// lone surrogate, which has none: UTF-8 encoding would silently make it U+FFFD, another key. It is
// refused, naming the field, before anything the path names is looked up.
const api = await startTestApi({})

const LONE_SURROGATE = '\ud800'

async function namespaceNames(): Promise<string[]> {
  const answer = (await send(api.url, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
  return answer.namespaces.map((ns) => ns.name)
}

describe('an encoded key with a lone surrogate', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['POST S/work_unit', 'work_spec/s/work_unit', { key: `a${LONE_SURROGATE}` }, 'work unit key must not contain a lone surrogate'],
    ['POST S/add_work_units', 'work_spec/s/add_work_units', { work_units: [{ key: 'fine' }, { key: LONE_SURROGATE }] }, 'work_units[1] key must not contain a lone surrogate'],
    ['POST S/work_unit_snapshots', 'work_spec/s/work_unit_snapshots', { keys: ['fine', LONE_SURROGATE] }, 'key must not contain a lone surrogate'],
    ['POST W/make_attempt', 'worker/w/make_attempt', { work_spec: 's', work_unit: LONE_SURROGATE }, 'work_unit must not contain a lone surrogate'],
  ]
  it.each(cases.map((c, i) => [...c, `key-unseen${i}`] as const))('%s to a missing target: 400 INVALID_INPUT, and no namespace appears', async (_name, route, body, message, ns) => {
    const answer = await send(api.url, 'POST', `/namespace/${ns}/${route}`, { json: body })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message })
    expect(await namespaceNames()).not.toContain(ns)
  })

  it('is not added as another key to a spec that exists', async () => {
    await send(api.url, 'POST', '/namespace/key-existing/work_spec', { json: { data: { name: 's' } } })
    const one = await send(api.url, 'POST', '/namespace/key-existing/work_spec/s/work_unit', { json: { key: `a${LONE_SURROGATE}` } })
    const many = await send(api.url, 'POST', '/namespace/key-existing/work_spec/s/add_work_units', { json: { work_units: [{ key: LONE_SURROGATE }] } })
    expect([one.status, many.status]).toEqual([400, 400])
    expect([one.body, many.body]).toEqual([
      { error: 'INVALID_INPUT', message: 'work unit key must not contain a lone surrogate' },
      { error: 'INVALID_INPUT', message: 'work_units[0] key must not contain a lone surrogate' },
    ])
    expect((await send(api.url, 'GET', '/namespace/key-existing/work_spec/s/counts')).body).toEqual({})
  })
})
