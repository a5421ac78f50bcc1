import { expect, it } from 'vitest'
import { DEFAULT_LEASE_MS, MINUTE, SECOND } from '../../src/coordinate/index.js'
import { type ContextGetter, SimpleTestSetup, describeAttempt, expectTimeNear, later } from './helpers.js'

/** go-coordinate coordinatetest/worker.go, plus the worker fixes recorded in docs/design.md. */
export function workerCases(ctx: ContextGetter): void {
  it('a worker can have a parent and lists its children (TestWorkerAncestry)', async () => {
    const { namespace } = ctx()
    const parent = await namespace.worker('parent')
    expect(await parent.parent()).toBeNull()
    expect(await parent.children()).toEqual([])

    const child = await namespace.worker('child')
    await child.setParent(parent)

    // The parent's view
    expect(await parent.parent()).toBeNull()
    expect((await parent.children()).map((w) => w.name)).toEqual(['child'])

    // The child's view
    expect((await child.parent())?.name).toBe('parent')
    expect(await child.children()).toEqual([])
  })

  it('giving a worker a new parent moves it between children lists (TestWorkerAdoption)', async () => {
    const { namespace } = ctx()
    const child = await namespace.worker('child')
    const oldParent = await namespace.worker('old')
    const newParent = await namespace.worker('new')

    await child.setParent(oldParent)
    await child.setParent(newParent)

    expect((await child.parent())?.name).toBe('new')
    expect(await child.children()).toEqual([])
    expect(await oldParent.parent()).toBeNull()
    expect(await oldParent.children()).toEqual([])
    expect(await newParent.parent()).toBeNull()
    expect((await newParent.children()).map((w) => w.name)).toEqual(['child'])
  })

  it('a worker\'s update records its data, mode, expiration and last update (TestWorkerMetadata)', async () => {
    const { clock } = ctx()
    let now = clock.now()
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker' })

    // Defaults
    expect(await sts.worker.active()).toBe(true)
    expect(await sts.worker.mode()).toBe('')
    expect(await sts.worker.data()).toEqual({})
    const lastUpdate = await sts.worker.lastUpdate()
    expectTimeNear(lastUpdate, now, 1)
    expect((await sts.worker.expiration()).getTime() - lastUpdate.getTime()).toBe(15 * MINUTE)

    // An update
    clock.advance(MINUTE)
    now = clock.now()
    const then = later(clock, 15 * MINUTE)
    await sts.worker.update({ data: { key: 'value' }, now, expiration: then, mode: 'run' })

    expect(await sts.worker.active()).toBe(true)
    expect(await sts.worker.mode()).toBe('run')
    expect(await sts.worker.data()).toEqual({ key: 'value' })
    expectTimeNear(await sts.worker.expiration(), then, 1)
    expectTimeNear(await sts.worker.lastUpdate(), now, 1)

    // Deactivate
    await sts.worker.deactivate()
    expect(await sts.worker.active()).toBe(false)

    // Another update reactivates
    await sts.worker.update({ data: { key: 'value' }, now, expiration: then, mode: 'run' })
    expect(await sts.worker.active()).toBe(true)
  })

  it('a worker lists its active and all attempts, and a parent its children\'s (TestWorkerAttempts)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'child', workSpecName: 'spec' })
    const parent = await sts.namespace.worker('parent')
    const child = sts.worker
    await child.setParent(parent)

    // One unit done
    await sts.addWorkUnit('one')
    let attempt = await sts.requestOneAttempt()
    expect(describeAttempt(attempt)).toBe('spec/one by child')
    await attempt.finish()

    // A second one started, not finished
    await sts.addWorkUnit('two')
    attempt = await sts.requestOneAttempt()
    expect(describeAttempt(attempt)).toBe('spec/two by child')

    // The child's lists
    expect((await child.activeAttempts()).map(describeAttempt)).toEqual(['spec/two by child'])
    expect((await child.allAttempts()).map(describeAttempt).sort()).toEqual(['spec/one by child', 'spec/two by child'])
    expect(await child.childAttempts()).toEqual([])

    // The parent's lists
    expect(await parent.activeAttempts()).toEqual([])
    expect(await parent.allAttempts()).toEqual([])
    expect((await parent.childAttempts()).map(describeAttempt)).toEqual(['spec/two by child'])
  })

  it('deactivating a child worker leaves its parent active (TestDeactivateChild)', async () => {
    const { namespace } = ctx()
    const parent = await namespace.worker('parent')
    const child = await namespace.worker('child')
    await child.setParent(parent)
    await child.deactivate()
    expect(await child.active()).toBe(false)
    expect(await parent.active()).toBe(true)
  })

  // ---- coordinate-ts fixes (docs/design.md, "Model") ----

  it('setParent(null) clears the parent', async () => {
    const { namespace } = ctx()
    const parent = await namespace.worker('parent')
    const child = await namespace.worker('child')
    await child.setParent(parent)
    expect((await child.parent())?.name).toBe('parent')

    await child.setParent(null)
    expect(await child.parent()).toBeNull()
    expect(await parent.children()).toEqual([])

    // Clearing an absent parent is fine too
    await child.setParent(null)
    expect(await child.parent()).toBeNull()
  })

  it('attempts whose lease ran out leave the worker active list and its parent child list', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'child', workSpecName: 'spec' })
    const parent = await sts.namespace.worker('parent')
    await sts.worker.setParent(parent)
    await sts.addWorkUnit('a')
    await sts.addWorkUnit('b')
    const [short] = await sts.worker.requestAttempts({ lifetimeMs: MINUTE })
    const [long] = await sts.worker.requestAttempts({})
    expect([short, long].map((a) => a?.workUnit.name)).toEqual(['a', 'b'])
    expect((await sts.worker.activeAttempts()).map((a) => a.workUnit.name)).toEqual(['a', 'b'])

    sts.clock.advance(MINUTE + SECOND)
    expect((await sts.worker.activeAttempts()).map((a) => a.workUnit.name)).toEqual(['b'])
    expect((await parent.childAttempts()).map((a) => a.workUnit.name)).toEqual(['b'])

    sts.clock.advance(DEFAULT_LEASE_MS)
    expect(await sts.worker.activeAttempts()).toEqual([])
    expect(await parent.childAttempts()).toEqual([])
    // History keeps them
    expect((await sts.worker.allAttempts()).map((a) => a.workUnit.name).sort()).toEqual(['a', 'b'])
  })

  it('attempts ended by expire or retry leave the worker active list', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workerName: 'worker', workSpecName: 'spec' })
    await sts.addWorkUnit('a')
    await sts.addWorkUnit('b')
    await sts.addWorkUnit('c')
    const attempts = await sts.worker.requestAttempts({ numberOfWorkUnits: 3 })
    expect(attempts.map((a) => a.workUnit.name)).toEqual(['a', 'b', 'c'])
    await attempts[0]!.expire()
    await attempts[1]!.retry(undefined, MINUTE)
    expect((await sts.worker.activeAttempts()).map((a) => a.workUnit.name)).toEqual(['c'])
  })

  it('workers lists every worker of the namespace, sorted by name', async () => {
    const { namespace } = ctx()
    for (const name of ['w2', 'parent', 'w10', 'Alpha']) await namespace.worker(name)
    await (await namespace.worker('w2')).setParent(await namespace.worker('parent'))
    expect((await namespace.workers()).map((w) => w.name)).toEqual(['Alpha', 'parent', 'w10', 'w2'])
    // Getting a worker again does not make a second one
    await namespace.worker('w2')
    expect(await namespace.workers()).toHaveLength(4)
  })
}
