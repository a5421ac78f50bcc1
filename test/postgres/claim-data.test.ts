import { describe, expect, it, vi } from 'vitest'
import { PostgresWorkSpec } from '../../src/postgres/work-spec.js'
import { runWorkers } from '../../src/worker/runtime.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// requestAttempts on Postgres brings each claimed unit's data along (Attempt.claimData), from
// the claim's own UPDATE … RETURNING, so the worker runtime starts handlers without another read.
describe('claimed units come with their data', async () => {
  const { coordinate } = await openTestCoordinate()

  it('gives each attempt the data its unit has when claimed, a re-added unit its new data', async () => {
    const ns = await coordinate.namespace('claim-data')
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2, t: 'x' } }])
    const worker = await ns.worker('w')
    const attempts = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(attempts.map((a) => [a.workUnit.name, a.claimData])).toEqual([['a', { n: 1 }], ['b', { n: 2, t: 'x' }]])
    await attempts[0]!.finish({ done: true })
    // Adding a finished unit again makes it available with the new data, and that is what is claimed.
    await spec.addWorkUnit('a', { n: 3 })
    const [again] = await worker.requestAttempts({})
    expect(again?.claimData).toEqual({ n: 3 })
    // Handles read back later carry none: only a claim reads the data.
    expect((await worker.activeAttempts()).map((a) => a.claimData)).toEqual([undefined, undefined])
  })

  it('lets the worker runtime start handlers without reading the units again', async () => {
    const ns = await coordinate.namespace('claim-data-runtime')
    const spec = await ns.setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a', data: { n: 1 } }, { key: 'b', data: { n: 2 } }])
    const reads = vi.spyOn(PostgresWorkSpec.prototype, 'workUnitSnapshots')
    const seen: unknown[] = []
    let resolve = (): void => undefined
    const done = new Promise<void>((r) => (resolve = r))
    const runtime = await runWorkers(coordinate, {
      namespace: 'claim-data-runtime',
      tasks: {
        s: (unit) => {
          seen.push([unit.name, unit.data])
          if (seen.length === 2) resolve()
        },
      },
    })
    await done
    await runtime.stop()
    expect(seen.sort()).toEqual([['a', { n: 1 }], ['b', { n: 2 }]])
    expect(reads).not.toHaveBeenCalled()
    reads.mockRestore()
  })
})
