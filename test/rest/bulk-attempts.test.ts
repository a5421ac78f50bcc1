import { describe, expect, it, vi } from 'vitest'
import { READ_PARALLELISM } from '../../src/coordinate/map-limit.js'
import { type PathParams, Resolver } from '../../src/rest/resolver.js'
import { send, startTestApi } from './support.js'

// The bulk attempt routes read the whole body first, then look their attempts up several at a
// time: bad input costs no reads, and attempts the server does not remember (after a restart,
// or ones claimed through another daemon) do not cost one round trip after another.
const api = await startTestApi({})

interface Claimed {
  url: string
}

async function claim(ns: string, keys: string[]): Promise<Claimed[]> {
  const spec = await (await api.cache.namespace(ns)).setWorkSpec({ name: 's' })
  await spec.addWorkUnits(keys.map((key) => ({ key })))
  const answer = await send(api.url, 'POST', `/namespace/${ns}/worker/w/request_attempts`, { json: { number_of_work_units: keys.length } })
  return (answer.body as { attempts: Claimed[] }).attempts
}

// Counts Resolver.attempt calls and the most of them running at once.
function watchLookups(): { calls: () => number; most: () => number; restore: () => void } {
  const original = Resolver.prototype.attempt
  let calls = 0
  let running = 0
  let most = 0
  const spy = vi.spyOn(Resolver.prototype, 'attempt').mockImplementation(async function (this: Resolver, params: PathParams) {
    calls++
    most = Math.max(most, ++running)
    try {
      return await original.call(this, params)
    } finally {
      running--
    }
  })
  return { calls: () => calls, most: () => most, restore: () => spy.mockRestore() }
}

describe('POST N/complete_attempts and N/renew_attempts', () => {
  it('looks attempts up several at a time', async () => {
    const attempts = await claim('bulk-complete', ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'])
    const lookups = watchLookups()
    const completions = attempts.map(({ url }) => ({ attempt_url: url, status: 'finished' }))
    const answer = await send(api.url, 'POST', '/namespace/bulk-complete/complete_attempts', { json: { completions } })
    lookups.restore()
    expect(answer.status).toBe(204)
    expect(lookups.calls()).toBe(10)
    expect(lookups.most()).toBe(READ_PARALLELISM)
    expect((await send(api.url, 'GET', '/namespace/bulk-complete/work_spec/s/counts')).body).toEqual({ finished: 10 })
  })

  it('refuses bad input anywhere in the body before looking any attempt up', async () => {
    const attempts = await claim('bulk-bad', ['a', 'b', 'c'])
    const lookups = watchLookups()
    const completions = attempts.map(({ url }, i) => ({ attempt_url: url, status: i === 2 ? 'done' : 'finished' }))
    const completed = await send(api.url, 'POST', '/namespace/bulk-bad/complete_attempts', { json: { completions } })
    const renewals = attempts.map(({ url }, i) => ({ attempt_url: url, extend_ms: i === 2 ? -1 : 1000 }))
    const renewed = await send(api.url, 'POST', '/namespace/bulk-bad/renew_attempts', { json: { renewals } })
    lookups.restore()
    expect([completed.status, renewed.status]).toEqual([400, 400])
    expect(completed.body).toMatchObject({ error: 'INVALID_INPUT', message: expect.stringContaining('completions[2].status') })
    expect(lookups.calls()).toBe(0)
    expect((await send(api.url, 'GET', '/namespace/bulk-bad/work_spec/s/counts')).body).toEqual({ pending: 3 })
  })

  it('refuses bad input before looking the namespace up, which would create it', async () => {
    const completed = await send(api.url, 'POST', '/namespace/bulk-unseen/complete_attempts', { json: { completions: [{ attempt_url: 'x', status: 'done' }] } })
    const renewed = await send(api.url, 'POST', '/namespace/bulk-unseen/renew_attempts', { json: { renewals: [{ attempt_url: 'x' }] } })
    expect([completed.status, renewed.status]).toEqual([400, 400])
    expect([completed.body, renewed.body]).toMatchObject([{ error: 'INVALID_INPUT' }, { error: 'INVALID_INPUT' }])
    const namespaces = (await send(api.url, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
    expect(namespaces.namespaces.map((ns) => ns.name)).not.toContain('bulk-unseen')
  })

  it('refuses a repeated attempt, however its path is spelled, before looking any attempt up', async () => {
    const [a, b] = await claim('bulk-twice', ['a', 'b'])
    const lookups = watchLookups()
    // "-YQ" is "a" encoded the long way: the same unit, so the same attempt.
    const again = a!.url.replace('/work_unit/a/', '/work_unit/-YQ/')
    const completions = [a!.url, b!.url, again].map((url) => ({ attempt_url: url, status: 'finished' }))
    const answer = await send(api.url, 'POST', '/namespace/bulk-twice/complete_attempts', { json: { completions } })
    lookups.restore()
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ error: 'INVALID_INPUT', message: 'the same attempt is completed twice' })
    expect(lookups.calls()).toBe(0)
    expect((await send(api.url, 'GET', '/namespace/bulk-twice/work_spec/s/counts')).body).toEqual({ pending: 2 })
  })

  it('refuses a repeated attempt or a malformed attempt URL in a namespace that does not exist, creating none', async () => {
    const url = '/namespace/bulk-unseen-twice/work_spec/s/work_unit/u/attempt/x'
    const completions = [url, url].map((u) => ({ attempt_url: u, status: 'failed' }))
    const completed = await send(api.url, 'POST', '/namespace/bulk-unseen-twice/complete_attempts', { json: { completions } })
    const renewals = [{ attempt_url: '/namespace/bulk-unseen-twice/work_spec/s/work_unit/-!/attempt/x', extend_ms: 1000 }]
    const renewed = await send(api.url, 'POST', '/namespace/bulk-unseen-twice/renew_attempts', { json: { renewals } })
    expect([completed.status, renewed.status]).toEqual([400, 400])
    expect([completed.body, renewed.body]).toEqual([
      { error: 'INVALID_INPUT', message: 'the same attempt is completed twice' },
      { error: 'INVALID_INPUT', message: 'work unit key "-!" starts with "-" but the rest is not base64url' },
    ])
    const namespaces = (await send(api.url, 'GET', '/namespace')).body as { namespaces: { name: string }[] }
    expect(namespaces.namespaces.map((ns) => ns.name)).not.toContain('bulk-unseen-twice')
  })

  it('renews each attempt in order, a deleted one answering gone', async () => {
    const attempts = await claim('bulk-renew', ['a', 'b', 'c'])
    await send(api.url, 'DELETE', '/namespace/bulk-renew/work_spec/s/work_unit?name=b')
    const renewals = attempts.map(({ url }) => ({ attempt_url: url, extend_ms: 60_000 }))
    const answer = await send(api.url, 'POST', '/namespace/bulk-renew/renew_attempts', { json: { renewals } })
    expect(answer.body).toEqual({ outcomes: ['renewed', 'gone', 'renewed'] })
  })
})
