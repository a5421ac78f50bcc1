import { describe, expect, it } from 'vitest'
import { Tuple, Uuid } from '../../src/coordinate/data.js'
import { type Harness, type Py2Input, b, echo, raw, tuple, u } from './harness.js'
import { PythonClient, SPEC, STATE_NAMES, WORK_SPEC, keyId } from './client-helpers.js'

// Ports of go-coordinate's jobserver/python_test.go (itself a port of the Python client's
// tests), run over TCP with requests shaped as the Python 2 client shapes them.

/** Registers every python_test case against a harness (over the backend or over the cache). */
export function registerPythonCases(h: Harness): void {
  const py = new PythonClient(h)

  describe('test_job_client', () => {
    it('a unit is listed, leased, finished, and keeps the finish data (TestDataUpdates)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'u', { k: 'v' })

      expect(await py.listWorkUnits(name, { work_unit_keys: ['u'] })).toEqual({ u: { k: b('v') } })
      await py.checkStatus(name, 'u', 1)

      const data = await py.getSpecificWork(name, 'u')
      expect(data).toEqual({ k: b('v') })
      expect(await py.listWorkUnits(name, { work_unit_keys: ['u'] })).toEqual({ u: { k: b('v') } })
      await py.checkStatus(name, 'u', 3)

      // This "runs" the work unit, as the Python worker would.
      const finished: Py2Input = { k: 'v', output: { foo: { bar: 'baz' } }, args: tuple('arg') }
      await py.finish(name, 'u', echo(finished))
      await py.checkStatus(name, 'u', 4)
      const final = await py.listWorkUnits(name, { work_unit_keys: ['u'] })
      expect(final).toEqual({ u: { k: b('v'), output: { foo: { bar: b('baz') } }, args: Tuple.of(b('arg')) } })
      expect(final.u).toHaveProperty('args', expect.any(Tuple))
    })

    it('a paused spec hands out nothing until resumed (TestPause)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, [['u', { k: 'v' }]])
      expect(await py.listWorkUnits(name, {})).toEqual({ u: { k: b('v') } })
      await py.checkStatus(name, 'u', 1)

      expect(await h.py('control_work_spec', name, { status: 2 })).toEqual([true, null])
      await py.doNoWork()
      expect(await h.py('control_work_spec', name, { status: 1 })).toEqual([true, null])
      await py.getSpecificWork(name, 'u')
    })

    it('max_jobs 10 returns the first ten units as a list of tuples (TestGetMany)', async () => {
      const name = await py.setWorkSpec()
      await py.addPrefixedWorkUnits(name, 'u', 100)
      const result = await h.py('get_work', 'test', { available_gb: 1, lease_time: 300, max_jobs: 10 })
      expect(result).toEqual([py.expectPrefixed(SPEC, 'u', 10), null])
    })

    it('the spec max_getwork caps a batch (TestGetManyMaxGetwork)', async () => {
      const name = await py.setWorkSpec({ ...WORK_SPEC, max_getwork: 5 })
      await py.addPrefixedWorkUnits(name, 'u', 100)
      const result = await h.py('get_work', 'test', { available_gb: 1, lease_time: 300, max_jobs: 10 })
      expect(result).toEqual([py.expectPrefixed(SPEC, 'u', 5), null])
    })

    it('the higher-priority spec is chosen and the batch does not spill over (TestGetTooMany)', async () => {
      const name = await py.setWorkSpec({ ...WORK_SPEC, weight: 1 })
      await py.addPrefixedWorkUnits(name, 'u', 100)
      const other = await py.setWorkSpec({
        name: 'ws2',
        min_gb: 0.1,
        module: 'coordinate.tests.test_job_client',
        run_function: 'run_function',
        priority: 2,
      })
      await py.addPrefixedWorkUnits(other, 'z', 4)
      const result = await h.py('get_work', 'test', { available_gb: 1, lease_time: 300, max_jobs: 10 })
      expect(result).toEqual([py.expectPrefixed('ws2', 'z', 4), null])
    })

    it('a prioritized unit jumps the queue (TestPrioritize)', async () => {
      const name = await py.setWorkSpec()
      for (const key of ['a', 'b', 'c']) await py.addWorkUnit(name, key, { k: 'v' })
      await py.doOneWork(name, 'a')
      await py.prioritize(name, 'c', 1, false)
      await py.doOneWork(name, 'c')
      await py.doOneWork(name, 'b')
      await py.doNoWork()
    })

    it('adjustments add to priorities (TestPrioritizeAdjust)', async () => {
      const name = await py.setWorkSpec()
      for (const key of ['a', 'b', 'c']) await py.addWorkUnit(name, key, { k: 'v' })
      await py.prioritize(name, 'a', 10, true)
      await py.prioritize(name, 'b', 20, true)
      await py.prioritize(name, 'c', 30, true)
      await py.doOneWork(name, 'c')
      await py.doOneWork(name, 'b')
      await py.doOneWork(name, 'a')
      await py.doNoWork()
    })

    it('changing a priority mid-stream reorders the rest (TestReprioritize)', async () => {
      const name = await py.setWorkSpec()
      for (const key of ['a', 'b', 'c']) await py.addWorkUnit(name, key, { k: 'v' })
      await py.prioritize(name, 'a', 10, false)
      await py.prioritize(name, 'b', 20, false)
      await py.prioritize(name, 'c', 30, false)
      await py.doOneWork(name, 'c')
      await py.prioritize(name, 'a', 15, true) // 10 + 15 = 25 > 20
      await py.doOneWork(name, 'a')
      await py.doOneWork(name, 'b')
      await py.doNoWork()
    })

    it('failing a finished unit is a no-op (TestSucceedFail)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'a', { k: 'v' })
      await py.doOneWork(name, 'a')
      expect(await h.py('update_work_unit', name, 'a', { status: 5 })).toEqual([false, null])
      await py.checkStatus(name, 'a', 4)
    })

    it('finishing a failed unit makes it finished (TestFailSucceed)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'a', { k: 'v' })
      await py.getSpecificWork(name, 'a')
      expect(await h.py('update_work_unit', name, 'a', { status: 5 })).toEqual([true, null])
      await py.checkStatus(name, 'a', 5)
      await py.finish(name, 'a')
      await py.checkStatus(name, 'a', 4)
    })

    it('a child worker’s unit shows under its parent until finished (TestGetChildUnitsBasic)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'a', { k: 'v' })
      expect(await h.py('worker_heartbeat', 'parent', 'RUN', 6000, null, null)).toEqual([true, null])
      expect(await h.py('worker_heartbeat', 'child', 'RUN', 6000, null, 'parent')).toEqual([true, null])
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({})

      expect(await h.py('get_work', 'child', { available_gb: 1 })).toEqual([Tuple.of(SPEC, b('a'), { k: b('v') }), null])
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({ a: { k: b('v') } })

      await py.finish(name, 'a')
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({})
    })

    it('a child holding several units shows each until it is finished (TestGetChildUnitsMulti)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'a', { k: 'v' })
      await py.addWorkUnit(name, 'b', { k: 'v' })
      // The parent registers with an empty parent, the child with the parent's name.
      expect(await h.py('worker_heartbeat', 'parent', 'RUN', 6000, null, '')).toEqual([true, null])
      expect(await h.py('worker_heartbeat', 'child', 'RUN', 6000, null, 'parent')).toEqual([true, null])
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({})

      const result = await h.py('get_work', 'child', { available_gb: 1, max_jobs: 10 })
      expect(result).toEqual([[Tuple.of(SPEC, b('a'), { k: b('v') }), Tuple.of(SPEC, b('b'), { k: b('v') })], null])
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({ a: { k: b('v') }, b: { k: b('v') } })

      await py.finish(name, 'a')
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({ b: { k: b('v') } })
      await py.finish(name, 'b')
      expect(await py.childWorkUnits('parent', 'child', name)).toEqual({})
    })
  })

  describe('test_job_flow', () => {
    async function flow(output: Py2Input, expectedSecondData: unknown): Promise<void> {
      await py.setWorkSpec({ name: 'first', then: 'second' })
      await py.setWorkSpec({ name: 'second' })
      await py.addWorkUnit('first', 'u', { k: 'v' })

      const data = await py.getSpecificWork('first', 'u')
      expect(data).toEqual({ k: b('v') })
      await py.finish('first', 'u', { ...(data as object), output: echo(output) })

      const second = await py.getSpecificWork('second', 'u')
      expect(second).toEqual(expectedSecondData)
      // "second" has no `then`: its output goes nowhere.
      await py.finish('second', 'u', { ...(second as object), output: echo({ u: { mode: 'foo' } }) })
      await py.doNoWork()
    }

    it('an output map becomes units of the next spec (TestSimpleFlow)', async () => {
      await flow({ u: { x: 'y' } }, { x: b('y') })
    })

    it('an output list of text keys becomes units with empty data (TestSimpleOutput)', async () => {
      await flow([u('u')], {})
    })

    it('an output list of byte-string keys does too (TestSimpleOutputBytes)', async () => {
      await flow(['u'], {})
    })
  })

  describe('test_task_master', () => {
    it('empty, then the one spec set (TestListWorkSpecs)', async () => {
      expect(await h.py('list_work_specs', {})).toEqual([[], null])
      const name = await py.setWorkSpec()
      const [specs, next] = (await h.py('list_work_specs', {})) as [Record<string, unknown>[], unknown]
      expect(next).toBeNull()
      expect(specs).toHaveLength(1)
      expect(specs[0]!.name).toBe(name)
    })

    it('clear returns the number of specs and removes them (TestClear)', async () => {
      expect(await h.py('list_work_specs', {})).toEqual([[], null])
      await py.setWorkSpec()
      expect(((await h.py('list_work_specs', {})) as unknown[][])[0]).toHaveLength(1)
      expect(await h.py('clear')).toBe(1)
      expect(await h.py('list_work_specs', {})).toEqual([[], null])
    })

    it('everything, available+pending and finished views as units run (TestListWorkUnits)', async () => {
      const units: [Py2Input, Py2Input][] = [
        ['foo', { length: 3 }],
        ['foobar', { length: 6 }],
      ]
      const all = py.expected(units)
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, units)
      // TaskMaster.list_work_units sends the state as a tuple (AVAILABLE, PENDING).
      const gwuDefault = { state: tuple(1, 3) }
      const gwuFinished = { state: 4 }

      expect(await py.listWorkUnits(name, {})).toEqual(all)
      expect(await py.listWorkUnits(name, gwuDefault)).toEqual(all)
      expect(await py.listWorkUnits(name, gwuFinished)).toEqual({})

      const work = await py.getOneWork()
      expect(work).not.toBeNull()
      expect(work!.spec).toBe(name)
      expect(work!.data).toEqual(all[work!.key])
      expect(await py.listWorkUnits(name, {})).toEqual(all)
      expect(await py.listWorkUnits(name, gwuDefault)).toEqual(all)
      expect(await py.listWorkUnits(name, gwuFinished)).toEqual({})

      await py.finish(name, work!.rawKey)
      const other = work!.key === 'foo' ? 'foobar' : 'foo'
      expect(await py.listWorkUnits(name, {})).toEqual(all)
      expect(await py.listWorkUnits(name, gwuDefault)).toEqual({ [other]: all[other] })
      expect(await py.listWorkUnits(name, gwuFinished)).toEqual({ [work!.key]: all[work!.key] })
    })

    it('start is the last key already seen, limit the page size (TestListWorkUnitsStartLimit)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, [
        ['foo', { length: 3 }],
        ['bar', { length: 6 }],
      ])
      expect(await py.listWorkUnits(name, { limit: 1 })).toEqual({ bar: { length: 6 } })
      expect(await py.listWorkUnits(name, { start: 'bar', limit: 1 })).toEqual({ foo: { length: 3 } })
      expect(await py.listWorkUnits(name, { start: 'foo', limit: 1 })).toEqual({})
    })

    it('deleting by key removes that unit only (TestDelWorkUnitsSimple)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, [
        ['foo', { length: 3 }],
        ['bar', { length: 6 }],
      ])
      expect(await h.py('del_work_units', name, { work_unit_keys: ['foo'] })).toEqual([1, null])
      expect(await py.listWorkUnits(name, {})).toEqual({ bar: { length: 6 } })
    })

    /** prepareSomeOfEach: n units in each of failed, finished, pending and available (in that order). */
    async function prepareSomeOfEach(n: 1 | 2): Promise<{ name: string; expected: Record<string, unknown> }> {
      const data = { x: 1 }
      const expected: Record<string, unknown> = {}
      const name = await py.setWorkSpec()
      for (const key of STATE_NAMES[5]!.slice(0, n)) {
        await py.addWorkUnit(name, key, data)
        await py.getSpecificWork(name, key)
        expect(await h.py('update_work_unit', name, key, { status: 5 })).toEqual([true, null])
        expected[key] = data
      }
      for (const key of STATE_NAMES[4]!.slice(0, n)) {
        await py.addWorkUnit(name, key, data)
        await py.getSpecificWork(name, key)
        await py.finish(name, key)
        expected[key] = data
      }
      for (const key of STATE_NAMES[3]!.slice(0, n)) {
        await py.addWorkUnit(name, key, data)
        await py.getSpecificWork(name, key)
        expected[key] = data
      }
      for (const key of STATE_NAMES[1]!.slice(0, n)) {
        await py.addWorkUnit(name, key, data)
        expected[key] = data
      }
      return { name, expected }
    }

    /** delWorkUnitsBy for every state: the options delete exactly the first unit of that state. */
    async function deleteOneOfEachState(n: 1 | 2, options: (state: number) => { [key: string]: Py2Input }): Promise<void> {
      for (const state of [1, 3, 4, 5]) {
        const { name, expected } = await prepareSomeOfEach(n)
        delete expected[STATE_NAMES[state]![0]]
        expect(await h.py('del_work_units', name, options(state))).toEqual([1, null])
        expect(await py.listWorkUnits(name, {})).toEqual(expected)
        expect(await h.py('clear')).toBe(1)
      }
    }

    it('deleting by key removes that unit whatever its state (TestDelWorkUnitsByName)', async () => {
      await deleteOneOfEachState(1, (state) => ({ work_unit_keys: [STATE_NAMES[state]![0]] }))
    })

    it('deleting by key removes only that unit when its state holds two (TestDelWorkUnitsByName2)', async () => {
      await deleteOneOfEachState(2, (state) => ({ work_unit_keys: [STATE_NAMES[state]![0]] }))
    })

    it('deleting by state removes the unit in that state (TestDelWorkUnitsByState)', async () => {
      await deleteOneOfEachState(1, (state) => ({ state }))
    })

    it('deleting by state removes both units in it (TestDelWorkUnitsByState2)', async () => {
      for (const state of [1, 3, 4, 5]) {
        const { name, expected } = await prepareSomeOfEach(2)
        for (const key of STATE_NAMES[state]!) delete expected[key]
        expect(await h.py('del_work_units', name, { state })).toEqual([2, null])
        expect(await py.listWorkUnits(name, {})).toEqual(expected)
        expect(await h.py('clear')).toBe(1)
      }
    })

    it('deleting by key and state removes the unit that matches both (TestDelWorkUnitsByNameAndState)', async () => {
      await deleteOneOfEachState(1, (state) => ({ work_unit_keys: [STATE_NAMES[state]![0]], state }))
    })

    it('deleting by key and state removes only the matching unit when its state holds two (TestDelWorkUnitsByNameAndState2)', async () => {
      await deleteOneOfEachState(2, (state) => ({ work_unit_keys: [STATE_NAMES[state]![0]], state }))
    })

    it('del_work_units with a key in another state than the one named deletes nothing', async () => {
      const { name, expected } = await prepareSomeOfEach(1)
      expect(await h.py('del_work_units', name, { work_unit_keys: ['AV'], state: 4 })).toEqual([0, null])
      expect(await py.listWorkUnits(name, {})).toEqual(expected)
    })

    it('setting the spec again while a unit runs leaves it running (TestRegenerate)', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, 'one', { number: 1 })
      await py.getSpecificWork(name, 'one')
      expect(await py.setWorkSpec()).toBe(name)
      await py.addWorkUnit(name, 'two', { number: 2 })
      await py.checkStatus(name, 'one', 3)
      await py.finish(name, 'one')
      await py.doOneWork(name, 'two')
      await py.doNoWork()
    })

    it('keys that are not UTF-8 round-trip through add, list, get_work and finish (TestBinaryWorkUnit)', async () => {
      const units: [Uint8Array, Py2Input][] = [
        [raw('\x00'), { k: raw('\x00'), t: 'single null' }],
        [raw('\x00\x01\x02\x03'), { k: raw('\x00\x01\x02\x03'), t: 'control chars' }],
        [raw('\x00a\x00b'), { k: raw('\x00a\x00b'), t: 'UTF-16BE' }],
        [raw('a\x00b\x00'), { k: raw('a\x00b\x00'), t: 'UTF-16LE' }],
        [raw('f\xc3\xbc'), { k: raw('f\xc3\xbc'), t: 'UTF-8' }],
        [raw('f\xfc'), { k: raw('f\xfc'), t: 'ISO-8859-1' }],
        [raw('\xf0\x0f'), { k: raw('\xf0\x0f'), t: 'F00F' }],
        [raw('\xff'), { k: raw('\xff'), t: 'FF' }],
        [raw('\xff\x80'), { k: raw('\xff\x80'), t: 'FF80' }],
      ]
      const all = py.expected(units)
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, units)
      expect(await py.listWorkUnits(name, {})).toEqual(all)

      const completed = new Set<string>()
      while (completed.size < units.length) {
        const work = await py.getOneWork()
        expect(work).not.toBeNull()
        expect(work!.spec).toBe(name)
        expect(all).toHaveProperty([work!.key])
        expect(work!.data).toEqual(all[work!.key])
        expect(completed.has(work!.key)).toBe(false)
        completed.add(work!.key)
        await py.finish(name, work!.rawKey)
      }
      await py.doNoWork()
      expect(await py.listWorkUnits(name, { state: tuple(1, 3) })).toEqual({})
      expect(await py.listWorkUnits(name, { state: 4 })).toEqual(all)
      // Each key also answers get_work_unit_status exactly (bytes, not their lossy text).
      const [statuses] = (await h.call('get_work_unit_status', b(name), units.map(([key]) => key))) as [unknown[]]
      expect(statuses).toEqual(units.map(() => expect.objectContaining({ status: 4 })))
    })

    it('lists, tuples, UUIDs, bytes and text come back exactly (TestWorkUnitValue)', async () => {
      const uuid = Uuid.parse('01234567-89ab-cdef-0123-456789abcdef')
      const data: Py2Input = {
        list: [1, 2, 3],
        tuple: tuple(4, 5, 6),
        mixed: [1, tuple(2, [3, 4])],
        uuid,
        str: 'foo',
        unicode: u('foo'),
        unicode2: u('fü'),
      }
      const name = await py.setWorkSpec()
      await py.addWorkUnits(name, [['k', data]])
      const listed = await py.listWorkUnits(name, {})
      expect(listed).toEqual({
        k: {
          list: [1, 2, 3],
          tuple: Tuple.of(4, 5, 6),
          mixed: [1, Tuple.of(2, [3, 4])],
          uuid,
          str: b('foo'),
          unicode: 'foo',
          unicode2: 'fü',
        },
      })
      const value = listed.k as Record<string, unknown>
      expect(value.tuple).toBeInstanceOf(Tuple)
      expect(value.list).toBeInstanceOf(Array)
      expect(value.uuid).toBeInstanceOf(Uuid)
      expect(value.str).toBeInstanceOf(Uint8Array)
      expect(typeof value.unicode).toBe('string')
    })
  })

  describe('keys as the two string types', () => {
    it('a key added as text is found as bytes and the other way round', async () => {
      const name = await py.setWorkSpec()
      await py.addWorkUnit(name, u('text-key'), { k: 'v' })
      await py.addWorkUnit(name, 'byte-key', { k: 'v' })
      expect(keyId(b('text-key'))).toBe('text-key')
      const [statuses] = (await h.py('get_work_unit_status', name, ['text-key', u('byte-key')])) as [unknown[]]
      expect(statuses).toEqual([{ status: 1 }, { status: 1 }])
      // Work unit keys always go back as byte strings.
      const [entries] = (await h.py('get_work_units', u(name), {})) as [Tuple[]]
      expect(entries.map((entry) => entry.items[0])).toEqual([b('byte-key'), b('text-key')])
    })
  })
}
