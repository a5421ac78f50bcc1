import { describe, expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import { type DataValue, Tuple } from '../../src/coordinate/data.js'
import { type Py2Input, RpcError, b, startHarness, tuple } from './harness.js'
import { PythonClient, SPEC } from './client-helpers.js'

// Ports of go-coordinate's jobserver/work_test.go, then the whole update_work_unit table
// and get_work's options.

const h = await startHarness()
const py = new PythonClient(h)

const nowSeconds = (): number => Math.floor(h.clock.now().getTime() / SECOND)

async function status(key: Py2Input): Promise<Record<string, DataValue> | null> {
  const [entries, message] = (await h.py('get_work_unit_status', SPEC, [key])) as [DataValue[], DataValue]
  expect(message).toBeNull()
  return entries[0] as Record<string, DataValue> | null
}

async function unitData(key: string): Promise<DataValue> {
  return (await py.listWorkUnits(SPEC, { work_unit_keys: [key] }))[key]!
}

describe('work_test', () => {
  it('an available unit can be failed directly (TestUpdateAvailable)', async () => {
    const name = await py.setWorkSpec()
    await py.addWorkUnit(name, 'unit', {})
    expect(await h.py('update_work_unit', name, 'unit', { status: 5, worker_id: 'child' })).toEqual([true, null])
    await py.checkStatus(name, 'unit', 5)
    expect(await status('unit')).toEqual({ status: 5, worker_id: 'child' })
  })

  it('a unit that went back to available can still be failed by the parent (TestUpdateAvailableFull)', async () => {
    const name = await py.setWorkSpec()
    await py.addWorkUnit(name, 'unit', {})
    expect(await h.py('worker_heartbeat', 'parent', 'RUN', 900, {}, null)).toEqual([true, null])
    expect(await h.py('worker_heartbeat', 'child', 'RUN', 900, {}, 'parent')).toEqual([true, null])
    expect(await h.py('get_work', 'child', { available_gb: 1 })).toEqual([Tuple.of(SPEC, b('unit'), {}), null])
    await py.checkStatus(name, 'unit', 3)

    // Simulates the lease running out just before the parent acts.
    expect(await h.py('update_work_unit', name, 'unit', { status: 1, worker_id: 'child' })).toEqual([true, null])
    await py.checkStatus(name, 'unit', 1)
    expect(await h.py('update_work_unit', name, 'unit', { status: 5, worker_id: 'parent' })).toEqual([true, null])
    await py.checkStatus(name, 'unit', 5)
  })

  it('a delayed unit reports AVAILABLE but runs only once its delay has passed (TestDelayedUnit)', async () => {
    const name = await py.setWorkSpec()
    expect(await h.py('add_work_units', name, [tuple('unit', { k: 'v' }, { delay: 90 })])).toEqual([true, null])
    await py.checkStatus(name, 'unit', 1)
    expect(await h.py('count_work_units', name)).toEqual([new Map([[1, 1]]), null])
    await py.doNoWork()
    h.clock.advance(60 * SECOND)
    await py.doNoWork()
    h.clock.advance(60 * SECOND)
    expect(await py.getSpecificWork(name, 'unit')).toEqual({ k: b('v') })
  })
})

describe('update_work_unit decision table', () => {
  type State = 'available' | 'pending' | 'finished' | 'failed'

  // Puts unit "u" with data {k: "v"} in the state; a failed unit carries a traceback.
  async function prepare(state: State): Promise<void> {
    await py.setWorkSpec()
    await py.addWorkUnit(SPEC, 'u', { k: 'v' })
    if (state === 'available') return
    await py.getSpecificWork(SPEC, 'u')
    if (state === 'finished') await py.finish(SPEC, 'u')
    if (state === 'failed') expect(await h.py('update_work_unit', SPEC, 'u', { status: 5, data: { k: 'v', traceback: 'boom' } })).toEqual([true, null])
  }

  const code: Record<State, number> = { available: 1, pending: 3, finished: 4, failed: 5 }

  const cases: { from: State; options: { [key: string]: Py2Input }; changed: boolean; to: State }[] = [
    { from: 'available', options: {}, changed: false, to: 'available' },
    { from: 'available', options: { status: 1 }, changed: false, to: 'available' },
    { from: 'available', options: { status: 3 }, changed: true, to: 'pending' },
    { from: 'available', options: { status: 4 }, changed: true, to: 'finished' },
    { from: 'available', options: { status: 5 }, changed: true, to: 'failed' },
    { from: 'pending', options: {}, changed: true, to: 'pending' },
    { from: 'pending', options: { lease_time: 60 }, changed: true, to: 'pending' },
    { from: 'pending', options: { status: 1 }, changed: true, to: 'available' },
    { from: 'pending', options: { status: 3 }, changed: true, to: 'pending' },
    { from: 'pending', options: { status: 4 }, changed: true, to: 'finished' },
    { from: 'pending', options: { status: 5 }, changed: true, to: 'failed' },
    { from: 'finished', options: {}, changed: false, to: 'finished' },
    { from: 'finished', options: { status: 1 }, changed: true, to: 'available' },
    { from: 'finished', options: { status: 4 }, changed: false, to: 'finished' },
    { from: 'finished', options: { status: 5 }, changed: false, to: 'finished' },
    { from: 'failed', options: {}, changed: false, to: 'failed' },
    { from: 'failed', options: { status: 1 }, changed: true, to: 'available' },
    { from: 'failed', options: { status: 4 }, changed: true, to: 'finished' },
    { from: 'failed', options: { status: 5 }, changed: false, to: 'failed' },
  ]

  for (const { from, options, changed, to } of cases) {
    it(`${from} + ${JSON.stringify(options)} → ${changed ? 'changed' : 'no-op'}, ${to}`, async () => {
      await prepare(from)
      expect(await h.py('update_work_unit', SPEC, 'u', options)).toEqual([changed, null])
      expect((await status('u'))?.status).toBe(code[to])
    })
  }

  for (const from of ['finished', 'failed'] as const) {
    it(`${from} + {status: 3} is an error and changes nothing`, async () => {
      await prepare(from)
      await expect(h.py('update_work_unit', SPEC, 'u', { status: 3 })).rejects.toThrow(RpcError)
      expect((await status('u'))?.status).toBe(code[from])
    })
  }

  for (const bad of [2, 7, -1]) {
    it(`status ${bad} is an error and changes nothing`, async () => {
      await prepare('pending')
      await expect(h.py('update_work_unit', SPEC, 'u', { status: bad })).rejects.toThrow(bad === 2 ? /BLOCKED/ : /invalid work unit status/)
      expect((await status('u'))?.status).toBe(3)
    })
  }

  it('data sent for an available unit replaces its data and keeps its priority', async () => {
    await prepare('available')
    await py.addWorkUnit(SPEC, 'a', {})
    await py.prioritize(SPEC, 'u', 7, false)
    expect(await h.py('update_work_unit', SPEC, 'u', { data: { k: 'w' } })).toEqual([true, null])
    expect(await unitData('u')).toEqual({ k: b('w') })
    // "a" sorts first, so only the kept priority puts "u" ahead of it.
    expect(await py.getSpecificWork(SPEC, 'u')).toEqual({ k: b('w') })
  })

  it('a renewal with data updates what readers see, and finishing without data keeps it', async () => {
    await prepare('pending')
    expect(await h.py('update_work_unit', SPEC, 'u', { lease_time: 900, data: { k: 'progress' } })).toEqual([true, null])
    expect(await unitData('u')).toEqual({ k: b('progress') })
    await py.finish(SPEC, 'u')
    expect(await unitData('u')).toEqual({ k: b('progress') })
  })

  it('lease_time sets the new lease; below one second it means 300 seconds', async () => {
    await prepare('pending')
    expect(await h.py('update_work_unit', SPEC, 'u', { lease_time: 1000 })).toEqual([true, null])
    expect(await status('u')).toEqual({ status: 3, worker_id: 'test', expiration: nowSeconds() + 1000 })
    expect(await h.py('update_work_unit', SPEC, 'u', { lease_time: 0 })).toEqual([true, null])
    expect((await status('u'))?.expiration).toBe(nowSeconds() + 300)
  })

  it('fail then succeed: the finish wins and keeps the failed attempt’s data unless new data comes', async () => {
    await prepare('failed')
    expect(await status('u')).toEqual({ status: 5, worker_id: 'test', traceback: b('boom') })
    expect(await h.py('update_work_unit', SPEC, 'u', { status: 4 })).toEqual([true, null])
    expect((await status('u'))?.status).toBe(4)
    expect(await unitData('u')).toEqual({ k: b('v'), traceback: b('boom') })
  })

  it('fail then succeed with data: the new data is the result', async () => {
    await prepare('failed')
    expect(await h.py('update_work_unit', SPEC, 'u', { status: 4, data: { k: 'done' } })).toEqual([true, null])
    expect(await unitData('u')).toEqual({ k: b('done') })
  })

  it('a forced attempt without worker_id belongs to the connection’s worker, which is not listed as live', async () => {
    await prepare('available')
    expect(await h.py('update_work_unit', SPEC, 'u', { status: 5 })).toEqual([true, null])
    const entry = await status('u')
    expect(entry?.worker_id).toMatch(/^jobserver-connection-\d+$/)
    expect(await h.py('list_worker_modes')).toEqual([{}, null])
  })

  it('TaskMaster.retry (status AVAILABLE, lease_time 0) makes a failed unit runnable again', async () => {
    await prepare('failed')
    expect(await h.py('update_work_unit', SPEC, 'u', { lease_time: 0, status: 1 })).toEqual([true, null])
    expect(await status('u')).toEqual({ status: 1 })
    await py.getSpecificWork(SPEC, 'u')
  })

  it('an expired lease counts as available: a late finish still finishes the unit', async () => {
    await prepare('available')
    expect(await h.py('get_work', 'test', { lease_time: 60 })).toEqual([Tuple.of(SPEC, b('u'), { k: b('v') }), null])
    h.clock.advance(61 * SECOND)
    expect(await status('u')).toEqual({ status: 1 })
    expect(await h.py('update_work_unit', SPEC, 'u', { status: 4 })).toEqual([true, null])
    expect((await status('u'))?.status).toBe(4)
  })

  it('an unknown unit or spec is answered in-band', async () => {
    await prepare('available')
    expect(await h.py('update_work_unit', SPEC, 'nope', { status: 4 })).toEqual([false, "no such work unit key='nope'"])
    expect(await h.py('update_work_unit', 'zzz', 'u', { status: 4 })).toEqual([false, "no such work_spec 'zzz'"])
  })
})

describe('get_work options', () => {
  it('lease_time is honoured; 900 seconds when not sent', async () => {
    const name = await py.setWorkSpec()
    await py.addWorkUnits(name, [
      ['a', {}],
      ['b', {}],
    ])
    await h.py('get_work', 'w', {})
    expect(await status('a')).toEqual({ status: 3, worker_id: 'w', expiration: nowSeconds() + 900 })
    await h.py('get_work', 'w', { lease_time: 60 })
    expect(await status('b')).toEqual({ status: 3, worker_id: 'w', expiration: nowSeconds() + 60 })
    h.clock.advance(61 * SECOND)
    expect((await status('a'))?.status).toBe(3)
    expect(await status('b')).toEqual({ status: 1 })
    expect(await h.py('get_work', 'other', {})).toEqual([Tuple.of(SPEC, b('b'), {}), null])
  })

  it('available_gb below a spec’s min_gb gets none of its work', async () => {
    const name = await py.setWorkSpec({ name: 'big', min_gb: 8 })
    await py.addWorkUnit(name, 'u', {})
    expect(await h.py('get_work', 'w', { available_gb: 4 })).toEqual([Tuple.of(null, null, null), null])
    expect(await h.py('get_work', 'w', { available_gb: 8 })).toEqual([Tuple.of('big', b('u'), {}), null])
  })

  it('work_spec_names limits the specs considered', async () => {
    await py.setWorkSpec({ name: 'one', priority: 5 })
    await py.setWorkSpec({ name: 'two' })
    await py.addWorkUnit('one', 'u', {})
    await py.addWorkUnit('two', 'u', {})
    expect(await h.py('get_work', 'w', { work_spec_names: ['two'] })).toEqual([Tuple.of('two', b('u'), {}), null])
  })

  it('specs with a runtime are not handed to Python workers', async () => {
    await py.setWorkSpec({ name: 'go-only', runtime: 'go' })
    await py.addWorkUnit('go-only', 'u', {})
    expect(await h.py('get_work', 'w', {})).toEqual([Tuple.of(null, null, null), null])
  })

  it('max_jobs absent or 1 gives one tuple, any other value a list (as the Python client expects)', async () => {
    await py.setWorkSpec()
    expect(await h.py('get_work', 'w', {})).toEqual([Tuple.of(null, null, null), null])
    expect(await h.py('get_work', 'w', { max_jobs: 1 })).toEqual([Tuple.of(null, null, null), null])
    expect(await h.py('get_work', 'w', { max_jobs: 5 })).toEqual([[], null])
    expect(await h.py('get_work', 'w', { max_jobs: 0 })).toEqual([[], null])
    await py.addPrefixedWorkUnits(SPEC, 'u', 3)
    expect(await h.py('get_work', 'w', { max_jobs: 0 })).toEqual([py.expectPrefixed(SPEC, 'u', 1), null])
    expect(await h.py('get_work', 'w', { max_jobs: null })).toEqual([py.expectPrefixed(SPEC, 'u', 3)[1], null])
  })

  it('the work spec name comes back as text, the key as bytes, the data exactly', async () => {
    await py.setWorkSpec()
    await py.addWorkUnit(SPEC, 'u', { t: tuple('x', 1), s: 'bytes' })
    const [work] = (await h.py('get_work', 'w', {})) as [Tuple]
    expect(typeof work.items[0]).toBe('string')
    expect(work.items[1]).toBeInstanceOf(Uint8Array)
    expect(work.items[2]).toEqual({ t: Tuple.of(b('x'), 1), s: b('bytes') })
  })
})

describe('update_work_unit after get_work (the remembered attempt)', () => {
  it('finishes the unit the worker got, and falls back to the unit\'s current attempt once its lease ran out', async () => {
    const name = await py.setWorkSpec()
    await py.addWorkUnit(name, 'a', {})
    await py.addWorkUnit(name, 'b', {})
    expect(await h.py('get_work', 'w1', { available_gb: 1, lease_time: 60 })).toEqual([Tuple.of(SPEC, b('a'), {}), null])
    expect(await h.py('update_work_unit', name, 'a', { status: 4, data: { done: 1 } })).toEqual([true, null])
    await py.checkStatus(name, 'a', 4)

    // w1 takes b, its lease runs out, w2 takes b over; w1's late finish still finishes b.
    expect(await h.py('get_work', 'w1', { available_gb: 1, lease_time: 60 })).toEqual([Tuple.of(SPEC, b('b'), {}), null])
    h.clock.advance(61 * SECOND)
    expect(await h.py('get_work', 'w2', { available_gb: 1, lease_time: 60 })).toEqual([Tuple.of(SPEC, b('b'), {}), null])
    expect(await h.py('update_work_unit', name, 'b', { status: 4, data: { late: 1 } })).toEqual([true, null])
    await py.checkStatus(name, 'b', 4)
    expect(await unitData('b')).toEqual({ late: 1 })
  })
})
