import { expect, it } from 'vitest'
import { NotPendingError } from '../../src/coordinate/index.js'
import { type ContextGetter, SimpleTestSetup, expectError } from './helpers.js'

/** makeAttempt on a unit whose lease another attempt holds: one unit, one result. */
export function leaseHandoverCases(ctx: ContextGetter): void {
  it('makeAttempt on a unit another attempt holds ends that attempt, so the unit is finished once', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const held = await sts.requestOneAttempt()
    const other = await sts.namespace.worker('other')
    const taken = await other.makeAttempt(sts.workUnit)

    // The jobserver forces an attempt this way for an update_work_unit that does not hold the
    // lease; if the displaced attempt could still finish, both would be told they finished it.
    expect(await held.status()).toBe('expired')
    await expectError(() => held.finish({ by: 'held' }), NotPendingError)
    await taken.finish({ by: 'taken' })

    expect(await sts.workUnit.status()).toBe('finished')
    expect(await sts.workUnit.data()).toEqual({ by: 'taken' })
    const attempts = await sts.workUnit.attempts()
    expect(attempts.map((attempt) => attempt.id).sort()).toEqual([held.id, taken.id].sort())
    expect(await Promise.all(attempts.map((attempt) => attempt.status()))).toEqual(
      attempts.map((attempt) => (attempt.id === held.id ? 'expired' : 'finished')),
    )
    expect((await sts.worker.activeAttempts()).map((attempt) => attempt.id)).toEqual([])
  })
}
