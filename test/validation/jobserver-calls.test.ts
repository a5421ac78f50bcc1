import { describe, expect, it } from 'vitest'
import { type Py2Input, startHarness, tuple } from '../jobserver/harness.js'
import { namespaceSnapshot } from '../support/namespace-snapshot.js'

// Bad parameters over CBOR-RPC: each gets an error message and leaves the namespace as it was.

const h = await startHarness()

type Row = [what: string, method: string, params: Py2Input[], message: RegExp]

const ROWS: Row[] = [
  ['set_work_spec with priority NaN', 'set_work_spec', [{ name: 'p', priority: NaN }], /priority must be a finite number, not NaN/],
  ['set_work_spec with weight -3', 'set_work_spec', [{ name: 'w', weight: -3 }], /weight must be at least 1/],
  ['set_work_spec with max_running -5', 'set_work_spec', [{ name: 'm', max_running: -5 }], /max_running must be between 0/],
  ['set_work_spec with a 1001-byte name', 'set_work_spec', [{ name: 'n'.repeat(1001) }], /at most 1000 UTF-8 bytes/],
  ['add_work_units with a 2001-byte key', 'add_work_units', ['s', [tuple('k'.repeat(2001), {})]], /at most 2000 bytes/],
  ['get_work with available_gb -1 (no worker is left behind)', 'get_work', ['w', { available_gb: -1 }], /availableGb must not be negative/],
  ['get_work with a worker name holding NUL', 'get_work', ['w\u0000', {}], /worker_id must not contain a NUL/],
  ['worker_heartbeat naming itself as parent', 'worker_heartbeat', ['w', 'run', 60, {}, 'w'], /cannot be its own parent/],
  ['control_work_spec with weight 0', 'control_work_spec', ['s', { weight: 0 }], /meta weight must be between 1/],
  ['get_work_units with a negative limit', 'get_work_units', ['s', { limit: -1 }], /limit/],
]

describe('bad parameters over CBOR-RPC', () => {
  it.each(ROWS)('%s', async (_what, method, params, message) => {
    await h.namespace().setWorkSpec({ name: 's' })
    const before = await namespaceSnapshot(h.coordinate, h.namespace())
    await expect(h.py(method, ...params)).rejects.toThrow(message)
    expect(await namespaceSnapshot(h.coordinate, h.namespace())).toEqual(before)
  })

  it('get_work caps max_jobs at 10000 instead of refusing it, as a smaller batch is a valid answer', async () => {
    const spec = await h.namespace().setWorkSpec({ name: 's' })
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }])
    const [units, message] = (await h.py('get_work', 'w', { max_jobs: 1_000_000 })) as [unknown[], unknown]
    expect(message).toBeNull()
    expect(units).toHaveLength(2)
  })
})
