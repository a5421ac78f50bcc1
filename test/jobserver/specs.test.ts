import { describe, expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import type { DataValue } from '../../src/coordinate/data.js'
import { type Py2Input, RpcError, b, startHarness, u } from './harness.js'
import { PythonClient, SPEC, WORK_SPEC } from './client-helpers.js'

// go-coordinate's specs_test.go, then the work spec methods: paging, control and meta.

const h = await startHarness()
const py = new PythonClient(h)

type Specs = [Record<string, DataValue>[], string | null]

describe('specs_test', () => {
  it('module and run_function come back as byte strings, the rest unchanged (TestSpecByteification)', async () => {
    // Sent as go's test sends it: text strings throughout.
    expect(await h.call('set_work_spec', { name: SPEC, min_gb: 1, module: 'coordinate.tests.test_job_client', run_function: 'run_function' })).toEqual([
      true,
      null,
    ])
    expect(await h.py('get_work_spec', SPEC)).toEqual({
      name: SPEC,
      min_gb: 1,
      module: b('coordinate.tests.test_job_client'),
      run_function: b('run_function'),
    })
  })

  it('a Python 2 spec (byte-string values) is stored with text values at the top level and nested values exact', async () => {
    await py.setWorkSpec({ ...WORK_SPEC, config: { path: 'x', label: u('y') }, then: 'next' })
    const spec = (await h.py('get_work_spec', SPEC)) as Record<string, DataValue>
    expect(spec).toEqual({
      name: SPEC,
      min_gb: 1,
      module: b('coordinate.tests.test_job_client'),
      run_function: b('run_function'),
      config: { path: b('x'), label: 'y' },
      then: 'next',
    })
  })
})

describe('list_work_specs', () => {
  async function page(options: { [key: string]: Py2Input }): Promise<[string[], string | null]> {
    const [specs, next] = (await h.py('list_work_specs', options)) as Specs
    return [specs.map((spec) => spec.name as string), next]
  }

  it('pages by name: start is the first name of the page, next the first name of the following one', async () => {
    for (const name of ['e', 'c', 'a', 'd', 'b']) await py.setWorkSpec({ name })
    expect(await page({})).toEqual([['a', 'b', 'c', 'd', 'e'], null])
    expect(await page({ limit: 2 })).toEqual([['a', 'b'], 'c'])
    expect(await page({ start: 'c', limit: 2 })).toEqual([['c', 'd'], 'e'])
    expect(await page({ start: 'e', limit: 2 })).toEqual([['e'], null])
    expect(await page({ start: 'bb', limit: 2 })).toEqual([['c', 'd'], 'e'])
    expect(await page({ start: 'z' })).toEqual([[], null])
    expect(await page({ limit: 5 })).toEqual([['a', 'b', 'c', 'd', 'e'], null])
  })

  it('TaskMaster.iter_work_specs sees every spec exactly once', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `spec${i}`)
    for (const name of names) await py.setWorkSpec({ name })
    const seen: string[] = []
    let start: string | null = null
    do {
      const options: { [key: string]: Py2Input } = { limit: 3 }
      if (start !== null) options.start = start
      const [specs, next] = (await h.py('list_work_specs', options)) as Specs
      seen.push(...specs.map((spec) => spec.name as string))
      start = next
    } while (start)
    expect(seen).toEqual(names)
  })

  it('orders names by their UTF-8 bytes, whatever the database collation', async () => {
    for (const name of ['é', 'a', 'Z', 'B']) await py.setWorkSpec({ name })
    expect(await page({})).toEqual([['B', 'Z', 'a', 'é'], null])
    expect(await page({ start: u('a'), limit: 1 })).toEqual([['a'], 'é'])
  })

  it('entries are byteified like get_work_spec', async () => {
    await py.setWorkSpec()
    const [specs] = (await h.py('list_work_specs', {})) as Specs
    expect(specs).toEqual([await h.py('get_work_spec', SPEC)])
    expect(specs[0]!.module).toBeInstanceOf(Uint8Array)
  })

  it('a limit below 1 is refused', async () => {
    await expect(h.py('list_work_specs', { limit: 0 })).rejects.toThrow(/limit/)
  })
})

describe('work spec control', () => {
  it('control_work_spec changes what get_work_spec_meta reports', async () => {
    await py.setWorkSpec({ ...WORK_SPEC, weight: 3 })
    expect(await h.py('get_work_spec_meta', SPEC)).toEqual([{ status: 1, continuous: false, interval: 0, max_running: 0, weight: 3 }, null])
    expect(await h.py('control_work_spec', SPEC, { status: 2, weight: 7, interval: 1.5, max_running: 4 })).toEqual([true, null])
    expect(await h.py('get_work_spec_meta', SPEC)).toEqual([{ status: 2, continuous: false, interval: 1.5, max_running: 4, weight: 7 }, null])
  })

  it('only a spec that declares continuous can be made continuous', async () => {
    await py.setWorkSpec()
    expect(await h.py('control_work_spec', SPEC, { continuous: true })).toEqual([false, `cannot make non-continuous work spec ${SPEC} continuous`])
    await py.setWorkSpec({ name: 'cont', continuous: true })
    expect(await h.py('control_work_spec', 'cont', { continuous: false })).toEqual([true, null])
    expect(((await h.py('get_work_spec_meta', 'cont')) as [Record<string, DataValue>])[0].continuous).toBe(false)
    expect(await h.py('control_work_spec', 'cont', { continuous: true })).toEqual([true, null])
    expect(((await h.py('get_work_spec_meta', 'cont')) as [Record<string, DataValue>])[0].continuous).toBe(true)
  })

  it('an unknown spec status is an error and changes nothing', async () => {
    await py.setWorkSpec()
    await expect(h.py('control_work_spec', SPEC, { status: 3, weight: 9 })).rejects.toThrow(/status/)
    expect(((await h.py('get_work_spec_meta', SPEC)) as [Record<string, DataValue>])[0]).toMatchObject({ status: 1, weight: 20 })
  })

  it('del_work_spec deletes a spec with its units; a second time answers in-band', async () => {
    await py.setWorkSpec()
    await py.addWorkUnit(SPEC, 'u', {})
    expect(await h.py('del_work_spec', SPEC)).toEqual([true, null])
    expect(await h.py('get_work_spec', SPEC)).toBeNull()
    expect(await h.py('del_work_spec', SPEC)).toEqual([false, `no such work_spec '${SPEC}'`])
    await py.setWorkSpec()
    expect(await h.py('count_work_units', SPEC)).toEqual([{}, null])
  })

  it('set_work_spec refuses a spec without a usable name', async () => {
    await expect(h.py('set_work_spec', { min_gb: 1 })).rejects.toThrow(RpcError)
    await expect(h.py('set_work_spec', { name: 5 })).rejects.toThrow(RpcError)
    await expect(h.call('set_work_spec', [b('name')])).rejects.toThrow(/work spec must be a dict/)
    expect(await h.py('list_work_specs', {})).toEqual([[], null])
  })

  it('now is the server clock in whole Unix seconds', async () => {
    h.clock.advance(1500)
    expect(await h.py('now')).toBe(Math.floor(h.clock.now().getTime() / SECOND))
  })
})
