import { expect, it } from 'vitest'
import {
  SECOND,
  Tuple,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  SimpleTestSetup,
  expectUnitPriority,
  unitNames,
} from './helpers.js'

/** Output chaining through a spec's 'then': go-coordinate's cases, plus the upsert and missing-spec fixes. */
export function chainingCases(ctx: ContextGetter): void {
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

    // Each of one's units chains 'z' into two, which runs it again every time.
    for (const name of ['a', 'b']) {
      sts.workSpec = one
      let attempt = await sts.requestOneAttempt()
      expect(attempt.workUnit.name).toBe(name)
      await attempt.finish({ output: ['z'] })

      sts.workSpec = two
      attempt = await sts.requestOneAttempt()
      expect(attempt.workUnit.name).toBe('z')
      await attempt.finish({})
    }

    await sts.requestNoAttempts()
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
}
