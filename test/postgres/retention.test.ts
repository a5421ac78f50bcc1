import { describe, expect, it } from 'vitest'
import { HOUR } from '../../src/coordinate/clock.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

describe('retention', async () => {
  const { coordinate, clock } = await openTestCoordinate()

  it('prunes finished and failed units by age, leaving newer and unfinished ones', async () => {
    const ns = await coordinate.namespace('prune-units')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits(['a-old-done', 'b-old-failed', 'c-new-done', 'd-open'].map((key) => ({ key })))
    const worker = await ns.worker('w')
    const [done, failed] = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    await done!.finish()
    await failed!.fail()
    clock.advance(2 * HOUR)
    const [fresh] = await worker.requestAttempts({ numberOfWorkUnits: 1 })
    await fresh!.finish()
    const result = await coordinate.prune({ finishedUnitsOlderThanMs: HOUR })
    expect(result).toEqual({ workUnits: 2, attempts: 0 })
    expect(fresh!.workUnit.name).toBe('c-new-done')
    expect((await spec.workUnits()).map((u) => u.name)).toEqual(['c-new-done', 'd-open'])
  })

  it('keeps only the newest attempts per unit, never the active one', async () => {
    const ns = await coordinate.namespace('prune-attempts')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const unit = await spec.addWorkUnit('u')
    const worker = await ns.worker('w')
    for (let i = 0; i < 4; i++) {
      const [attempt] = await worker.requestAttempts()
      await attempt!.retry()
    }
    const [last] = await worker.requestAttempts()
    await last!.finish()
    expect(await unit.numAttempts()).toBe(5)
    const result = await coordinate.prune({ keepAttemptsPerUnit: 1 })
    expect(result.attempts).toBe(3)
    const left = await unit.attempts()
    expect(left.map((a) => a.id)).toContain(last!.id)
    expect(left).toHaveLength(2)
    expect(await unit.status()).toBe('finished')
  })

  it('prunes ended attempts by age', async () => {
    const ns = await coordinate.namespace('prune-age')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const unit = await spec.addWorkUnit('u')
    const worker = await ns.worker('w')
    const [first] = await worker.requestAttempts()
    await first!.retry()
    clock.advance(3 * HOUR)
    const [second] = await worker.requestAttempts()
    await second!.retry()
    // Retention is schema-wide: older tests' ended attempts go too, so count at least ours.
    const result = await coordinate.prune({ attemptsOlderThanMs: HOUR })
    expect(result.workUnits).toBe(0)
    expect(result.attempts).toBeGreaterThanOrEqual(1)
    expect((await unit.attempts()).map((a) => a.id)).toEqual([second!.id])
  })
})
