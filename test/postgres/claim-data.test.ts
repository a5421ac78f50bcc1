import { describe, expect, it, vi } from 'vitest'
import { cacheCoordinate } from '../../src/cache/cache-coordinate.js'
import { Tuple } from '../../src/coordinate/data.js'
import { JobServer } from '../../src/jobserver/index.js'
import { PostgresWorkSpec } from '../../src/postgres/work-spec.js'
import { handledUnits, watchClaimTakes } from '../support/claim-data.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// requestAttempts on Postgres brings each claimed unit's data along (Attempt.takeClaimData), from
// the claim's own UPDATE … RETURNING, so the jobserver and the worker runtime start work without
// another read. The data is handed over once: attempts kept for their leases must not pin it.
describe('claimed units come with their data', async () => {
  const { coordinate, clock } = await openTestCoordinate()

  it('gives each attempt the data its unit has when claimed, once, and a re-added unit its new data', async () => {
    const ns = await coordinate.namespace('claim-data')
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2, t: 'x' } }])
    const worker = await ns.worker('w')
    const attempts = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(attempts.map((a) => [a.workUnit.name, a.takeClaimData()])).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
    // Taken: the attempt no longer holds the data.
    expect(attempts.map((a) => a.takeClaimData())).toEqual([undefined, undefined])
    await attempts[0]!.finish({ done: true })
    // Adding a finished unit again makes it available with the new data, and that is what is claimed.
    await spec.addWorkUnit('a', { n: 3 })
    const [again] = await worker.requestAttempts({})
    expect(again?.takeClaimData()).toEqual({ n: 3 })
    // Handles read back later carry none: only a claim reads the data.
    expect((await worker.activeAttempts()).map((a) => a.takeClaimData())).toEqual([undefined, undefined])
  })

  it('lets the jobserver answer get_work without reading the units, and keep no data on its leased attempts', async () => {
    const cached = cacheCoordinate(coordinate, { clock, closeBackend: false })
    const namespace = await cached.namespace('claim-data-jobserver')
    const spec = await namespace.setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2 } }])
    const server = new JobServer({ namespace, clock })
    const reads = vi.spyOn(PostgresWorkSpec.prototype, 'workUnitSnapshots')
    const takes = watchClaimTakes()
    const answer = await server.handler('get_work', ['w', { max_jobs: 2 }], { connectionId: 1 })
    takes.expectTakenOnce(2)
    expect(answer).toEqual([[Tuple.of('s', new Uint8Array(Buffer.from('a')), { n: 1 }), Tuple.of('s', new Uint8Array(Buffer.from('b')), { n: 2 })], null])
    expect(reads).not.toHaveBeenCalled()
    reads.mockRestore()
    await cached.close()
  })

  it('lets the worker runtime start handlers without reading the units again', async () => {
    const ns = await coordinate.namespace('claim-data-runtime')
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2 } }])
    const reads = vi.spyOn(PostgresWorkSpec.prototype, 'workUnitSnapshots')
    const takes = watchClaimTakes()
    const seen = await handledUnits(coordinate, 'claim-data-runtime', 2)
    takes.expectTakenOnce(2)
    expect(seen).toEqual([['a', { n: 1 }], ['b', { n: 2 }]])
    expect(reads).not.toHaveBeenCalled()
    reads.mockRestore()
  })
})
