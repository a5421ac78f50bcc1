import { expect, it } from 'vitest'
import { type Attempt, InvalidInputError, MINUTE, SECOND, WrongBackendError } from '../../src/coordinate/index.js'
import { type ContextGetter, SimpleTestSetup, expectError, expectTimeNear, later } from './helpers.js'

/** Namespace.renewAttempts: many leases in one call, each with its own outcome. */
export function renewalCases(ctx: ContextGetter): void {
  it('Namespace.renewAttempts extends every lease and replaces data where given', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['a', 'b']) await sts.addWorkUnit(name)
    const [a, b] = (await sts.worker.requestAttempts({ numberOfWorkUnits: 2, lifetimeMs: MINUTE })) as [Attempt, Attempt]

    sts.clock.advance(30 * SECOND)
    const outcomes = await sts.namespace.renewAttempts([
      { attempt: a, extendMs: 5 * MINUTE, data: { progress: 'a' } },
      { attempt: b, extendMs: 2 * MINUTE },
    ])

    expect(outcomes).toEqual(['renewed', 'renewed'])
    expectTimeNear(await a.expirationTime(), later(sts.clock, 5 * MINUTE))
    expectTimeNear(await b.expirationTime(), later(sts.clock, 2 * MINUTE))
    expect(await a.data()).toEqual({ progress: 'a' })
    expect(await b.data()).toEqual({})
    // Past the first lease, both are still pending.
    sts.clock.advance(MINUTE)
    expect([await a.status(), await b.status()]).toEqual(['pending', 'pending'])
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ pending: 2 })
    expect(await sts.namespace.renewAttempts([])).toEqual([])
  })

  it('Namespace.renewAttempts reports a lost lease, an ended attempt and a deleted one while renewing the rest', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['kept', 'stolen', 'done', 'deleted']) await sts.addWorkUnit(name)
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 4, lifetimeMs: MINUTE })
    const byName = new Map(attempts.map((a) => [a.workUnit.name, a]))
    const [kept, stolen, done, deleted] = ['kept', 'stolen', 'done', 'deleted'].map((n) => byName.get(n)!) as [Attempt, Attempt, Attempt, Attempt]
    await stolen.workUnit.clearActiveAttempt()
    const [thief] = await (await sts.namespace.worker('thief')).requestAttempts({})
    expect(thief?.workUnit.name).toBe('stolen')
    await done.finish()
    await sts.workSpec.deleteWorkUnits({ names: [deleted.workUnit.key] })

    sts.clock.advance(SECOND)
    const outcomes = await sts.namespace.renewAttempts([
      { attempt: kept, extendMs: MINUTE },
      { attempt: stolen, extendMs: MINUTE, data: { from: 'stale' } },
      { attempt: done, extendMs: MINUTE },
      { attempt: deleted, extendMs: MINUTE },
    ])

    expect(outcomes).toEqual(['renewed', 'lost-lease', 'not-pending', 'gone'])
    expectTimeNear(await kept.expirationTime(), later(sts.clock, MINUTE))
    // As renew() on a lost lease: the data is recorded, the stale attempt expired, the thief's untouched.
    expect(await stolen.status()).toBe('expired')
    expect(await stolen.data()).toEqual({ from: 'stale' })
    expect((await stolen.workUnit.activeAttempt())?.id).toBe(thief!.id)
    expect(await thief!.status()).toBe('pending')
    expect(await done.status()).toBe('finished')
  })

  it('Namespace.renewAttempts does not revive a lease that ran out', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    sts.clock.advance(20 * MINUTE)
    expect(await sts.namespace.renewAttempts([{ attempt, extendMs: MINUTE }])).toEqual(['not-pending'])
    expect(await attempt.status()).toBe('expired')
    await sts.checkUnitStatus('available')
  })

  it('Namespace.renewAttempts refuses bad input before renewing anything', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    const before = await attempt.expirationTime()
    sts.clock.advance(SECOND)
    await expectError(() => sts.namespace.renewAttempts([{ attempt, extendMs: MINUTE }, { attempt, extendMs: MINUTE }]), InvalidInputError)
    await expectError(() => sts.namespace.renewAttempts([{ attempt, extendMs: -1 }]), InvalidInputError)
    await expectError(() => sts.namespace.renewAttempts([{ attempt: { id: attempt.id } as Attempt, extendMs: MINUTE }]), WrongBackendError)
    expect(await attempt.expirationTime()).toEqual(before)
  })
}
