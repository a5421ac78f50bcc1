import { expect, it } from 'vitest'
import { NotPendingError, VersionConflictError } from '../../src/coordinate/index.js'
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

  it('makeAttempt with ifVersion starts an attempt only on the unit as it was read, and a refusal changes nothing', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const other = await sts.namespace.worker('other')
    // Read as available; then another worker claims and finishes it before the forced attempt.
    const read = (await sts.workUnit.snapshot()).version
    const claimed = await sts.requestOneAttempt()
    await claimed.finish({ by: 'claimed' })
    await expectError(() => other.makeAttempt(sts.workUnit, undefined, { ifVersion: read }), VersionConflictError)
    expect(await sts.workUnit.status()).toBe('finished')
    expect(await sts.workUnit.data()).toEqual({ by: 'claimed' })
    expect((await sts.workUnit.attempts()).map((attempt) => attempt.id)).toEqual([claimed.id])
    expect(await other.allAttempts()).toEqual([])

    // At the version it holds now, the guarded attempt is made and becomes the active one.
    const current = (await sts.workUnit.snapshot()).version
    const forced = await other.makeAttempt(sts.workUnit, undefined, { ifVersion: current })
    expect((await sts.workUnit.activeAttempt())?.id).toBe(forced.id)
    expect(await sts.workUnit.status()).toBe('pending')
  })
}
