import { expect, it } from 'vitest'
import {
  BadWorkSpecNameError,
  ChangedNameError,
  type DataDict,
  type DataValue,
  MINUTE,
  NoWorkSpecNameError,
  SECOND,
  type WorkSpecMeta,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  SimpleTestSetup,
  exoticData,
  expectError,
  expectExactData,
  expectGone,
  later,
} from './helpers.js'

/** The meta of a spec whose dict only says `min_gb: 1` (what SimpleTestSetup adds). */
const DEFAULT_META: WorkSpecMeta = {
  priority: 0,
  weight: 20,
  paused: false,
  continuous: false,
  canBeContinuous: false,
  minMemoryGb: 1,
  intervalMs: 0,
  nextContinuous: null,
  maxRunning: 0,
  maxAttemptsReturned: 0,
  maxRetries: 0,
  nextWorkSpecName: '',
  runtime: '',
  availableCount: 0,
  pendingCount: 0,
}

const PREFILLED_DATA: DataDict = {
  name: 'spec',
  min_gb: 1,
  priority: 10,
  weight: 100,
  disabled: true,
  continuous: true,
  interval: 60,
  max_running: 10,
  max_getwork: 1,
  max_retries: 20,
  then: 'spec2',
  runtime: 'go',
}

const PREFILLED_META: WorkSpecMeta = {
  priority: 10,
  weight: 100,
  paused: true,
  continuous: true,
  canBeContinuous: true,
  minMemoryGb: 1,
  intervalMs: 60 * SECOND,
  nextContinuous: null,
  maxRunning: 10,
  maxAttemptsReturned: 1,
  maxRetries: 20,
  nextWorkSpecName: 'spec2',
  runtime: 'go',
  availableCount: 0,
  pendingCount: 0,
}

/** go-coordinate coordinatetest/work_spec.go, plus the spec-level fixes recorded in docs/design.md. */
export function workSpecCases(ctx: ContextGetter): void {
  it('replacing a spec\'s data keeps its name and re-derives its meta (TestChangeSpecData)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    await sts.workSpec.setData({ name: 'spec', min_gb: 2, foo: 'bar' })
    expect(await sts.workSpec.data()).toEqual({ name: 'spec', min_gb: 2, foo: 'bar' })

    await expectError(() => sts.workSpec.setData({}), NoWorkSpecNameError)
    await expectError(() => sts.workSpec.setData({ name: 'name', min_gb: 3 }), ChangedNameError)

    expect(await sts.workSpec.data()).toEqual({ name: 'spec', min_gb: 2, foo: 'bar' })
  })

  it('an empty list in a spec\'s data stays an empty list (TestDataEmptyList)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecData: { name: 'spec', config: { empty_list: [] } } })
    const data = await sts.workSpec.data()
    expect(data).toHaveProperty('config')
    const config = data.config
    const found: DataValue | undefined = config instanceof Map ? config.get('empty_list') : (config as DataDict).empty_list
    expect(found).toEqual([])
    expect(Array.isArray(found)).toBe(true)
  })

  it('a spec set with only a name has the default meta (TestDefaultMeta)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    expect(await sts.workSpec.meta()).toEqual(DEFAULT_META)
    expect(await sts.workSpec.meta({ withCounts: false })).toEqual(DEFAULT_META)
  })

  it('a spec\'s data sets every meta field it names (TestPrefilledMeta)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecData: PREFILLED_DATA })
    expect(await sts.workSpec.meta()).toEqual(PREFILLED_META)
  })

  it('replacing a spec\'s data sets the meta its new data names (TestSetDataSetsMeta)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    expect(await sts.workSpec.meta()).toEqual(DEFAULT_META)
    await sts.workSpec.setData(PREFILLED_DATA)
    expect(await sts.workSpec.meta()).toEqual(PREFILLED_META)
  })

  it('nice lowers a spec\'s weight (to at least 1) and an explicit weight wins over it (TestNiceWeight)', async () => {
    const { namespace } = ctx()
    const spec = await namespace.setWorkSpec({ name: 'spec', min_gb: 1, nice: 5 })
    expect((await spec.meta()).weight).toBe(15)

    // Lower bound on weight
    await spec.setData({ name: 'spec', min_gb: 1, nice: 100 })
    expect((await spec.meta()).weight).toBe(1)

    // No lower bound on niceness
    await spec.setData({ name: 'spec', min_gb: 1, nice: -80 })
    expect((await spec.meta()).weight).toBe(100)

    // Weight trumps nice
    await spec.setData({ name: 'spec', min_gb: 1, weight: 50, nice: 5 })
    expect((await spec.meta()).weight).toBe(50)

    // Removing either flag resets to default
    await spec.setData({ name: 'spec', min_gb: 1 })
    expect((await spec.meta()).weight).toBe(20)
  })

  it('setting meta changes the settable fields and only those (TestSetMeta)', async () => {
    const { namespace } = ctx()
    const spec = await namespace.setWorkSpec({ name: 'spec', min_gb: 1, continuous: true })
    expect(await spec.meta()).toEqual({ ...DEFAULT_META, continuous: true, canBeContinuous: true })

    await spec.setMeta({
      priority: 10,
      weight: 100,
      paused: true,
      continuous: false,
      canBeContinuous: false,
      intervalMs: 60 * SECOND,
      nextContinuous: null,
      maxRunning: 10,
      maxAttemptsReturned: 1,
      maxRetries: 20,
      nextWorkSpecName: 'then',
      availableCount: 100,
      pendingCount: 50,
      runtime: 'go',
    })

    expect(await spec.meta()).toEqual({
      priority: 10,
      weight: 100,
      paused: true,
      continuous: false,
      canBeContinuous: true, // cannot clear "can be continuous"
      minMemoryGb: 1,
      intervalMs: 60 * SECOND,
      nextContinuous: null,
      maxRunning: 10,
      maxAttemptsReturned: 1,
      maxRetries: 20,
      nextWorkSpecName: '', // cannot change the following spec
      runtime: '', // cannot change the runtime
      availableCount: 0, // cannot set the counts
      pendingCount: 0,
    })
  })

  it('continuous can be turned on only for a spec declared continuous (TestMetaContinuous)', async () => {
    const { namespace } = ctx()
    const spec = await namespace.setWorkSpec({ name: 'spec', min_gb: 1 })
    const meta = await spec.meta()
    expect(meta.continuous).toBe(false)
    expect(meta.canBeContinuous).toBe(false)

    meta.continuous = true
    await spec.setMeta(meta)

    const after = await spec.meta()
    expect(after.continuous).toBe(false)
    expect(after.canBeContinuous).toBe(false)
  })

  it('meta with counts counts available and pending units as they change (TestMetaCounts)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const checkCounts = async (available: number, pending: number) => {
      const meta = await sts.workSpec.meta({ withCounts: true })
      expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available, pending })
    }
    await checkCounts(0, 0)

    // Adding a work unit adds to the available count
    await sts.addWorkUnit('one')
    await checkCounts(1, 0)

    // Starting an attempt makes it pending
    sts.clock.advance(5 * SECOND)
    let attempt = await sts.requestOneAttempt()
    await checkCounts(0, 1)

    // Expiring an attempt makes it available again
    await attempt.expire()
    await checkCounts(1, 0)

    sts.clock.advance(5 * SECOND)
    attempt = await sts.requestOneAttempt()
    await checkCounts(0, 1)

    // Marking an attempt retryable makes it available again
    await attempt.retry(undefined, 0)
    await checkCounts(1, 0)

    sts.clock.advance(5 * SECOND)
    attempt = await sts.requestOneAttempt()
    await checkCounts(0, 1)

    // Finishing an attempt takes it out of the counts entirely
    await attempt.finish()
    await checkCounts(0, 0)
  })

  it('a handle to a destroyed spec reports it as gone (TestSpecDeletedGone)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    await sts.namespace.destroyWorkSpec('spec')
    await expectGone(() => sts.workSpec.meta(), { workSpec: 'spec' })
    await expectGone(() => sts.workSpec.addWorkUnit('foo', {}, {}), { workSpec: 'spec' })
  })

  it('a handle to a spec of a destroyed namespace reports it as gone (TestSpecInNamespaceGone)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    await sts.namespace.destroy()
    await expectGone(() => sts.workSpec.meta(), { workSpec: 'spec' })
    await expectGone(() => sts.workSpec.addWorkUnit('foo', {}, {}), { workSpec: 'spec' })
  })

  it('a continuous spec with a one-day interval hands out its first unit at once (TestOneDayInterval)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), {
      workerName: 'worker',
      workSpecData: { name: 'spec', min_gb: 1, continuous: true, interval: 86400 },
    })
    await sts.requestOneAttempt()
  })

  // ---- coordinate-ts fixes (docs/design.md, "Model") ----

  it('meta withCounts does not count delayed units as available', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.workSpec.addWorkUnit('later', {}, { notBefore: later(sts.clock, MINUTE) })
    await sts.workSpec.addWorkUnit('now', {}, {})
    let meta = await sts.workSpec.meta({ withCounts: true })
    expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available: 1, pending: 0 })

    // A unit retried with a delay is delayed too.
    const attempts = await sts.worker.requestAttempts({})
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['now'])
    await attempts[0]!.retry(undefined, 2 * MINUTE)
    meta = await sts.workSpec.meta({ withCounts: true })
    expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available: 0, pending: 0 })

    sts.clock.advance(MINUTE + SECOND)
    meta = await sts.workSpec.meta({ withCounts: true })
    expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available: 1, pending: 0 })

    sts.clock.advance(MINUTE)
    meta = await sts.workSpec.meta({ withCounts: true })
    expect({ available: meta.availableCount, pending: meta.pendingCount }).toEqual({ available: 2, pending: 0 })
  })

  it('requestAttempts with availableGb skips specs whose min_gb is larger', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })
    const big = await sts.namespace.setWorkSpec({ name: 'big', min_gb: 4 })
    await big.addWorkUnit('b', {}, {})

    expect(await sts.worker.requestAttempts({ availableGb: 2 })).toEqual([])
    expect(await big.countWorkUnitStatus()).toEqual({ available: 1 })

    const small = await sts.namespace.setWorkSpec({ name: 'small', min_gb: 1 })
    await small.addWorkUnit('s', {}, {})
    let attempts = await sts.worker.requestAttempts({ availableGb: 2 })
    expect(attempts.map((a) => `${a.workUnit.workSpec.name}/${a.workUnit.name}`)).toEqual(['small/s'])

    // Exactly enough memory is enough.
    attempts = await sts.worker.requestAttempts({ availableGb: 4 })
    expect(attempts.map((a) => `${a.workUnit.workSpec.name}/${a.workUnit.name}`)).toEqual(['big/b'])
  })

  it('requestAttempts without availableGb has no memory limit', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecData: { name: 'huge', min_gb: 512 } })
    await sts.addWorkUnit('u')
    expect((await sts.worker.requestAttempts({})).map((a) => a.workUnit.name)).toEqual(['u'])
  })

  it('setData with a bad or changed name is rejected and leaves the spec alone', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecData: { name: 'spec', min_gb: 1, priority: 3 } })
    await expectError(() => sts.workSpec.setData({ name: 'other', priority: 9 }), ChangedNameError)
    await expectError(() => sts.workSpec.setData({ name: 7, priority: 9 }), BadWorkSpecNameError)
    await expectError(() => sts.workSpec.setData({ priority: 9 }), NoWorkSpecNameError)
    expect(await sts.workSpec.data()).toEqual({ name: 'spec', min_gb: 1, priority: 3 })
    expect((await sts.workSpec.meta()).priority).toBe(3)
    expect(await sts.namespace.workSpecNames()).toEqual(['spec'])
  })

  it('spec data round-trips exactly', async () => {
    const { namespace } = ctx()
    const data: DataDict = { name: 'spec', ...exoticData() }
    const spec = await namespace.setWorkSpec(data)
    expectExactData(await spec.data(), data)
    expectExactData(await (await namespace.workSpec('spec')).data(), data)

    await spec.setData({ ...data, extra: Uint8Array.of(7) })
    expectExactData(await spec.data(), { ...data, extra: Uint8Array.of(7) })
  })
}
