import { expect, it } from 'vitest'
import {
  type DataDict,
  HOUR,
  InvalidInputError,
  MINUTE,
  NoSuchWorkUnitError,
  SECOND,
  type SummaryRecord,
  type WorkUnitKey,
  type WorkUnitStatus,
} from '../../src/coordinate/index.js'
import {
  type ContextGetter,
  MADE_UNIT_NAMES,
  SimpleTestSetup,
  exoticData,
  expectError,
  expectExactData,
  expectGone,
  expectUnitPriority,
  later,
  unitNames,
} from './helpers.js'

const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex')

/** go-coordinate coordinatetest/work_unit.go, plus the unit-level fixes and input checks. */
export function workUnitCases(ctx: ContextGetter): void {
  it('an added unit is listed, readable by key and available (TestTrivialWorkUnitFlow)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec', workUnitName: 'unit' })

    const units = await sts.workSpec.workUnits({})
    expect(unitNames(units)).toEqual(['unit'])
    expect(units[0]!.workSpec.name).toBe('spec')

    expect(await sts.workSpec.deleteWorkUnits({})).toBe(1)

    const missing = await expectError(() => sts.workSpec.workUnit('unit'), NoSuchWorkUnitError)
    expect(missing.workUnitName).toBe('unit')

    expect(await sts.workSpec.workUnits({})).toEqual([])
  })

  it('unit queries select by name, status, previous name and limit (TestWorkUnitQueries)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.makeWorkUnits()
    const query = async (q: Parameters<typeof sts.workSpec.workUnits>[0]) => unitNames(await sts.workSpec.workUnits(q))

    // Everything, sorted by key
    expect(await query({})).toEqual(['available', 'delayed', 'expired', 'failed', 'finished', 'pending', 'retryable'])
    // Everything in two batches
    expect(await query({ limit: 4 })).toEqual(['available', 'delayed', 'expired', 'failed'])
    expect(await query({ previousName: 'failed', limit: 4 })).toEqual(['finished', 'pending', 'retryable'])
    expect(await query({ previousName: 'retryable', limit: 4 })).toEqual([])

    // By status
    expect(await query({ statuses: ['available'] })).toEqual(['available', 'expired', 'retryable'])
    expect(await query({ statuses: ['pending'] })).toEqual(['pending'])
    expect(await query({ statuses: ['finished'] })).toEqual(['finished'])
    expect(await query({ statuses: ['failed'] })).toEqual(['failed'])
    expect(await query({ statuses: ['delayed'] })).toEqual(['delayed'])
    expect(await query({ statuses: ['failed', 'finished'] })).toEqual(['failed', 'finished'])

    // By name
    expect(await query({ names: ['available', 'failed', 'missing'] })).toEqual(['available', 'failed'])

    // By name and status
    expect(await query({ names: ['available', 'retryable', 'finished'], statuses: ['available'] })).toEqual([
      'available',
      'retryable',
    ])
  })

  it('deleting units by query removes exactly the selected ones (TestDeleteWorkUnits)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.makeWorkUnits()
    const all = async () => unitNames(await sts.workSpec.workUnits({}))

    expect(await all()).toEqual(['available', 'delayed', 'expired', 'failed', 'finished', 'pending', 'retryable'])

    // Delete by name
    expect(await sts.workSpec.deleteWorkUnits({ names: ['retryable'] })).toBe(1)
    expect(await all()).toEqual(['available', 'delayed', 'expired', 'failed', 'finished', 'pending'])

    // The same again: a missing name is a no-op
    expect(await sts.workSpec.deleteWorkUnits({ names: ['retryable'] })).toBe(0)
    expect(await all()).toEqual(['available', 'delayed', 'expired', 'failed', 'finished', 'pending'])

    // Delete by status
    expect(await sts.workSpec.deleteWorkUnits({ statuses: ['failed', 'finished'] })).toBe(2)
    expect(await all()).toEqual(['available', 'delayed', 'expired', 'pending'])

    // Delete everything
    expect(await sts.workSpec.deleteWorkUnits({})).toBe(4)
    expect(await all()).toEqual([])
  })

  it('units are counted per status (TestCountWorkUnitStatus)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.makeWorkUnits()
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ available: 3, pending: 1, finished: 1, failed: 1, delayed: 1 })
  })

  it('units are handed out in name order at equal priority (TestWorkUnitOrder)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['c', 'b', 'a']) await sts.addWorkUnit(name)
    await sts.checkWorkUnitOrder('a', 'b', 'c')
  })

  it('a priority given when adding a unit orders the claims (TestWorkUnitPriorityCtor)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const [name, priority] of [['a', 0], ['b', 10], ['c', 0]] as const) {
      const unit = await sts.workSpec.addWorkUnit(name, {}, { priority })
      await expectUnitPriority(unit, priority)
    }
    await sts.checkWorkUnitOrder('b', 'a', 'c')
  })

  it('changing priorities reorders the claims (TestWorkUnitPrioritySet)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })

    const a = await sts.workSpec.addWorkUnit('a', {}, {})
    await expectUnitPriority(a, 0)

    const b = await sts.workSpec.addWorkUnit('b', {}, {})
    await b.setMeta({ priority: 10 })
    await expectUnitPriority(b, 10)

    const c = await sts.workSpec.addWorkUnit('c', {}, {})
    expect(await sts.workSpec.setWorkUnitPriorities({ names: ['c'] }, 20)).toBe(1)
    await expectUnitPriority(c, 20)

    const d = await sts.workSpec.addWorkUnit('d', {}, {})
    expect(await sts.workSpec.adjustWorkUnitPriorities({ names: ['d'] }, 20)).toBe(1)
    await expectUnitPriority(d, 20)
    expect(await sts.workSpec.adjustWorkUnitPriorities({ names: ['d'] }, 10)).toBe(1)
    await expectUnitPriority(d, 30)

    await expectUnitPriority(await sts.workSpec.workUnit('b'), 10)

    await sts.checkWorkUnitOrder('d', 'c', 'b', 'a')
  })

  it('each unit keeps its own data (TestWorkUnitData)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    await sts.workSpec.addWorkUnit('a', { name: 'a', value: 1 }, {})
    await sts.workSpec.addWorkUnit('b', { name: 'b', value: 2 }, {})
    expect(await (await sts.workSpec.workUnit('a')).data()).toEqual({ name: 'a', value: 1 })
    expect(await (await sts.workSpec.workUnit('b')).data()).toEqual({ name: 'b', value: 2 })
  })

  it('a unit added to one spec does not appear in another with the same key (TestAddWorkUnitBleedover)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx())
    const specA = await sts.namespace.setWorkSpec({ name: 'a' })
    const specB = await sts.namespace.setWorkSpec({ name: 'b' })
    const unitA = await specA.addWorkUnit('unit', { unit: 'a' }, {})
    const unitB = await specB.addWorkUnit('unit', { unit: 'b' }, {})

    expect(await unitA.data()).toEqual({ unit: 'a' })
    expect(await unitB.data()).toEqual({ unit: 'b' })

    const unitB2 = await specB.addWorkUnit('unit', { unit: 'c' }, {})

    expect(await unitA.data()).toEqual({ unit: 'a' })
    expect(await unitB.data()).toEqual({ unit: 'c' })
    expect(await unitB2.data()).toEqual({ unit: 'c' })
  })

  it('adding a unit again resets a finished or failed one and leaves a pending one running (TestRecreateWorkUnits)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.makeWorkUnits()
    const statuses: Record<string, WorkUnitStatus> = {}
    for (const name of MADE_UNIT_NAMES) {
      const unit = await sts.addWorkUnit(name)
      statuses[name] = await unit.status()
    }
    // Unless it was pending, a re-added unit is available again.
    expect(statuses).toEqual({
      available: 'available',
      pending: 'pending',
      finished: 'available',
      failed: 'available',
      expired: 'available',
      retryable: 'available',
      delayed: 'available',
    })
  })

  it('a handle to a deleted unit reports it as gone (TestUnitDeletedGone)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec', workUnitName: 'unit' })
    await sts.workSpec.deleteWorkUnits({})
    await expectGone(() => sts.workUnit.status(), { workSpec: 'spec', workUnit: 'unit' })
  })

  it('a handle to a unit whose spec was destroyed reports it as gone (TestUnitSpecDeletedGone)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec', workUnitName: 'unit' })
    await sts.namespace.destroyWorkSpec('spec')
    await expectGone(() => sts.workUnit.status(), { workSpec: 'spec', workUnit: 'unit' })
  })

  it('summaries count units per namespace, spec and status at every level (TestSummarize)', async () => {
    const { coordinate, testName } = ctx()
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const summaries = async () => [await coordinate.summarize(), await sts.namespace.summarize(), await sts.workSpec.summarize()]
    const record = (status: WorkUnitStatus, count: number): SummaryRecord => ({ namespace: testName, workSpec: 'spec', status, count })

    expect(await summaries()).toEqual([[], [], []])

    await sts.addWorkUnit('unit')
    const one = [record('available', 1)]
    expect(await summaries()).toEqual([one, one, one])

    // One record per (namespace, spec, status), in status order, whatever path led there.
    await sts.makeWorkUnits()
    const eight = [record('available', 4), record('pending', 1), record('finished', 1), record('failed', 1), record('delayed', 1)]
    expect(await summaries()).toEqual([eight, eight, eight])
  })

  // ---- coordinate-ts fixes and input checks ----

  it('summaries have one record per (namespace, spec, status), however the units got there', async () => {
    const { coordinate, testName } = ctx()
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const other = await sts.namespace.setWorkSpec({ name: 'another' })
    await other.addWorkUnit('x', {}, {})

    // Five available units reached five ways, including a lease that ran out unnoticed.
    await sts.addWorkUnit('fresh')
    const lapsed = await sts.addWorkUnit('lapsed')
    await sts.worker.makeAttempt(lapsed, MINUTE)
    const cleared = await sts.addWorkUnit('cleared')
    await sts.worker.makeAttempt(cleared)
    await cleared.clearActiveAttempt()
    const redone = await sts.addWorkUnit('redone')
    await (await sts.worker.makeAttempt(redone)).finish()
    await sts.addWorkUnit('redone')
    const due = await sts.workSpec.addWorkUnit('due', {}, { notBefore: later(sts.clock, MINUTE) })
    // And two delayed ones, two ways.
    await sts.workSpec.addWorkUnit('waiting', {}, { notBefore: later(sts.clock, HOUR) })
    const retried = await sts.addWorkUnit('retried')
    await (await sts.worker.makeAttempt(retried)).retry(undefined, HOUR)
    sts.clock.advance(2 * MINUTE)
    expect(await lapsed.status()).toBe('available')
    expect(await due.status()).toBe('available')

    const expected: SummaryRecord[] = [
      { namespace: testName, workSpec: 'another', status: 'available', count: 1 },
      { namespace: testName, workSpec: 'spec', status: 'available', count: 5 },
      { namespace: testName, workSpec: 'spec', status: 'delayed', count: 2 },
    ]
    expect(await coordinate.summarize()).toEqual(expected)
    expect(await sts.namespace.summarize()).toEqual(expected)
    expect(await sts.workSpec.summarize()).toEqual(expected.slice(1))
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ available: 5, delayed: 2 })
  })

  it('deleteWorkUnits honours a limit, alone and with other filters', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    for (const name of ['e', 'b', 'd', 'a', 'c', 'f']) await sts.addWorkUnit(name)
    const all = async () => unitNames(await sts.workSpec.workUnits({}))

    expect(await sts.workSpec.deleteWorkUnits({ limit: 2 })).toBe(2)
    expect(await all()).toEqual(['c', 'd', 'e', 'f'])

    // The pending unit "c" does not match; the first available one after "c" goes.
    await sts.worker.makeAttempt(await sts.workSpec.workUnit('c'))
    expect(await sts.workSpec.deleteWorkUnits({ statuses: ['available'], limit: 1 })).toBe(1)
    expect(await all()).toEqual(['c', 'e', 'f'])

    expect(await sts.workSpec.deleteWorkUnits({ previousName: 'c', limit: 1 })).toBe(1)
    expect(await all()).toEqual(['c', 'f'])

    expect(await sts.workSpec.deleteWorkUnits({ names: ['f', 'c'], limit: 5 })).toBe(2)
    expect(await all()).toEqual([])
  })

  it('workUnits returns WorkUnit handles sorted by key', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    for (const name of ['b10', 'a', 'B', 'b2', 'aa']) await sts.workSpec.addWorkUnit(name, { n: name }, {})
    const units = await sts.workSpec.workUnits()
    expect(unitNames(units)).toEqual(['B', 'a', 'aa', 'b10', 'b2'])
    expect(units.map((u) => u.workSpec.name)).toEqual(['spec', 'spec', 'spec', 'spec', 'spec'])
    expect(await units[3]!.data()).toEqual({ n: 'b10' })
  })

  it('binary keys round-trip through addWorkUnit, workUnit and workUnits', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const zero = Uint8Array.of(0x00)
    const high = Uint8Array.of(0xff, 0x80)
    const aNul = Uint8Array.of(0x61, 0x00)

    const added = await sts.workSpec.addWorkUnit(high, { k: 'high' }, {})
    expect(added.key).toBeInstanceOf(Uint8Array)
    expect(hex(added.key)).toBe('ff80')
    expect(added.name).toBe('\ufffd\ufffd')
    await sts.workSpec.addWorkUnit('a', { k: 'a' }, {})
    await sts.workSpec.addWorkUnit(zero, { k: 'zero' }, {})
    await sts.workSpec.addWorkUnit('\u00e9', { k: 'e-acute' }, {})
    await sts.workSpec.addWorkUnit(aNul, { k: 'a-nul' }, {})

    for (const [key, k] of [[zero, 'zero'], [high, 'high'], [aNul, 'a-nul']] as const) {
      const unit = await sts.workSpec.workUnit(key)
      expect(unit.key).toBeInstanceOf(Uint8Array)
      expect(hex(unit.key)).toBe(hex(key))
      expect(await unit.data()).toEqual({ k })
    }
    expect((await sts.workSpec.workUnit(zero)).name).toBe('\u0000')

    // A text key is its UTF-8 bytes.
    const eAcute = await sts.workSpec.workUnit(Uint8Array.of(0xc3, 0xa9))
    expect(eAcute.name).toBe('\u00e9')
    expect(await eAcute.data()).toEqual({ k: 'e-acute' })

    // Byte order: 00 < 61 < 61 00 < c3 a9 < ff 80
    const keys = async (q: Parameters<typeof sts.workSpec.workUnits>[0]) => (await sts.workSpec.workUnits(q)).map((u) => hex(u.key))
    expect(await keys({})).toEqual(['00', '61', '6100', 'c3a9', 'ff80'])
    expect(await keys({ names: [high, 'a', Uint8Array.of(0x01)] })).toEqual(['61', 'ff80'])
    expect(await keys({ previousName: 'a' })).toEqual(['6100', 'c3a9', 'ff80'])
    expect(await keys({ previousName: aNul, limit: 1 })).toEqual(['c3a9'])

    // Claims go by key order too; the attempt's unit keeps the exact bytes.
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(attempts.map((a) => hex(a.workUnit.key))).toEqual(['00', '61'])

    expect(await sts.workSpec.deleteWorkUnits({ names: [high] })).toBe(1)
    expect(await keys({})).toEqual(['00', '61', '6100', 'c3a9'])
  })

  it('unit data round-trips exactly', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    const data = exoticData()
    const added = await sts.workSpec.addWorkUnit('one', data, {})
    expectExactData(await added.data(), data)
    expectExactData(await (await sts.workSpec.workUnit('one')).data(), data)

    expect(await sts.workSpec.addWorkUnits([{ key: 'two', data: exoticData() }])).toBe(1)
    const listed = await sts.workSpec.workUnits()
    expect(unitNames(listed)).toEqual(['one', 'two'])
    for (const unit of listed) expectExactData(await unit.data(), data)

    // An attempt starts with its unit's data.
    const [attempt] = await sts.worker.requestAttempts({})
    expectExactData(await attempt!.data(), data)
  })

  it('unit meta round-trips: priority and notBefore', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    const plain = await sts.workSpec.addWorkUnit('plain')
    expect(await plain.meta()).toEqual({ priority: 0, notBefore: null })

    const notBefore = later(sts.clock, 90 * SECOND)
    const delayed = await sts.workSpec.addWorkUnit('delayed', {}, { priority: -2.5, notBefore })
    expect(await delayed.meta()).toEqual({ priority: -2.5, notBefore })
    expect(await delayed.status()).toBe('delayed')

    await delayed.setMeta({ notBefore: null })
    expect(await delayed.meta()).toEqual({ priority: -2.5, notBefore: null })
    expect(await delayed.status()).toBe('available')
  })

  it('addWorkUnit rejects invalid keys and writes nothing', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    const badKeys: unknown[] = [42, null, undefined, { key: 'x' }, ['x'], 'x'.repeat(3000), new Uint8Array(3000)]
    for (const key of badKeys) {
      await expectError(() => sts.workSpec.addWorkUnit(key as WorkUnitKey, {}, {}), InvalidInputError)
    }
    expect(await sts.workSpec.workUnits()).toEqual([])
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({})
  })

  it('addWorkUnit rejects data it cannot store and writes nothing', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    class Opaque {
      readonly secret = 1
    }
    const badData: unknown[] = [
      { f: () => 1 },
      { u: undefined },
      { nested: { list: [1, undefined] } },
      { instance: new Opaque() },
      { when: new Date(0) },
      new Opaque(),
      ['not', 'a', 'dict'],
      'text',
      new Map([['k', 'v']]),
    ]
    for (const data of badData) {
      await expectError(() => sts.workSpec.addWorkUnit('unit', data as DataDict, {}), InvalidInputError)
    }
    await expectError(() => sts.workSpec.addWorkUnit('unit', {}, { priority: Number.NaN }), InvalidInputError)
    expect(await sts.workSpec.workUnits()).toEqual([])
  })

  it('addWorkUnits with one invalid item among valid ones writes nothing', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    await sts.workSpec.addWorkUnit('existing', { v: 1 }, { priority: 1 })
    class Opaque {
      readonly secret = 1
    }
    const badItems: unknown[] = [
      { key: 42 },
      { key: 'x'.repeat(3000) },
      { key: 'bad', data: { f: () => 1 } },
      { key: 'bad', data: { u: undefined } },
      { key: 'bad', data: new Opaque() },
      { key: 'bad', meta: { priority: Number.POSITIVE_INFINITY } },
      null,
    ]
    for (const bad of badItems) {
      const items = [{ key: 'a', data: { ok: 1 } }, { key: 'existing', data: { v: 2 }, meta: { priority: 5 } }, bad, { key: 'c' }]
      await expectError(() => sts.workSpec.addWorkUnits(items as Parameters<typeof sts.workSpec.addWorkUnits>[0]), InvalidInputError)
    }
    expect(unitNames(await sts.workSpec.workUnits())).toEqual(['existing'])
    const existing = await sts.workSpec.workUnit('existing')
    expect(await existing.data()).toEqual({ v: 1 })
    expect((await existing.meta()).priority).toBe(1)
  })

  it('addWorkUnits adds and upserts many units at once', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    expect(await sts.workSpec.addWorkUnits([])).toBe(0)
    const done = await sts.workSpec.addWorkUnit('done', { v: 0 }, {})
    await (await sts.worker.makeAttempt(done)).finish()
    const running = await sts.workSpec.addWorkUnit('running', { v: 0 }, {})
    const runningAttempt = await sts.worker.makeAttempt(running)

    const count = await sts.workSpec.addWorkUnits([
      { key: 'new', data: { v: 1 }, meta: { priority: 3 } },
      { key: 'done', data: { v: 2 } },
      { key: 'running', data: { v: 3 } },
    ])
    expect(count).toBe(3)
    expect(unitNames(await sts.workSpec.workUnits())).toEqual(['done', 'new', 'running'])
    expect(await (await sts.workSpec.workUnit('new')).meta()).toEqual({ priority: 3, notBefore: null })
    expect(await (await sts.workSpec.workUnit('new')).data()).toEqual({ v: 1 })
    // A finished unit becomes available again with the new data; a pending one keeps running.
    expect(await done.status()).toBe('available')
    expect(await done.data()).toEqual({ v: 2 })
    expect(await running.status()).toBe('pending')
    expect((await running.activeAttempt())?.id).toBe(runningAttempt.id)
  })

  it('workUnit of an unknown key throws NoSuchWorkUnitError naming it', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec', workUnitName: 'known' })
    const error = await expectError(() => sts.workSpec.workUnit('unknown'), NoSuchWorkUnitError)
    expect(error.workUnitName).toBe('unknown')
    expect(unitNames(await sts.workSpec.workUnits({ names: ['unknown'] }))).toEqual([])
  })
}
