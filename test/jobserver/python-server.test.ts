import { describe, expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import { type DataValue, Tuple } from '../../src/coordinate/data.js'
import { RpcError, b, startHarness, tuple } from './harness.js'
import { PythonClient, SPEC } from './client-helpers.js'

// Where the Python server and go-coordinate differ (src/jobserver/README.md, "Behaviour"),
// the Python client decides: these check the Python behaviour. Then bad input.

const h = await startHarness()
const py = new PythonClient(h)

describe('answers shaped as the Python server shapes them', () => {
  it('list_worker_modes and mode_counts return (map, None) pairs', async () => {
    expect(await h.py('list_worker_modes')).toEqual([{}, null])
    expect(await h.py('mode_counts')).toEqual([{}, null])
    await h.py('worker_heartbeat', 'w1', 'RUN', 600, { host: 'a' }, null)
    await h.py('worker_heartbeat', 'w2', 'RUN', 600, { host: 'b' }, null)
    await h.py('worker_heartbeat', 'w3', 'IDLE', 600, null, 'w1')
    expect(await h.py('list_worker_modes')).toEqual([{ w1: 'RUN', w2: 'RUN', w3: 'IDLE' }, null])
    expect(await h.py('mode_counts')).toEqual([{ RUN: 2, IDLE: 1 }, null])
  })

  it('a worker without a parent has none: no stray worker named ""', async () => {
    await h.py('worker_heartbeat', 'solo', 'RUN', 600, {}, null)
    await h.py('worker_heartbeat', 'solo2', 'RUN', 600, {}, '')
    expect(await h.py('list_worker_modes')).toEqual([{ solo: 'RUN', solo2: 'RUN' }, null])
    expect(await h.py('worker_stats')).toEqual({ num_workers: 2, num_children: 0, num_expirable: 2 })
    expect((await h.namespace().workers()).map((w) => w.name)).toEqual(['solo', 'solo2'])
  })

  it('workers leave the listings when they unregister or their lifetime runs out', async () => {
    await h.py('worker_heartbeat', 'short', 'RUN', 10, {}, null)
    await h.py('worker_heartbeat', 'long', 'RUN', 1000, {}, null)
    await h.py('worker_heartbeat', 'gone', 'RUN', 1000, {}, 'long')
    expect(await h.py('worker_stats')).toEqual({ num_workers: 3, num_children: 1, num_expirable: 3 })
    expect(await h.py('worker_unregister', 'gone')).toEqual([true, null])
    h.clock.advance(11 * SECOND)
    expect(await h.py('list_worker_modes')).toEqual([{ long: 'RUN' }, null])
    expect(await h.py('worker_stats')).toEqual({ num_workers: 1, num_children: 0, num_expirable: 1 })
    expect(await h.py('worker_unregister', 'never')).toEqual([false, "no worker 'never'"])
  })

  it('heartbeat lifetimes out of range are replaced, with Python’s message', async () => {
    expect(await h.py('worker_heartbeat', 'w', 'RUN', -5, {}, null)).toEqual([true, 'negative expire time -5 defaulted to 5 minutes'])
    expect(await h.py('worker_heartbeat', 'w', 'RUN', 100000, {}, null)).toEqual([true, 'huge expire time 100000 defaulted to one hour'])
    h.clock.advance(3599 * SECOND)
    expect(await h.py('list_worker_modes')).toEqual([{ w: 'RUN' }, null])
    h.clock.advance(2 * SECOND)
    expect(await h.py('list_worker_modes')).toEqual([{}, null])
  })

  it('get_worker_info returns the last environment exactly, and (None, None) for an unknown worker', async () => {
    const environment = { hostname: 'box', ipaddrs: tuple('10.0.0.1'), memory: tuple(1, 2) }
    await h.py('worker_heartbeat', 'w', 'RUN', 600, environment, null)
    expect(await h.py('get_worker_info', 'w')).toEqual([{ hostname: b('box'), ipaddrs: Tuple.of(b('10.0.0.1')), memory: Tuple.of(1, 2) }, null])
    expect(await h.py('get_worker_info', 'nobody')).toEqual([null, null])
    // Asking did not register anyone.
    expect((await h.namespace().workers()).map((w) => w.name)).toEqual(['w'])
    expect(await h.py('get_child_work_units', 'nobody')).toEqual([{}, null])
  })

  it('get_work_unit_status gives None for an unknown key', async () => {
    await py.setWorkSpec()
    await py.addWorkUnit(SPEC, 'u', {})
    expect(await h.py('get_work_unit_status', SPEC, ['nope', 'u'])).toEqual([[null, { status: 1 }], null])
  })

  it('get_config returns the configuration map, an empty map when there is none', async () => {
    expect(await h.py('get_config')).toEqual([{}, null])
    h.reconfigure({ coordinate: { address: '127.0.0.1:5932' }, job_queue: { limit_completed_count: 10 } })
    expect(await h.py('get_config')).toEqual([{ coordinate: { address: '127.0.0.1:5932' }, job_queue: { limit_completed_count: 10 } }, null])
  })

  it('an unknown work spec is answered in-band, never as an RPC error', async () => {
    const message = "no such work_spec 'zzz'"
    expect(await h.py('count_work_units', 'zzz')).toEqual([false, message])
    expect(await h.py('add_work_units', 'zzz', [tuple('u', {})])).toEqual([false, message])
    expect(await h.py('get_work_units', 'zzz', {})).toEqual([null, message])
    expect(await h.py('get_work_unit_status', 'zzz', ['u'])).toEqual([null, message])
    expect(await h.py('prioritize_work_units', 'zzz', { work_unit_keys: ['u'], priority: 1 })).toEqual([false, message])
    expect(await h.py('del_work_units', 'zzz', { all: true })).toEqual([0, message])
    expect(await h.py('update_work_unit', 'zzz', 'u', { status: 4 })).toEqual([false, message])
    expect(await h.py('del_work_spec', 'zzz')).toEqual([false, message])
    expect(await h.py('control_work_spec', 'zzz', { status: 2 })).toEqual([false, message])
    expect(await h.py('get_work_spec_meta', 'zzz')).toEqual([null, message])
    expect(await h.py('get_work_spec', 'zzz')).toBeNull()
  })

  it('every success carries result, even a null one (archive, get_work_spec of nothing)', async () => {
    for (const [method, params] of [
      ['archive', [{}]],
      ['archive', []],
      ['get_work_spec', [b('zzz')]],
    ] as [string, DataValue[]][]) {
      const response = await h.response(method, params)
      expect(response).toHaveProperty('result', null)
      expect(response).not.toHaveProperty('error')
    }
  })

  it('count_work_units keys are status ints, delayed units counted as AVAILABLE', async () => {
    await py.setWorkSpec()
    await py.addPrefixedWorkUnits(SPEC, 'u', 5)
    await h.py('add_work_units', SPEC, [tuple('later', {}, { delay: 600 })])
    expect(await h.py('count_work_units', SPEC)).toEqual([new Map([[1, 6]]), null])
    await py.doOneWork(SPEC, 'u001')
    await py.getSpecificWork(SPEC, 'u002')
    await py.getSpecificWork(SPEC, 'u003')
    await h.py('update_work_unit', SPEC, 'u003', { status: 5 })
    const [counts] = (await h.py('count_work_units', SPEC)) as [Map<number, number>]
    expect(counts).toBeInstanceOf(Map)
    expect(counts).toEqual(
      new Map([
        [1, 3],
        [3, 1],
        [4, 1],
        [5, 1],
      ]),
    )
  })

  it('a unit status carries the lease end while pending and the traceback once failed', async () => {
    await py.setWorkSpec()
    await py.addWorkUnit(SPEC, 'u', { k: 'v' })
    await py.getSpecificWork(SPEC, 'u')
    const now = Math.floor(h.clock.now().getTime() / SECOND)
    expect(await h.py('get_work_unit_status', SPEC, ['u'])).toEqual([[{ status: 3, worker_id: 'test', expiration: now + 900 }], null])
    await h.py('update_work_unit', SPEC, 'u', { status: 5, data: { k: 'v', traceback: 'Traceback…' } })
    expect(await h.py('get_work_unit_status', SPEC, ['u'])).toEqual([[{ status: 5, worker_id: 'test', traceback: b('Traceback…') }], null])
  })
})

describe('del_work_units never deletes by accident', () => {
  it('empty options delete nothing (go-coordinate deleted every unit)', async () => {
    await py.setWorkSpec()
    await py.addPrefixedWorkUnits(SPEC, 'u', 3)
    expect(await h.py('del_work_units', SPEC, {})).toEqual([0, 'no usable options to del_work_units'])
    expect(await h.py('del_work_units', SPEC, { all: false, work_unit_keys: null, state: null })).toEqual([0, 'no usable options to del_work_units'])
    expect(await h.py('del_work_units', SPEC, { work_unit_keys: [] })).toEqual([0, null])
    expect(await h.py('del_work_units', SPEC, { state: [] })).toEqual([0, null])
    expect(await h.py('count_work_units', SPEC)).toEqual([new Map([[1, 3]]), null])
    expect(await h.py('del_work_units', SPEC, { all: true })).toEqual([3, null])
    expect(await h.py('count_work_units', SPEC)).toEqual([{}, null])
  })
})

describe('bad input', () => {
  it('a wrong parameter count is an error naming the method', async () => {
    await expect(h.py('get_work', 'w')).rejects.toThrow('wrong number of parameters for get_work')
    await expect(h.py('clear', 'extra')).rejects.toThrow('wrong number of parameters for clear')
    await expect(h.py('archive', {}, {})).rejects.toThrow('wrong number of parameters for archive')
  })

  it('an unknown method is an error, including names that exist on every JS object', async () => {
    await expect(h.py('no_such_thing')).rejects.toThrow('no such method no_such_thing')
    await expect(h.py('constructor')).rejects.toThrow('no such method constructor')
    await expect(h.py('__proto__')).rejects.toThrow('no such method __proto__')
    await expect(h.py('toString')).rejects.toThrow('no such method toString')
  })

  it('parameters of the wrong type get a clear error, and the connection keeps working', async () => {
    await expect(h.py('get_work_spec', 5)).rejects.toThrow('work_spec name must be a string, not a number')
    await expect(h.py('count_work_units', [SPEC])).rejects.toThrow('work_spec name must be a string, not a list')
    await expect(h.call('get_work_spec', new Uint8Array([0xff]))).rejects.toThrow('work_spec name is not valid UTF-8')
    await expect(h.py('get_work', 'w', ['not', 'a', 'dict'])).rejects.toThrow('get_work options must be a dict')
    await expect(h.py('get_work', 'w', { lease_time: 'long' })).rejects.toThrow('lease_time must be a finite number')
    await expect(h.py('get_work', 'w', { max_jobs: true })).rejects.toThrow('max_jobs must be a finite number')
    await py.setWorkSpec()
    await expect(h.py('get_work_unit_status', SPEC, 'u')).rejects.toThrow('work_unit_keys must be a list')
    await expect(h.py('get_work_units', SPEC, { state: 'done' })).rejects.toThrow('state must be a list')
    await expect(h.py('get_work_units', SPEC, { state: 2 })).rejects.toThrow('BLOCKED')
    await expect(h.py('update_work_unit', SPEC, 'u', { status: '4' })).rejects.toThrow('status must be an integer')
    await expect(h.py('update_work_unit', SPEC, 'u', { data: 'x' })).rejects.toThrow('data must be a dict')
    await expect(h.py('worker_heartbeat', 'w', 'RUN', 'soon', {}, null)).rejects.toThrow('lifetime must be a finite number')
    await expect(h.py('worker_heartbeat', 'w', 'RUN', 60, [1], null)).rejects.toThrow('environment must be a dict')
    expect(await h.py('list_worker_modes')).toEqual([{}, null])
    // The connection is still in step after all those errors.
    expect(await h.py('get_work_spec_meta', SPEC)).toEqual([expect.objectContaining({ status: 1 }), null])
  })

  it('add_work_units with one invalid item adds nothing', async () => {
    await py.setWorkSpec()
    const items = [tuple('good', { k: 'v' }), tuple('bad', 'not a dict'), tuple('also-good', {})]
    await expect(h.py('add_work_units', SPEC, items)).rejects.toThrow(/work unit 1: .*data must be a dict/)
    await expect(h.py('add_work_units', SPEC, [tuple('good', {}), 42])).rejects.toThrow(/work unit 1/)
    await expect(h.py('add_work_units', SPEC, [tuple('good', {}, { priority: 'high' })])).rejects.toThrow(/priority/)
    await expect(h.py('add_work_units', SPEC, { good: {} })).rejects.toThrow('work units must be a list')
    expect(await h.py('count_work_units', SPEC)).toEqual([{}, null])
  })

  it('add_work_units accepts bare keys, (key, data) and (key, data, meta) items, later duplicates winning', async () => {
    await py.setWorkSpec()
    const items = ['bare', ['listed', { n: 1 }], tuple('prio', {}, { priority: 5 }), tuple('listed', { n: 2 })]
    expect(await h.py('add_work_units', SPEC, items)).toEqual([true, null])
    expect(await py.listWorkUnits(SPEC, {})).toEqual({ bare: {}, listed: { n: 2 }, prio: {} })
    await py.getSpecificWork(SPEC, 'prio')
  })

  it('prioritize_work_units without keys answers in-band', async () => {
    await py.setWorkSpec()
    expect(await h.py('prioritize_work_units', SPEC, { priority: 3 })).toEqual([false, 'missing work_unit_keys'])
  })
})

describe('connections', () => {
  it('a second connection sees the same state', async () => {
    await py.setWorkSpec()
    const other = await h.connect()
    const response = await other.call(1, 'get_work_spec', [b(SPEC)])
    expect(response.result).toMatchObject({ name: SPEC })
    other.end()
  })

  it('errors come back as error responses with the request id', async () => {
    const response = await h.response('get_work', [b('w')])
    expect(response).toHaveProperty('error', { message: 'wrong number of parameters for get_work' })
    expect(response).not.toHaveProperty('result')
    await expect(h.py('get_work', 'w')).rejects.toThrow(RpcError)
  })
})
