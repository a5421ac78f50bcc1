import { expect, it } from 'vitest'
import {
  type Attempt,
  NotPendingError,
  SECOND,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  attemptState,
  SimpleTestSetup,
  describeAttempt,
  expectError,
  unitNames,
} from './helpers.js'

/** Namespace.completeAttempts: many attempts finished or failed in one all-or-nothing call. */
export function batchCompletionCases(ctx: ContextGetter): void {
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

    const before = [await attemptState(d), await attemptState(e), await attemptState(f)]
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
    expect([await attemptState(d), await attemptState(e), await attemptState(f)]).toEqual(before)
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ pending: 2, finished: 1 })
  })

  it('Namespace.completeAttempts with a chaining finish and a non-pending attempt changes none', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two', disabled: true })
    for (const name of ['g', 'h']) await one.addWorkUnit(name)
    const [g, h] = (await sts.worker.requestAttempts({ numberOfWorkUnits: 2 })) as [Attempt, Attempt]
    await h.fail()

    const before = [await attemptState(g), await attemptState(h)]
    await expectError(
      () =>
        sts.namespace.completeAttempts([
          { attempt: g, status: 'finished', data: { output: ['from_g'] } },
          { attempt: h, status: 'finished' },
        ]),
      NotPendingError,
    )
    expect([await attemptState(g), await attemptState(h)]).toEqual(before)
    expect(await two.workUnits()).toEqual([])
    // Alone, the chaining finish goes through and chains.
    await sts.namespace.completeAttempts([{ attempt: g, status: 'finished', data: { output: ['from_g'] } }])
    expect(unitNames(await two.workUnits())).toEqual(['from_g'])
  })
}
