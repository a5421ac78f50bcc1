import { describe, expect, it } from 'vitest'
import { openTestCoordinate } from './support/open-test-coordinate.js'

describe('smoke', async () => {
  const { coordinate, clock } = await openTestCoordinate()
  it('adds, claims and finishes a unit', async () => {
    const ns = await coordinate.namespace('smoke')
    const spec = await ns.setWorkSpec({ name: 'spec', min_gb: 1 })
    await spec.addWorkUnit('a', { k: 'v' })
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 1 })
    const worker = await ns.worker('w')
    clock.advance(5000)
    const [attempt] = await worker.requestAttempts()
    expect(attempt?.workUnit.name).toBe('a')
    expect(await (await spec.workUnit('a')).status()).toBe('pending')
    await attempt!.finish({ done: true })
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 1 })
    expect(await (await spec.workUnit('a')).data()).toEqual({ done: true })
  })
})
