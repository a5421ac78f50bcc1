import { expect } from 'vitest'
import { type DataValue, Tuple } from '../../src/coordinate/data.js'
import { type Harness, type Py2Input, b, echo, tuple } from './harness.js'

/** go-coordinate's python_test reference spec, as the Python 2 client sends it (every str as bytes). */
export const WORK_SPEC: { [key: string]: Py2Input } = {
  name: 'test_job_client',
  min_gb: 1,
  module: 'coordinate.tests.test_job_client',
  run_function: 'run_function',
}

/** The spec name as the server reports it (text). */
export const SPEC = 'test_job_client'

/** The keys of go-coordinate's prepareSomeOfEach, by state code: first and second unit. */
export const STATE_NAMES: Record<number, [string, string]> = { 1: ['AV', 'AI'], 3: ['PE', 'ND'], 4: ['FI', 'NI'], 5: ['FA', 'IL'] }

/** A key as a map key for comparing unordered listings: its bytes as latin-1 (one char per byte). */
export function keyId(key: DataValue): string {
  expect(key).toBeInstanceOf(Uint8Array)
  return Buffer.from(key as Uint8Array).toString('latin1')
}

/** The calls go-coordinate's PythonSuite helpers make, with its checks. */
export class PythonClient {
  constructor(readonly h: Harness) {}

  /** set_work_spec, expecting (True, None); returns the name. */
  async setWorkSpec(spec: { [key: string]: Py2Input } = WORK_SPEC): Promise<string> {
    expect(await this.h.py('set_work_spec', spec)).toEqual([true, null])
    return String(spec.name)
  }

  /** add_work_units with one (key, data) tuple. */
  async addWorkUnit(spec: string, key: Py2Input, data: Py2Input): Promise<void> {
    expect(await this.h.py('add_work_units', spec, [tuple(key, data)])).toEqual([true, null])
  }

  /** add_work_units with many (key, data) tuples in one call. */
  async addWorkUnits(spec: string, units: [Py2Input, Py2Input][]): Promise<void> {
    expect(await this.h.py('add_work_units', spec, units.map(([key, data]) => tuple(key, data)))).toEqual([true, null])
  }

  /** add_work_units of prefix001… with data {k: "v1"}…, as addPrefixedWorkUnits. */
  async addPrefixedWorkUnits(spec: string, prefix: string, count: number): Promise<void> {
    const units: [Py2Input, Py2Input][] = []
    for (let i = 1; i <= count; i++) units.push([`${prefix}${String(i).padStart(3, '0')}`, { k: `v${i}` }])
    await this.addWorkUnits(spec, units)
  }

  /** The get_work tuples expectPrefixedWorkUnits describes. */
  expectPrefixed(spec: string, prefix: string, count: number): Tuple[] {
    const result: Tuple[] = []
    for (let i = 1; i <= count; i++) result.push(Tuple.of(spec, b(`${prefix}${String(i).padStart(3, '0')}`), { k: b(`v${i}`) }))
    return result
  }

  /** get_work for worker "test" with {available_gb: 1}; the unit, or null for (None, None, None). */
  async getOneWork(workerId = 'test'): Promise<{ spec: string; key: string; rawKey: Uint8Array; data: DataValue } | null> {
    const result = await this.h.py('get_work', workerId, { available_gb: 1 })
    expect(Array.isArray(result)).toBe(true)
    const [work, message] = result as [DataValue, DataValue]
    expect(message).toBeNull()
    expect(work).toBeInstanceOf(Tuple)
    const items = (work as Tuple).items
    expect(items).toHaveLength(3)
    if (items[0] === null) {
      expect(items).toEqual([null, null, null])
      return null
    }
    expect(typeof items[0]).toBe('string')
    expect(items[1]).toBeInstanceOf(Uint8Array)
    return { spec: items[0] as string, key: keyId(items[1]!), rawKey: items[1] as Uint8Array, data: items[2]! }
  }

  /** get_work expecting this unit; returns its data. */
  async getSpecificWork(spec: string, key: string): Promise<DataValue> {
    const work = await this.getOneWork()
    expect(work).not.toBeNull()
    expect(work!.spec).toBe(spec)
    expect(work!.key).toBe(Buffer.from(key, 'utf8').toString('latin1'))
    return work!.data
  }

  /** update_work_unit {status: FINISHED[, data]}, expecting (True, None). */
  async finish(spec: string, key: Py2Input, data?: DataValue): Promise<void> {
    const options = new Map<DataValue, DataValue>([[b('status'), 4]])
    if (data !== undefined) options.set(b('data'), data)
    expect(await this.h.call('update_work_unit', b(spec), this.#wire(key), options)).toEqual([true, null])
  }

  /** get_work, expecting this unit, then finish it. */
  async doOneWork(spec: string, key: string): Promise<void> {
    await this.getSpecificWork(spec, key)
    await this.finish(spec, key)
  }

  /** get_work, expecting nothing. */
  async doNoWork(): Promise<void> {
    expect(await this.getOneWork()).toBeNull()
  }

  /** get_work_unit_status of one key, expecting this status code. */
  async checkStatus(spec: string, key: Py2Input, status: number): Promise<void> {
    const [entries, message] = (await this.h.py('get_work_unit_status', spec, [key])) as [DataValue[], DataValue]
    expect(message).toBeNull()
    expect(entries).toHaveLength(1)
    expect((entries[0] as { status: number }).status).toBe(status)
  }

  /** prioritize_work_units as TaskMaster sends it (priority and adjustment both present, one None). */
  async prioritize(spec: string, key: string, value: number, adjust: boolean): Promise<void> {
    const options = { work_unit_keys: [key], priority: adjust ? null : value, adjustment: adjust ? value : null }
    expect(await this.h.py('prioritize_work_units', spec, options)).toEqual([true, null])
  }

  /** get_work_units' entries keyed by keyId, checking that each is a (bytes, dict) tuple and none repeats. */
  async listWorkUnits(spec: string, options: { [key: string]: Py2Input }): Promise<Record<string, DataValue>> {
    const [entries, message] = (await this.h.py('get_work_units', spec, options)) as [DataValue[], DataValue]
    expect(message).toBeNull()
    const result: Record<string, DataValue> = {}
    for (const entry of entries) {
      expect(entry).toBeInstanceOf(Tuple)
      const [key, data] = (entry as Tuple).items
      expect((entry as Tuple).items).toHaveLength(2)
      const id = keyId(key!)
      expect(result).not.toHaveProperty([id])
      result[id] = data!
    }
    return result
  }

  /** The listing expected for these units: keyId → echoed data. */
  expected(units: [Py2Input, Py2Input][]): Record<string, DataValue> {
    const result: Record<string, DataValue> = {}
    for (const [key, data] of units) result[keyId(this.#wire(key))] = echo(data)
    return result
  }

  /** get_child_work_units of a parent: the child's unit dicts, checked, keyed by keyId → data. */
  async childWorkUnits(parent: string, child: string, spec: string): Promise<Record<string, DataValue>> {
    const [children, message] = (await this.h.py('get_child_work_units', parent)) as [Record<string, DataValue[]>, DataValue]
    expect(message).toBeNull()
    expect(children).toHaveProperty([child])
    const result: Record<string, DataValue> = {}
    for (const unit of children[child]!) {
      const dict = unit as Record<string, DataValue>
      expect(dict.worker_id).toBe(child)
      expect(dict.work_spec_name).toBe(spec)
      expect(typeof dict.expires).toBe('number')
      const id = keyId(dict.work_unit_key!)
      expect(result).not.toHaveProperty([id])
      result[id] = dict.work_unit_data!
    }
    return result
  }

  #wire(key: Py2Input): DataValue {
    return typeof key === 'string' ? b(key) : (key as DataValue)
  }
}
