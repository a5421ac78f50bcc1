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
  Tuple,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  SimpleTestSetup,
  describeAttempt,
  exoticData,
  expectAttemptMatches,
  expectError,
  expectExactData,
  expectGone,
  expectTimeNear,
  expectUnitPriority,
  unitNames,
} from './helpers.js'

/** A unit's observable state, to show that a rejected call changed nothing. */
async function snapshot(attempt: Attempt): Promise<Record<string, unknown>> {
  const unit = attempt.workUnit
  const active = await unit.activeAttempt()
  return {
    attemptStatus: await attempt.status(),
    attemptData: await attempt.data(),
    endTime: await attempt.endTime(),
    expirationTime: await attempt.expirationTime(),
    unitStatus: await unit.status(),
    unitData: await unit.data(),
    unitMeta: await unit.meta(),
    activeAttemptId: active?.id ?? null,
    workerActive: (await attempt.worker.activeAttempts()).map((a) => a.id),
  }
}

/** Every transition a non-pending attempt must refuse with NotPendingError, leaving everything as it was. */
async function expectAllTransitionsRefused(attempt: Attempt, clockAdvance: () => void): Promise<void> {
  const before = await snapshot(attempt)
  clockAdvance()
  await expectError(() => attempt.finish({ tried: 'finish' }), NotPendingError)
  await expectError(() => attempt.fail({ tried: 'fail' }), NotPendingError)
  await expectError(() => attempt.renew(MINUTE, { tried: 'renew' }), NotPendingError)
  await expectError(() => attempt.retry({ tried: 'retry' }, 0), NotPendingError)
  expect(await snapshot(attempt)).toEqual(before)
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

  it('finishing a unit of a spec with \'then\' adds its output units to the next spec (TestWorkUnitChaining)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two', disabled: true })
    sts.workSpec = one

    // No output
    await one.addWorkUnit('a', {}, {})
    await (await sts.requestOneAttempt()).finish()
    expect(await two.workUnits({})).toEqual([])

    // Map output
    await one.addWorkUnit('b', {}, {})
    await (await sts.requestOneAttempt()).finish({ output: { two_b: { k: 'v' } } })
    let units = await two.workUnits({})
    expect(unitNames(units)).toEqual(['two_b'])
    expect(await units[0]!.data()).toEqual({ k: 'v' })

    // List output
    await one.addWorkUnit('c', {}, {})
    await (await sts.requestOneAttempt()).finish({ output: ['two_c', 'two_cc'] })
    units = await two.workUnits({})
    expect(unitNames(units)).toEqual(['two_b', 'two_c', 'two_cc'])
    expect(await (await two.workUnit('two_c')).data()).toEqual({})

    // Output in the unit's own data
    await one.addWorkUnit('d', { output: ['two_d'] }, {})
    await (await sts.requestOneAttempt()).finish()
    expect(unitNames(await two.workUnits({}))).toEqual(['two_b', 'two_c', 'two_cc', 'two_d'])
  })

  it('a mixed output list chains its text keys and its [key, data] pairs (TestChainingMixed)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two' })
    await one.addWorkUnit('a', {}, {})
    sts.workSpec = one

    const attempt = await sts.requestOneAttempt()
    await attempt.finish({ output: ['key', Tuple.of('key', { data: 'x' }, { priority: 10.0 })] })

    const units = await two.workUnits({})
    expect(unitNames(units)).toContain('key')
    const key = await two.workUnit('key')
    expect(await key.data()).toEqual({ data: 'x' })
    await expectUnitPriority(key, 10)
  })

  it('output chains through two specs, one step after the other (TestChainingTwoStep)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two' })
    await one.addWorkUnit('a', {}, {})
    sts.workSpec = one

    const key = Uint8Array.of(1, 2, 3, 4)
    const attempt = await sts.requestOneAttempt()
    await attempt.renew(900 * SECOND, {
      output: [key, Tuple.of(key, new Map(), new Map([['priority', 0]]))],
    })
    await attempt.finish()

    const units = await two.workUnits({})
    expect(units.map((u) => Buffer.from(u.key).toString('hex'))).toContain('01020304')
    const unit = await two.workUnit(key)
    expect(unit.name).toBe('\x01\x02\x03\x04')
    expect(await unit.data()).toEqual({})
    await expectUnitPriority(unit, 0)
  })

  it('an attempt that lost its unit to another finishes without chaining its output (TestChainingExpiry)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two', disabled: true })
    sts.workSpec = one
    const unit = await one.addWorkUnit('a', {}, {})

    const attempt = await sts.requestOneAttempt()

    // Preempted: the unit goes to another attempt
    await unit.clearActiveAttempt()
    await sts.requestOneAttempt()

    // The original attempt finishes without error, but is no longer active, so it does not chain
    await attempt.finish({ output: ['unit'] })
    expect(await two.workUnits({})).toEqual([])
  })

  it('chaining a key the next spec has already finished makes that unit available again (TestChainingDuplicate)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two', priority: 1 })
    const two = await sts.namespace.setWorkSpec({ name: 'two', priority: 2 })
    await one.addWorkUnit('a', {}, {})
    await one.addWorkUnit('b', {}, {})

    sts.workSpec = one
    let attempt = await sts.requestOneAttempt()
    expect(attempt.workUnit.name).toBe('a')
    await attempt.finish({ output: ['z'] })

    sts.workSpec = two
    attempt = await sts.requestOneAttempt()
    expect(attempt.workUnit.name).toBe('z')
    await attempt.finish({})

    sts.workSpec = one
    attempt = await sts.requestOneAttempt()
    expect(attempt.workUnit.name).toBe('b')
    await attempt.finish({ output: ['z'] })

    sts.workSpec = two
    attempt = await sts.requestOneAttempt()
    expect(attempt.workUnit.name).toBe('z')
    await attempt.finish({})

    await sts.requestNoAttempts()
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
    const before = await snapshot(attempt)
    await attempt.expire()
    expect(await snapshot(attempt)).toEqual(before)
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

  it('a then naming a missing spec creates it, paused, with the output units', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecData: { name: 'one', then: 'missing' } })
    await sts.addWorkUnit('a')
    await (await sts.requestOneAttempt()).finish({ output: ['x', ['y', { k: 'v' }]] })
    expect(await (await sts.workSpec.workUnit('a')).status()).toBe('finished')
    expect(await sts.namespace.workSpecNames()).toEqual(['missing', 'one'])
    const created = await sts.namespace.workSpec('missing')
    expect(await created.data()).toEqual({ name: 'missing', disabled: true })
    expect(await created.meta()).toMatchObject({ paused: true })
    expect(unitNames(await created.workUnits())).toEqual(['x', 'y'])
    expect(await (await created.workUnit('y')).data()).toEqual({ k: 'v' })
    // Paused: its units wait for a definition, which replaces the placeholder and the pause.
    expect(await sts.worker.requestAttempts({ workSpecs: ['missing'] })).toEqual([])
    await sts.namespace.setWorkSpec({ name: 'missing', weight: 5 })
    expect(await created.meta()).toMatchObject({ paused: false, weight: 5 })
    // A finish with no output creates nothing.
    await sts.namespace.setWorkSpec({ name: 'two', then: 'nowhere' })
    const two = await sts.namespace.workSpec('two')
    await two.addWorkUnit('c', {}, {})
    const [attempt] = await sts.worker.requestAttempts({ workSpecs: ['two'] })
    await attempt!.finish()
    expect(await sts.namespace.workSpecNames()).toEqual(['missing', 'one', 'two'])
  })

  it('chained units are upserted like addWorkUnit: a pending unit keeps running, a finished one comes back', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two' })
    const running = await two.addWorkUnit('running', { v: 'orig' }, {})
    const runningAttempt = await sts.worker.makeAttempt(running)
    const done = await two.addWorkUnit('done', { v: 'orig' }, {})
    await (await sts.worker.makeAttempt(done)).finish()

    await one.addWorkUnit('a', {}, {})
    const [attempt] = await sts.worker.requestAttempts({ workSpecs: ['one'] })
    expect(attempt?.workUnit.name).toBe('a')
    await attempt!.finish({ output: { running: { v: 'chained' }, done: { v: 'chained' }, fresh: { v: 'chained' } } })

    expect(unitNames(await two.workUnits())).toEqual(['done', 'fresh', 'running'])
    // The pending unit keeps its attempt, which can still finish
    expect(await running.status()).toBe('pending')
    expect((await running.activeAttempt())?.id).toBe(runningAttempt.id)
    expect(await runningAttempt.status()).toBe('pending')
    expect(await running.numAttempts()).toBe(1)
    // The finished unit is available again with the new data
    expect(await done.status()).toBe('available')
    expect(await done.data()).toEqual({ v: 'chained' })
    expect(await (await two.workUnit('fresh')).data()).toEqual({ v: 'chained' })

    await runningAttempt.finish()
    expect(await running.status()).toBe('finished')
  })

  it('Namespace.completeAttempts finishes and fails many attempts in one call', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['a', 'b', 'c']) await sts.addWorkUnit(name)
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 3 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['a', 'b', 'c'])
    const [a, b, c] = attempts as [Attempt, Attempt, Attempt]

    sts.clock.advance(SECOND)
    await sts.namespace.completeAttempts([
      { attempt: a, status: 'finished', data: { r: 'a' } },
      { attempt: b, status: 'failed', data: { traceback: 'b' } },
      { attempt: c, status: 'finished' },
    ])

    expect([await a.status(), await b.status(), await c.status()]).toEqual(['finished', 'failed', 'finished'])
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ finished: 2, failed: 1 })
    expect(await a.workUnit.data()).toEqual({ r: 'a' })
    expect(await b.workUnit.data()).toEqual({ traceback: 'b' })
    expect(await c.workUnit.data()).toEqual({})
    expect(await a.endTime()).toEqual(sts.clock.now())
    expect(await sts.worker.activeAttempts()).toEqual([])
    await sts.namespace.completeAttempts([])
  })

  it('Namespace.completeAttempts chains output like finish', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two', disabled: true })
    await one.addWorkUnit('a', {}, {})
    await one.addWorkUnit('b', {}, {})
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['a', 'b'])
    await sts.namespace.completeAttempts([
      { attempt: attempts[0]!, status: 'finished', data: { output: ['from_a'] } },
      { attempt: attempts[1]!, status: 'failed', data: { output: ['from_b'] } },
    ])
    // Only a finish chains
    expect(unitNames(await two.workUnits())).toEqual(['from_a'])
  })

  it('Namespace.completeAttempts is all or nothing: one non-pending attempt changes none', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['d', 'e', 'f']) await sts.addWorkUnit(name)
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 3 })
    const [d, e, f] = attempts as [Attempt, Attempt, Attempt]
    expect(attempts.map(describeAttempt)).toEqual(['spec/d by worker', 'spec/e by worker', 'spec/f by worker'])
    await f.finish({ r: 'f' })

    const before = [await snapshot(d), await snapshot(e), await snapshot(f)]
    sts.clock.advance(SECOND)
    await expectError(
      () =>
        sts.namespace.completeAttempts([
          { attempt: d, status: 'finished', data: { r: 'd' } },
          { attempt: e, status: 'failed' },
          { attempt: f, status: 'finished', data: { r: 'again' } },
        ]),
      NotPendingError,
    )
    expect([await snapshot(d), await snapshot(e), await snapshot(f)]).toEqual(before)
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ pending: 2, finished: 1 })
  })

  it('Namespace.completeAttempts with a chaining finish and a non-pending attempt changes none', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two', disabled: true })
    for (const name of ['g', 'h']) await one.addWorkUnit(name)
    const [g, h] = (await sts.worker.requestAttempts({ numberOfWorkUnits: 2 })) as [Attempt, Attempt]
    await h.fail()

    const before = [await snapshot(g), await snapshot(h)]
    await expectError(
      () =>
        sts.namespace.completeAttempts([
          { attempt: g, status: 'finished', data: { output: ['from_g'] } },
          { attempt: h, status: 'finished' },
        ]),
      NotPendingError,
    )
    expect([await snapshot(g), await snapshot(h)]).toEqual(before)
    expect(await two.workUnits()).toEqual([])
    // Alone, the chaining finish goes through and chains.
    await sts.namespace.completeAttempts([{ attempt: g, status: 'finished', data: { output: ['from_g'] } }])
    expect(unitNames(await two.workUnits())).toEqual(['from_g'])
  })

  it('finish with data it cannot store is rejected and leaves the attempt pending', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec', workUnitName: 'unit' })
    const attempt = await sts.requestOneAttempt()
    const before = await snapshot(attempt)
    await expectError(() => attempt.finish({ f: () => 1 } as unknown as DataDict), InvalidInputError)
    await expectError(() => attempt.fail({ u: undefined } as unknown as DataDict), InvalidInputError)
    await expectError(() => attempt.renew(MINUTE, { d: new Date(0) } as unknown as DataDict), InvalidInputError)
    expect(await snapshot(attempt)).toEqual(before)
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
