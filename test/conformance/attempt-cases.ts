import { expect, it } from 'vitest'
import {
  type Attempt,
  type DataDict,
  DEFAULT_LEASE_MS,
  HOUR,
  InvalidInputError,
  LostLeaseError,
  MINUTE,
  NotPendingError,
  SECOND,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  attemptState,
  SimpleTestSetup,
  exoticData,
  expectAttemptMatches,
  expectError,
  expectExactData,
  expectGone,
  expectTimeNear,
} from './helpers.js'

/** Every transition a non-pending attempt must refuse with NotPendingError, leaving everything as it was. */
async function expectAllTransitionsRefused(attempt: Attempt, clockAdvance: () => void): Promise<void> {
  const before = await attemptState(attempt)
  clockAdvance()
  await expectError(() => attempt.finish({ tried: 'finish' }), NotPendingError)
  await expectError(() => attempt.fail({ tried: 'fail' }), NotPendingError)
  await expectError(() => attempt.renew(MINUTE, { tried: 'renew' }), NotPendingError)
  await expectError(() => attempt.retry({ tried: 'retry' }, 0), NotPendingError)
  expect(await attemptState(attempt)).toEqual(before)
}

/** go-coordinate coordinatetest/attempt.go, plus the attempt fixes recorded in docs/design.md. */
export function attemptCases(ctx: ContextGetter): void {
  it('an attempt moves its unit from available to pending and on to finished, failed, expired or retried (TestAttemptLifetime)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'a' })

    await sts.checkUnitStatus('available')
    expect(await sts.workUnit.data()).toEqual({})

    const attempt = await sts.requestOneAttempt()
    await sts.checkUnitStatus('pending')
    expect(await attempt.status()).toBe('pending')

    expectAttemptMatches(await sts.workUnit.activeAttempt(), attempt)
    const active = await sts.worker.activeAttempts()
    expect(active).toHaveLength(1)
    expectAttemptMatches(active[0], attempt)

    expect(await sts.workUnit.data()).toEqual({})

    await attempt.finish({ outputs: ['yes'] })

    await sts.checkUnitStatus('finished')
    expect(await attempt.status()).toBe('finished')
    // Still the unit's active attempt, but no longer on the worker's active list
    expectAttemptMatches(await sts.workUnit.activeAttempt(), attempt)
    expect(await sts.worker.activeAttempts()).toEqual([])

    // Both the unit and the worker have one attempt in their history
    const unitAttempts = await sts.workUnit.attempts()
    expect(unitAttempts).toHaveLength(1)
    expectAttemptMatches(unitAttempts[0], attempt)
    const workerAttempts = await sts.worker.allAttempts()
    expect(workerAttempts).toHaveLength(1)
    expectAttemptMatches(workerAttempts[0], attempt)

    // The finish data is now the unit's visible data
    expect(await sts.workUnit.data()).toEqual({ outputs: ['yes'] })

    // Force-clearing the active attempt makes the unit available with its own data...
    await sts.workUnit.clearActiveAttempt()
    await sts.checkUnitStatus('available')
    expect(await sts.workUnit.data()).toEqual({})

    // ...but keeps the history
    const unitAttemptsAfter = await sts.workUnit.attempts()
    expect(unitAttemptsAfter).toHaveLength(1)
    expectAttemptMatches(unitAttemptsAfter[0], attempt)
    const workerAttemptsAfter = await sts.worker.allAttempts()
    expect(workerAttemptsAfter).toHaveLength(1)
    expectAttemptMatches(workerAttemptsAfter[0], attempt)
  })

  it('an attempt reports its start, data, end and expiration, and renewing updates them (TestAttemptMetadata)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecName: 'spec',
      workUnitName: 'a',
      workUnitData: { from: 'wu' },
    })
    const attempt = await sts.requestOneAttempt()

    const start = sts.clock.now()
    const startTime = await attempt.startTime()
    expectTimeNear(startTime, start, 1)
    expect(await attempt.data()).toEqual({ from: 'wu' })
    expect(await attempt.endTime()).toBeNull()
    expect((await attempt.expirationTime()).getTime() - startTime.getTime()).toBe(15 * MINUTE)

    // Renew the lease with new data
    sts.clock.advance(10 * SECOND)
    const renewTime = sts.clock.now()
    await attempt.renew(5 * MINUTE, { from: 'renew' })

    expectTimeNear(await attempt.startTime(), start, 1)
    expect(await attempt.data()).toEqual({ from: 'renew' })
    expect(await attempt.endTime()).toBeNull()
    expectTimeNear(await attempt.expirationTime(), new Date(renewTime.getTime() + 5 * MINUTE), 1)

    await attempt.finish({ from: 'finish' })

    const finalStart = await attempt.startTime()
    expectTimeNear(finalStart, start, 1)
    expect(await attempt.data()).toEqual({ from: 'finish' })
    const endTime = await attempt.endTime()
    expect(endTime).toBeInstanceOf(Date)
    expect(endTime!.getTime()).toBeGreaterThan(finalStart.getTime())
  })

  it('an expired attempt gives its unit back to be claimed again (TestAttemptExpiration)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'a' })
    const attempts = await sts.worker.requestAttempts({})
    expect(attempts).toHaveLength(1)
    const attempt = attempts[0]!
    expect(await attempt.status()).toBe('pending')

    await sts.requestNoAttempts()

    // The default lease is 15 minutes; after 20 the attempt has expired
    sts.clock.advance(20 * MINUTE)
    expect(await attempt.status()).toBe('expired')

    // The unit is available for all purposes
    const meta = await sts.workSpec.meta({ withCounts: true })
    expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available: 1, pending: 0 })
    await sts.checkUnitStatus('available')

    // And a new request gets it again
    const again = await sts.requestOneAttempt()
    expect(await again.status()).toBe('pending')
  })

  it('a retried attempt with a delay leaves its unit delayed until then (TestRetryDelay)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    await sts.checkUnitStatus('available')

    const attempt = await sts.requestOneAttempt()
    await attempt.retry(undefined, 90 * SECOND)

    sts.clock.advance(60 * SECOND)
    await sts.checkUnitStatus('delayed')
    await sts.requestNoAttempts()

    sts.clock.advance(60 * SECOND)
    await sts.checkUnitStatus('available')
    await sts.checkWorkUnitOrder('unit')
  })

  it('attempt start times keep sub-second precision (TestAttemptFractionalStart)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    sts.clock.advance(500)
    const attempt = await sts.requestOneAttempt()
    await attempt.finish()
  })

  it('an attempt whose unit was deleted reports it as gone (TestAttemptGone)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    await sts.workSpec.deleteWorkUnits({})
    await expectGone(() => attempt.status(), { workSpec: 'spec', workUnit: 'unit' })
  })

  it('a unit past max_retries fails with "too many retries" instead of being handed out (TestMaxRetries)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecName: 'spec',
      workSpecData: { max_retries: 2 },
      workUnitName: 'unit',
    })
    await sts.requestOneAttempt()

    // The first attempt expires; the same unit comes back
    sts.clock.advance(HOUR)
    const second = await sts.requestOneAttempt()
    expect(second.workUnit.name).toBe('unit')

    // The third attempt would exceed max_retries
    sts.clock.advance(HOUR)
    await sts.requestNoAttempts()
    await sts.checkUnitStatus('failed')
    expect((await sts.workUnit.data()).traceback).toBe('too many retries')
  })

  it('max_retries applies per unit when a request claims several (TestMaxRetriesMulti)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecName: 'spec',
      workSpecData: { max_getwork: 2, max_retries: 1 },
    })
    for (const name of ['a', 'b', 'c', 'd']) await sts.addWorkUnit(name)

    let attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 10 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['a', 'b'])

    // a finishes, b times out
    sts.clock.advance(MINUTE)
    await attempts[0]!.finish()
    sts.clock.advance(HOUR)

    // b is picked with c, goes over max_retries, and only c comes back
    attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 10 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['c'])
  })

  it('max_retries applies per unit across batches of claims (TestMaxRetriesMultiBatch)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecName: 'spec',
      workSpecData: { max_getwork: 2, max_retries: 1 },
    })
    for (const name of ['a', 'b', 'c', 'd']) await sts.addWorkUnit(name)

    let attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 10 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['a', 'b'])

    // Both time out
    sts.clock.advance(HOUR)

    // a and b are picked and both fail, so a new batch is chosen
    attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 10 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['c', 'd'])
  })

  // ---- coordinate-ts fixes (docs/design.md, "Model") ----

  it('a finished attempt refuses finish, fail, renew and retry with NotPendingError', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    await attempt.finish({ result: 'done' })
    await expectAllTransitionsRefused(attempt, () => sts.clock.advance(SECOND))
    expect(await attempt.status()).toBe('finished')
    await sts.checkUnitStatus('finished')
    expect(await sts.workUnit.data()).toEqual({ result: 'done' })
  })

  it('a failed attempt refuses finish, fail, renew and retry with NotPendingError', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    await attempt.fail({ traceback: 'boom' })
    await expectAllTransitionsRefused(attempt, () => sts.clock.advance(SECOND))
    expect(await attempt.status()).toBe('failed')
    await sts.checkUnitStatus('failed')
    expect(await sts.workUnit.data()).toEqual({ traceback: 'boom' })
  })

  it('an expired attempt refuses finish, fail, renew and retry with NotPendingError; expire again is a no-op', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    await attempt.expire({ progress: 1 })
    await expectAllTransitionsRefused(attempt, () => sts.clock.advance(SECOND))
    const before = await attemptState(attempt)
    await attempt.expire()
    expect(await attemptState(attempt)).toEqual(before)
    expect(await attempt.status()).toBe('expired')
    await sts.checkUnitStatus('available')
    expect(await sts.workUnit.data()).toEqual({})
  })

  it('a retryable attempt refuses finish, fail, renew and retry with NotPendingError', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    await attempt.retry({ progress: 1 }, 0)
    await expectAllTransitionsRefused(attempt, () => sts.clock.advance(SECOND))
    expect(await attempt.status()).toBe('retryable')
    await sts.checkUnitStatus('available')
  })

  it('an attempt whose lease ran out refuses finish, fail, renew and retry with NotPendingError', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    sts.clock.advance(DEFAULT_LEASE_MS + SECOND)
    expect(await attempt.status()).toBe('expired')
    await expectAllTransitionsRefused(attempt, () => sts.clock.advance(SECOND))
    expect(await attempt.status()).toBe('expired')
    await sts.checkUnitStatus('available')
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ available: 1 })
  })

  it('renewing an attempt that is no longer active throws LostLeaseError and leaves the new attempt alone', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const stale = await sts.requestOneAttempt()
    await sts.workUnit.clearActiveAttempt()
    const thief = await sts.namespace.worker('thief')
    const [current] = await thief.requestAttempts({})
    expect(current).toBeDefined()
    expect(current!.workUnit.name).toBe('unit')

    sts.clock.advance(SECOND)
    await expectError(() => stale.renew(MINUTE, { from: 'stale' }), LostLeaseError)

    // go-coordinate: the data is still recorded and the stale attempt is expired
    expect(await stale.status()).toBe('expired')
    expect(await stale.data()).toEqual({ from: 'stale' })
    expect(await sts.worker.activeAttempts()).toEqual([])

    // The unit still belongs to the new attempt
    await sts.checkUnitStatus('pending')
    expect((await sts.workUnit.activeAttempt())?.id).toBe(current!.id)
    expect(await current!.status()).toBe('pending')
    expect((await thief.activeAttempts()).map((a) => a.id)).toEqual([current!.id])
    await current!.finish()
    await sts.checkUnitStatus('finished')
  })

  it('expiring a stale attempt never clears a different active attempt', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const stale = await sts.requestOneAttempt()
    await sts.workUnit.clearActiveAttempt()
    const current = await sts.requestOneAttempt()

    await stale.expire({ from: 'stale' })

    expect(await stale.status()).toBe('expired')
    await sts.checkUnitStatus('pending')
    expect((await sts.workUnit.activeAttempt())?.id).toBe(current.id)
    expect(await current.status()).toBe('pending')
    expect(await sts.workUnit.data()).toEqual({})
    expect((await sts.worker.activeAttempts()).map((a) => a.id)).toEqual([current.id])
    await sts.requestNoAttempts()
  })

  it('retrying a stale attempt never clears a different active attempt', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const stale = await sts.requestOneAttempt()
    await sts.workUnit.clearActiveAttempt()
    const current = await sts.requestOneAttempt()

    await stale.retry({ from: 'stale' }, 0)

    expect(await stale.status()).toBe('retryable')
    await sts.checkUnitStatus('pending')
    expect((await sts.workUnit.activeAttempt())?.id).toBe(current.id)
    expect(await current.status()).toBe('pending')
    expect((await sts.worker.activeAttempts()).map((a) => a.id)).toEqual([current.id])
    await sts.requestNoAttempts()
    await current.finish()
    await sts.checkUnitStatus('finished')
  })

  it('AttemptRequest.lifetimeMs sets the lease, with strict expiry at its end', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempts = await sts.worker.requestAttempts({ lifetimeMs: MINUTE })
    expect(attempts).toHaveLength(1)
    const attempt = attempts[0]!
    const start = await attempt.startTime()
    expect((await attempt.expirationTime()).getTime() - start.getTime()).toBe(MINUTE)

    // Exactly at the end of the lease it still holds (expiry is strict)...
    sts.clock.advance(MINUTE)
    expect(await attempt.status()).toBe('pending')
    await sts.checkUnitStatus('pending')

    // ...and just after it, it is gone
    sts.clock.advance(1)
    expect(await attempt.status()).toBe('expired')
    await sts.checkUnitStatus('available')
    expect(await sts.worker.activeAttempts()).toEqual([])
    expect((await sts.requestOneAttempt()).workUnit.name).toBe('unit')
  })

  it('requestAttempts without lifetimeMs leases for 15 minutes', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    expect((await attempt.expirationTime()).getTime() - (await attempt.startTime()).getTime()).toBe(DEFAULT_LEASE_MS)
  })

  it('makeAttempt without a lifetime leases for 15 minutes; with one, for that long', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const first = await sts.worker.makeAttempt(sts.workUnit)
    expect(await first.status()).toBe('pending')
    expect((await first.startTime()).getTime()).toBe(sts.clock.now().getTime())
    expect((await first.expirationTime()).getTime() - (await first.startTime()).getTime()).toBe(15 * MINUTE)
    expect((await sts.workUnit.activeAttempt())?.id).toBe(first.id)

    const second = await sts.worker.makeAttempt(sts.workUnit, 5 * SECOND)
    expect((await second.expirationTime()).getTime() - (await second.startTime()).getTime()).toBe(5 * SECOND)
    expect((await sts.workUnit.activeAttempt())?.id).toBe(second.id)
    sts.clock.advance(5 * SECOND + 1)
    await sts.checkUnitStatus('available')
  })

  it('finish with data it cannot store is rejected and leaves the attempt pending', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    const before = await attemptState(attempt)
    await expectError(() => attempt.finish({ f: () => 1 } as unknown as DataDict), InvalidInputError)
    await expectError(() => attempt.fail({ u: undefined } as unknown as DataDict), InvalidInputError)
    await expectError(() => attempt.renew(MINUTE, { d: new Date(0) } as unknown as DataDict), InvalidInputError)
    expect(await attemptState(attempt)).toEqual(before)
  })

  it('attempt data round-trips exactly through renew and finish', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    const renewed = { ...exoticData(), step: 'renew' }
    await attempt.renew(MINUTE, renewed)
    expectExactData(await attempt.data(), renewed)
    expectExactData(await sts.workUnit.data(), renewed)
    const finished = { ...exoticData(), step: 'finish' }
    await attempt.finish(finished)
    expectExactData(await attempt.data(), finished)
    expectExactData(await sts.workUnit.data(), finished)
  })
}
