import { expect, it } from 'vitest'
import {
  MINUTE,
  SECOND,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  SimpleTestSetup,
  expectTimeNear,
  later,
} from './helpers.js'

/** go-coordinate's cases of which unit a request is handed: continuous specs, max_running, specs and runtimes named by the request, not-before. */
export function schedulingCases(ctx: ContextGetter): void {
  it('a continuous spec with no units makes one when a worker asks (TestContinuous)', async () => {
    const { coordinate } = ctx()
    // go runs this one in the "" namespace (SimpleTestSetup with no NamespaceName).
    await (await coordinate.namespace('')).destroy()
    const namespace = await coordinate.namespace('')
    try {
      const sts = await SimpleTestSetup.setUp(ctx(), {
        namespace,
        workerName: 'worker',
        workSpecData: { name: 'spec', continuous: true },
      })
      const makeAttempt = async (expected: number) => {
        sts.clock.advance(5 * SECOND)
        const attempts = await sts.worker.requestAttempts({})
        expect(attempts).toHaveLength(expected)
        for (const attempt of attempts) await attempt.finish()
      }

      // No units were added, but the spec is continuous, so there is something to do.
      await makeAttempt(1)

      // Turning continuous off and on with setMeta decides whether units come back.
      const meta = await sts.workSpec.meta()
      meta.continuous = false
      await sts.workSpec.setMeta(meta)
      await makeAttempt(0)

      meta.continuous = true
      await sts.workSpec.setMeta(meta)
      await makeAttempt(1)
    } finally {
      await (await coordinate.namespace('')).destroy()
    }
  })

  it('a continuous spec makes its next unit only once its interval has passed (TestContinuousInterval)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecData: { name: 'spec', continuous: true, interval: 60 },
    })
    const makeAttempt = async (expected: number) => {
      const attempts = await sts.worker.requestAttempts({})
      expect(attempts).toHaveLength(expected)
      for (const attempt of attempts) await attempt.finish()
    }

    const start = sts.clock.now()
    await makeAttempt(1)

    // The next continuous unit is due one interval after the start.
    const meta = await sts.workSpec.meta()
    expect(meta.intervalMs).toBe(MINUTE)
    expectTimeNear(meta.nextContinuous, new Date(start.getTime() + MINUTE), 1)

    // 30 seconds is not enough
    sts.clock.advance(30 * SECOND)
    await makeAttempt(0)

    // 30 more is
    sts.clock.advance(30 * SECOND)
    await makeAttempt(1)

    // Waiting 120 more gives only one
    sts.clock.advance(120 * SECOND)
    await makeAttempt(1)
    await makeAttempt(0)
  })

  it('a spec never has more than max_running units pending (TestMaxRunning)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecData: { name: 'spec', max_running: 1 } })
    for (let i = 0; i < 10; i++) await sts.addWorkUnit(`u${i}`)

    // Nothing is pending, so one comes back
    sts.clock.advance(5 * SECOND)
    const attempt = await sts.requestOneAttempt()

    // While that runs, max_running is reached
    sts.clock.advance(5 * SECOND)
    await sts.requestNoAttempts()

    await attempt.finish()

    // Asking for 20 still gives only one
    sts.clock.advance(5 * SECOND)
    expect(await sts.worker.requestAttempts({ numberOfWorkUnits: 20 })).toHaveLength(1)
  })

  it('a request naming specs claims only from them (TestRequestSpecificSpec)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', priority: 20 })
    await one.addWorkUnit('u1', {}, {})
    const two = await sts.namespace.setWorkSpec({ name: 'two', priority: 10 })
    await two.addWorkUnit('u2', {}, {})
    const three = await sts.namespace.setWorkSpec({ name: 'three', priority: 0 })
    await three.addWorkUnit('u3', {}, {})

    const requestAndRetry = async (workSpecs: string[] | undefined, expected: string[]) => {
      sts.clock.advance(5 * SECOND)
      const attempts = await sts.worker.requestAttempts(workSpecs === undefined ? {} : { workSpecs })
      expect(attempts.map((a) => a.workUnit.name)).toEqual(expected)
      for (const attempt of attempts) await attempt.retry(undefined, 0)
    }

    // A plain request gets the highest-priority spec
    await requestAndRetry(undefined, ['u1'])
    // Asking for "three" gives only "three"
    await requestAndRetry(['three'], ['u3'])
    // "two" and "three" give "two", the higher priority
    await requestAndRetry(['three', 'two'], ['u2'])
    // "four" gives nothing, and no error
    await requestAndRetry(['four'], [])
    // An empty list means any spec
    await requestAndRetry([], ['u1'])
  })

  it('a request naming runtimes claims only from specs of those runtimes (TestByRuntime)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const pSpec = await sts.namespace.setWorkSpec({ name: 'p' })
    const pUnit = await pSpec.addWorkUnit('p', {}, {})
    const gSpec = await sts.namespace.setWorkSpec({ name: 'g', runtime: 'go' })
    const gUnit = await gSpec.addWorkUnit('g', {}, {})

    // Default requests get both units, in some order, then nothing
    sts.clock.advance(5 * SECOND)
    const first = await sts.requestOneAttempt()
    await first.finish({})
    sts.clock.advance(5 * SECOND)
    const second = await sts.requestOneAttempt()
    await second.finish({})
    expect([first.workUnit.name, second.workUnit.name].sort()).toEqual(['g', 'p'])
    sts.clock.advance(5 * SECOND)
    await sts.requestNoAttempts()

    // Reset the world
    await pUnit.clearActiveAttempt()
    await gUnit.clearActiveAttempt()

    const requestByRuntime = async (runtimes: string[], expected: string) => {
      sts.clock.advance(5 * SECOND)
      const attempts = await sts.worker.requestAttempts({ runtimes })
      expect(attempts.map((a) => a.workUnit.name)).toEqual([expected])
      await attempts[0]!.retry({}, 0)
    }
    // What the jobserver asks for
    await requestByRuntime([''], 'p')
    // A more sophisticated Python worker
    await requestByRuntime(['python', 'python_2', 'python_2.7', ''], 'p')
    // A Go worker
    await requestByRuntime(['go'], 'g')
  })

  it('a unit with a future not-before is delayed until then (TestNotBeforeDelayedStatus)', async () => {
    const { clock } = ctx()
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workSpecName: 'spec',
      workUnitName: 'unit',
      workUnitMeta: { notBefore: later(clock, 5 * SECOND) },
    })
    await sts.checkUnitStatus('delayed')
    sts.clock.advance(10 * SECOND)
    await sts.checkUnitStatus('available')
  })

  it('a delayed unit is not handed out until its not-before passes (TestNotBeforeAttempt)', async () => {
    const { clock } = ctx()
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecName: 'spec',
      workUnitName: 'unit',
      workUnitMeta: { notBefore: later(clock, 60 * SECOND) },
    })
    // Nothing yet: the not-before time has not come
    await sts.checkWorkUnitOrder()
    sts.clock.advance(120 * SECOND)
    await sts.checkWorkUnitOrder('unit')
  })

  it('a delayed unit of higher priority waits while a unit that can run now is handed out (TestNotBeforePriority)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const then = later(sts.clock, 60 * SECOND)
    // "first" has default priority and can run now
    await sts.workSpec.addWorkUnit('first', {}, {})
    // "second" has a higher priority but cannot run yet
    await sts.workSpec.addWorkUnit('second', {}, { priority: 10, notBefore: then })

    await sts.checkWorkUnitOrder('first')
    sts.clock.advance(60 * SECOND)
    await sts.checkWorkUnitOrder('second')
  })

  it('chained output units may be delayed (TestDelayedOutput)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const one = await sts.namespace.setWorkSpec({ name: 'one', then: 'two' })
    const two = await sts.namespace.setWorkSpec({ name: 'two' })
    await one.addWorkUnit('unit', {}, {})

    const attempt = await sts.requestOneAttempt()
    expect(attempt.workUnit.workSpec.name).toBe('one')
    await attempt.finish({ output: [['u2', {}, { delay: 90 }]] })

    // Nothing right now
    sts.clock.advance(5 * SECOND)
    await sts.requestNoAttempts()

    // Far enough ahead, "two" has its unit
    sts.clock.advance(120 * SECOND)
    sts.workSpec = two
    await sts.checkWorkUnitOrder('u2')
  })
}
