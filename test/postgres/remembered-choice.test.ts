import { afterAll, describe, expect, it, vi } from 'vitest'
import type { Attempt, AttemptRequest, Namespace, WorkSpec } from '../../src/coordinate/api.js'
import { HOUR, MINUTE } from '../../src/coordinate/clock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import type { PostgresNamespace } from '../../src/postgres/namespace.js'
import type { PostgresWorkSpec } from '../../src/postgres/work-spec.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// The one-round-trip claim path (src/postgres/remembered-choices.ts): when the scheduler's choice
// follows from spec meta alone, the next request with the same shape claims straight from the
// remembered spec, and the claim function checks the namespace's spec fingerprint and lapsed
// leases. `first` does all the claiming; `second` stands in for another daemon on the same
// database, so its writes reach `first`'s memory only through that fingerprint.

const names = (attempts: readonly Attempt[]) => attempts.map((a) => a.workUnit.name)

describe('remembered scheduler choices (fast claim path)', async () => {
  const { coordinate: first, clock, url } = await openTestCoordinate()
  // PGlite in memory is one database per Coordinate: fall back to one Coordinate there.
  const second: PostgresCoordinate = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 }) : first
  afterAll(async () => {
    if (second !== first) await second.close()
  })

  /** The spec `first` remembers for this request shape in `ns`, by name (undefined = none). */
  function remembered(ns: Namespace, request: AttemptRequest = {}): string | undefined {
    const { store, id } = ns as PostgresNamespace
    return store.choices.get(id, request)?.name
  }

  /** Runs a request and counts the statements it took. */
  async function request(ns: Namespace, workerName: string, req: AttemptRequest = {}): Promise<{ got: string[]; attempts: Attempt[]; statements: number }> {
    const { store } = ns as PostgresNamespace
    const worker = await ns.worker(workerName)
    const spies = [vi.spyOn(store, 'rows'), vi.spyOn(store, 'call'), vi.spyOn(store, 'transaction')]
    try {
      const attempts = await worker.requestAttempts(req)
      return { got: names(attempts), attempts, statements: spies.reduce((n, spy) => n + spy.mock.calls.length, 0) }
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
  }

  async function specWithUnits(ns: Namespace, data: Record<string, unknown>, keys: string[]): Promise<WorkSpec> {
    const spec = await ns.setWorkSpec(data as { name: string })
    if (keys.length > 0) await spec.addWorkUnits(keys.map((key) => ({ key })))
    return spec
  }

  it('claims from the remembered spec in one statement, and a higher-priority spec made by another Coordinate wins the next request', async () => {
    const ns1 = await first.namespace('rc-new-spec')
    const ns2 = await second.namespace('rc-new-spec')
    await specWithUnits(ns1, { name: 'low', priority: 0 }, ['l1', 'l2', 'l3'])
    const one = await request(ns1, 'w')
    expect(one.got).toEqual(['l1'])
    expect(remembered(ns1)).toBe('low')
    const two = await request(ns1, 'w')
    expect(two.got).toEqual(['l2'])
    // Straight from memory: the claim call and nothing else.
    expect(two.statements).toBe(1)

    await specWithUnits(ns2, { name: 'high', priority: 10 }, ['h1', 'h2'])
    const three = await request(ns1, 'w')
    expect(three.got).toEqual(['h1'])
    expect(three.attempts[0]!.workUnit.workSpec.name).toBe('high')
    expect(remembered(ns1)).toBe('high')
    expect((await request(ns1, 'w')).got).toEqual(['h2'])
    // 'high' ran dry: back to 'low' through the scheduler.
    expect((await request(ns1, 'w')).got).toEqual(['l3'])
    expect((await request(ns1, 'w')).got).toEqual([])
  })

  it('does not remember a choice while a higher-priority spec has no units, so units added there later are claimed next', async () => {
    const ns1 = await first.namespace('rc-empty-high')
    const ns2 = await second.namespace('rc-empty-high')
    await specWithUnits(ns1, { name: 'low', priority: 0 }, ['l1', 'l2', 'l3'])
    const high = await specWithUnits(ns1, { name: 'high', priority: 10 }, [])
    expect((await request(ns1, 'w')).got).toEqual(['l1'])
    // Adding units changes no spec row, so a remembered 'low' would hide them.
    expect(remembered(ns1)).toBeUndefined()
    expect((await request(ns1, 'w')).got).toEqual(['l2'])
    await (await ns2.workSpec(high.name)).addWorkUnit('h1')
    expect((await request(ns1, 'w')).got).toEqual(['h1'])
  })

  it('hands out nothing from a remembered spec that another Coordinate paused, and work from another admitted spec', async () => {
    const ns1 = await first.namespace('rc-paused')
    const ns2 = await second.namespace('rc-paused')
    await specWithUnits(ns1, { name: 'main', priority: 5 }, ['m1', 'm2', 'm3'])
    await specWithUnits(ns1, { name: 'other', priority: 0 }, ['o1', 'o2', 'o3'])
    expect((await request(ns1, 'w')).got).toEqual(['m1'])
    expect(remembered(ns1)).toBe('main')
    expect((await request(ns1, 'w')).got).toEqual(['m2'])

    await (await ns2.workSpec('main')).setMeta({ paused: true })
    expect((await request(ns1, 'w')).got).toEqual(['o1'])
    expect(remembered(ns1)).toBe('other')
    expect((await request(ns1, 'w')).got).toEqual(['o2'])

    // Pausing the only spec left: nothing at all, and 'main' still has its unit.
    await (await ns2.workSpec('other')).setMeta({ paused: true })
    expect((await request(ns1, 'w')).got).toEqual([])
    expect(await (await ns2.workSpec('main')).countWorkUnitStatus()).toEqual({ pending: 2, available: 1 })
    expect(await (await ns2.workSpec('other')).countWorkUnitStatus()).toEqual({ pending: 2, available: 1 })

    await (await ns2.workSpec('main')).setMeta({ paused: false })
    expect((await request(ns1, 'w')).got).toEqual(['m3'])
  })

  it('re-offers a lapsed lease of the remembered spec before units that sort after it, without the sweep', async () => {
    const ns1 = await first.namespace('rc-lapsed')
    const spec = await specWithUnits(ns1, { name: 'work' }, ['a', 'b', 'c', 'd'])
    const lost = await request(ns1, 'dead', { lifetimeMs: MINUTE })
    expect(lost.got).toEqual(['a'])
    expect(remembered(ns1)).toBe('work')
    // The lease length is not part of the request shape: this one claims from memory too.
    const kept = await request(ns1, 'alive', { lifetimeMs: HOUR })
    expect(kept.got).toEqual(['b'])
    expect(kept.statements).toBe(1)

    clock.advance(MINUTE + 1)
    expect(await lost.attempts[0]!.status()).toBe('expired')
    const again = await request(ns1, 'alive', { lifetimeMs: HOUR })
    expect(again.got).toEqual(['a'])
    expect(again.attempts[0]!.id).not.toBe(lost.attempts[0]!.id)
    expect((await request(ns1, 'alive', { lifetimeMs: HOUR })).got).toEqual(['c'])
    await expect(lost.attempts[0]!.finish()).rejects.toMatchObject({ code: 'NOT_PENDING' })
    expect(await spec.countWorkUnitStatus()).toEqual({ pending: 3, available: 1 })
  })

  it('claims from a spec that another Coordinate deleted and made again under the same name', async () => {
    const ns1 = await first.namespace('rc-recreated')
    const ns2 = await second.namespace('rc-recreated')
    const old = (await specWithUnits(ns1, { name: 'work' }, ['old1', 'old2', 'old3'])) as PostgresWorkSpec
    expect((await request(ns1, 'w')).got).toEqual(['old1'])
    expect((await request(ns1, 'w')).got).toEqual(['old2'])
    expect(remembered(ns1)).toBe('work')

    await ns2.destroyWorkSpec('work')
    const made = (await specWithUnits(ns2, { name: 'work' }, ['new1', 'new2'])) as PostgresWorkSpec
    expect(made.id).not.toBe(old.id)
    const next = await request(ns1, 'w')
    expect(next.got).toEqual(['new1'])
    expect((next.attempts[0]!.workUnit.workSpec as PostgresWorkSpec).id).toBe(made.id)
    await next.attempts[0]!.finish()
    expect(await made.countWorkUnitStatus()).toEqual({ finished: 1, available: 1 })
    expect((await request(ns1, 'w')).got).toEqual(['new2'])
    expect((await request(ns1, 'w')).got).toEqual([])
  })

  it('keeps the choices of differently shaped requests apart', async () => {
    const ns1 = await first.namespace('rc-shapes')
    const ns2 = await second.namespace('rc-shapes')
    await specWithUnits(ns1, { name: 'low', priority: 0 }, ['l1', 'l2', 'l3', 'l4'])
    await specWithUnits(ns2, { name: 'high', priority: 10 }, ['h1', 'h2', 'h3', 'h4'])
    await specWithUnits(ns2, { name: 'big', priority: 20, min_gb: 8 }, ['b1', 'b2'])
    const onlyLow = { workSpecs: ['low'] }
    const small = { availableGb: 4 }

    expect((await request(ns1, 'w', onlyLow)).got).toEqual(['l1'])
    expect(remembered(ns1, onlyLow)).toBe('low')
    expect(remembered(ns1)).toBeUndefined()
    expect((await request(ns1, 'w')).got).toEqual(['b1'])
    expect((await request(ns1, 'w', small)).got).toEqual(['h1'])
    expect(remembered(ns1)).toBe('big')
    expect(remembered(ns1, small)).toBe('high')

    // Each from its own memory, in any order.
    expect((await request(ns1, 'w', onlyLow)).got).toEqual(['l2'])
    expect((await request(ns1, 'w', small)).got).toEqual(['h2'])
    expect((await request(ns1, 'w')).got).toEqual(['b2'])
    expect((await request(ns1, 'w', onlyLow)).got).toEqual(['l3'])
    expect((await request(ns1, 'w', { workSpecs: ['low', 'high'] })).got).toEqual(['h3'])
    // 'big' ran dry: the unfiltered request goes on to 'high', the filtered one stays on 'low'.
    expect((await request(ns1, 'w')).got).toEqual(['h4'])
    expect((await request(ns1, 'w', onlyLow)).got).toEqual(['l4'])
    expect((await request(ns1, 'w', small)).got).toEqual([])
  })

  it('keeps the choices of two namespaces apart', async () => {
    const ns1 = await first.namespace('rc-ns-one')
    const ns2 = await first.namespace('rc-ns-two')
    await specWithUnits(ns1, { name: 'work' }, ['one1', 'one2'])
    await specWithUnits(ns2, { name: 'work' }, ['two1', 'two2'])
    expect((await request(ns1, 'w')).got).toEqual(['one1'])
    expect((await request(ns2, 'w')).got).toEqual(['two1'])
    expect((await request(ns1, 'w')).got).toEqual(['one2'])
    expect((await request(ns2, 'w')).got).toEqual(['two2'])
  })

  it('keeps the choice through an idle spell, so work added later (by another Coordinate) is claimed in one statement', async () => {
    const ns1 = await first.namespace('rc-idle')
    const ns2 = await second.namespace('rc-idle')
    await specWithUnits(ns1, { name: 'only' }, ['a'])
    expect((await request(ns1, 'w')).got).toEqual(['a'])
    expect(remembered(ns1)).toBe('only')
    // Dry: the remembered claim comes back empty, the scheduler finds nothing either.
    const dry = await request(ns1, 'w')
    expect(dry.got).toEqual([])
    expect(remembered(ns1)).toBe('only')
    await (await ns2.workSpec('only')).addWorkUnit('b')
    const woken = await request(ns1, 'w')
    expect(woken.got).toEqual(['b'])
    expect(woken.statements).toBe(1)
    // A spec added meanwhile changes the fingerprint: an idle request then forgets the choice.
    await (await ns1.workSpec('only')).addWorkUnit('c')
    expect((await request(ns1, 'w')).got).toEqual(['c'])
    await specWithUnits(ns2, { name: 'other', priority: 5 }, [])
    expect((await request(ns1, 'w')).got).toEqual([])
    expect(remembered(ns1)).toBeUndefined()
  })
})
