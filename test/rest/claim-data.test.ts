import { afterAll, describe, expect, it, vi } from 'vitest'
import { restCoordinate } from '../../src/rest/index.js'
import { RestWorkSpec } from '../../src/rest/client/rest-work-spec.js'
import { AttemptProxy } from '../../src/cache/attempt-proxy.js'
import { handledUnits, watchClaimTakes } from '../support/claim-data.js'
import { send, startTestApi } from './support.js'

// request_attempts answers each attempt with its unit's data as the claim read it, so a worker
// over HTTP (coordinate-worker --http) starts its handlers without another request per claim,
// and the attempts the server keeps for later requests do not hold the data.
const api = await startTestApi({})
const client = restCoordinate(api.url)
afterAll(() => client.close())

async function specWithUnits(namespace: string): Promise<void> {
  const spec = await (await api.cache.namespace(namespace)).setWorkSpec({ name: 's' })
  await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2, t: 'x' } }])
}

describe('POST W/request_attempts', () => {
  it('answers each attempt with its unit data, taken from the attempt the server keeps', async () => {
    await specWithUnits('raw')
    const takes = watchClaimTakes()
    const claim = await send(api.url, 'POST', '/namespace/raw/worker/w/request_attempts', { json: { number_of_work_units: 2 } })
    takes.expectTakenOnce(2)
    expect(claim.status).toBe(200)
    const attempts = (claim.body as { attempts: { work_unit: string; data: unknown; finish_url: string }[] }).attempts
    expect(attempts.map((a) => [a.work_unit, a.data])).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
    // The short form still: no status or times.
    expect(attempts[0]).not.toHaveProperty('status')
  })

  it('gives restCoordinate attempts their claim data, once', async () => {
    await specWithUnits('client')
    const worker = await (await client.namespace('client')).worker('w')
    const attempts = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(attempts.map((a) => [a.workUnit.name, a.takeClaimData()])).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
    expect(attempts.map((a) => a.takeClaimData())).toEqual([undefined, undefined])
    // Other attempt lists carry none: only a claim brings the data.
    expect((await worker.activeAttempts()).map((a) => a.takeClaimData())).toEqual([undefined, undefined])
  })

  it('lets a worker runtime over HTTP start handlers without reading the units again', async () => {
    await specWithUnits('runtime')
    const reads = vi.spyOn(RestWorkSpec.prototype, 'workUnitSnapshots')
    const seen = await handledUnits(client, 'runtime', 2)
    expect(seen).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
    expect(reads).not.toHaveBeenCalled()
    reads.mockRestore()
  })

  it('lets a worker runtime over HTTP read the units when the answer carries no data, as an older server sends', async () => {
    await specWithUnits('older')
    // The server's attempts (the cache's) then bring no claim data, so request_attempts leaves `data` out.
    const noData = vi.spyOn(AttemptProxy.prototype, 'takeClaimData').mockReturnValue(undefined)
    const reads = vi.spyOn(RestWorkSpec.prototype, 'workUnitSnapshots')
    try {
      const seen = await handledUnits(client, 'older', 2)
      expect(seen).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
      expect(reads).toHaveBeenCalled()
    } finally {
      noData.mockRestore()
      reads.mockRestore()
    }
  })
})
