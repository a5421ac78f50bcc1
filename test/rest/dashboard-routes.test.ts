import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import { Tuple, Uuid } from '../../src/coordinate/data.js'
import { createRestApp } from '../../src/rest/rest-server.js'
import type { SpecDetail, UnitDetail, UnitPage } from '../../src/rest/dashboard-types.js'
import { SharedReads } from '../../src/rest/shared-reads.js'
import type { ChangeEvent } from '../../src/coordinate/change-feed.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// The dashboard's routes over a real store, without a browser: what they answer, how they
// refuse bad input, and which of them the token guards.

const TOKEN = 'dashboard-test-token'

describe('dashboard routes', async () => {
  const { coordinate, clock } = await openTestCoordinate()
  const uiDir = await mkdtemp(join(tmpdir(), 'coordinate-ui-test-'))
  await mkdir(join(uiDir, 'assets'))
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>coordinate</title>')
  await writeFile(join(uiDir, 'assets', 'index-abc123.js'), 'console.log(1)')
  const dashboard = { queries: coordinate.dashboardQueries(), uiDir }
  const { app } = await createRestApp({ coordinate, clock, dashboard })
  const guarded = (await createRestApp({ coordinate, clock, dashboard, access: { token: TOKEN } })).app
  afterAll(async () => {
    await app.close()
    await guarded.close()
    await rm(uiDir, { recursive: true, force: true })
  })
  const get = async <T>(url: string): Promise<{ status: number; body: T }> => {
    const response = await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } })
    return { status: response.statusCode, body: response.json() as T }
  }

  const ns = await coordinate.namespace('dash')
  const spec = await ns.setWorkSpec({ name: 'spec', then: 'next', priority: 3 })
  await ns.setWorkSpec({ name: 'next' })
  const binaryKey = Uint8Array.of(0xff, 0x00, 0x41)
  await spec.addWorkUnits([
    { key: 'a', data: { pair: Tuple.of(1, 'x'), id: Uuid.parse('12345678-1234-5678-1234-567812345678'), raw: Uint8Array.of(0x80) } },
    { key: 'b', meta: { priority: 5 } },
    { key: binaryKey },
  ])

  it('summarises every spec on the overview, with stuck units and throughput', async () => {
    const worker = await ns.worker('w')
    const [first, second] = await worker.requestAttempts({ workSpecs: ['spec'], numberOfWorkUnits: 2, lifetimeMs: MINUTE })
    expect([first!.workUnit.name, second!.workUnit.name]).toEqual(['b', 'a'])
    await first!.finish({ output: ['b-next'] })
    clock.advance(2 * MINUTE)
    const { status, body } = await get<{ namespaces: { name: string; specs: { name: string; counts: Record<string, number>; stuck: number; priority: number; finishedLastHour: number }[] }[]; throughput: { finished: number[] } }>('/dashboard/overview')
    expect(status).toBe(200)
    const dash = body.namespaces.find((n) => n.name === 'dash')!
    expect(dash.specs.map((s) => [s.name, s.counts, s.stuck, s.priority, s.finishedLastHour])).toEqual([
      ['next', { available: 1, pending: 0, delayed: 0, finished: 0, failed: 0 }, 0, 0, 0],
      // The unit whose lease ran out reads as available, and counts as stuck until the sweep.
      ['spec', { available: 2, pending: 0, delayed: 0, finished: 1, failed: 0 }, 1, 3, 1],
    ])
    expect(body.throughput.finished.reduce((x, y) => x + y, 0)).toBe(1)
    expect(body.throughput.finished).toHaveLength(60)
  })

  it('shows a unit with typed data, attempts and the units it chained to', async () => {
    const { body: a } = await get<UnitDetail>('/dashboard/namespace/dash/work_spec/spec/work_unit/a')
    expect(a.data).toEqual({
      $: 'dict',
      items: [
        ['pair', { $: 'tuple', items: [1, 'x'] }],
        ['id', { $: 'uuid', value: '12345678-1234-5678-1234-567812345678' }],
        ['raw', { $: 'bytes', base64: 'gA==', text: null }],
      ],
    })
    expect(a.attempts.map((t) => [t.worker, t.status, t.active])).toEqual([['w', 'expired', false]])
    const { body: b } = await get<UnitDetail>('/dashboard/namespace/dash/work_spec/spec/work_unit/b')
    expect(b.chained).toEqual({ workSpec: 'next', units: [{ key: 'b-next', name: 'b-next', exists: true }], more: 0 })
    const segment = `-${Buffer.from(binaryKey).toString('base64url')}`
    const { body: binary } = await get<UnitDetail>(`/dashboard/namespace/dash/work_spec/spec/work_unit/${segment}`)
    expect([binary.key, binary.binary, binary.keyBytes]).toEqual([segment, true, { $: 'bytes', base64: '/wBB', text: null }])
  })

  it('pages units by cursor in priority order, and filters by status and prefix', async () => {
    const first = await get<UnitPage>('/dashboard/namespace/dash/work_spec/spec/units?sort=priority&limit=2')
    expect(first.body.units.map((u) => [u.name, u.priority])).toEqual([['b', 5], ['a', 0]])
    const second = await get<UnitPage>(`/dashboard/namespace/dash/work_spec/spec/units?sort=priority&limit=2&after=${first.body.next}`)
    expect(second.body.units.map((u) => u.key)).toEqual([`-${Buffer.from(binaryKey).toString('base64url')}`])
    expect(second.body.next).toBeNull()
    const finished = await get<UnitPage>('/dashboard/namespace/dash/work_spec/spec/units?status=finished')
    expect(finished.body.units.map((u) => u.name)).toEqual(['b'])
    const prefixed = await get<UnitPage>('/dashboard/namespace/dash/work_spec/spec/units?prefix=a')
    expect(prefixed.body.units.map((u) => u.name)).toEqual(['a'])
  })

  it('retries the given finished or failed units, or every failed one', async () => {
    const worker = await ns.worker('w2')
    const attempts = await worker.requestAttempts({ workSpecs: ['spec'], numberOfWorkUnits: 2 })
    for (const attempt of attempts) await attempt.fail({ traceback: 'boom' })
    const some = await app.inject({ method: 'POST', url: '/dashboard/namespace/dash/work_spec/spec/retry', payload: { keys: ['b'] } })
    expect(some.json()).toEqual({ retried: 1 })
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 1, failed: 2 })
    const all = await app.inject({ method: 'POST', url: '/dashboard/namespace/dash/work_spec/spec/retry', payload: {} })
    expect(all.json()).toEqual({ retried: 2 })
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 3 })
    const { body } = await get<SpecDetail>('/dashboard/namespace/dash/work_spec/spec')
    expect([body.counts.available, body.meta.then, body.throughput.failed.reduce((x, y) => x + y, 0)]).toEqual([3, 'next', 2])
  })

  it('refuses bad input with a clear error and changes nothing', async () => {
    const cases: [string, number, string][] = [
      ['/dashboard/namespace/dash/work_spec/spec/units?after=bogus', 400, 'INVALID_INPUT'],
      ['/dashboard/namespace/dash/work_spec/spec/units?sort=size', 400, 'INVALID_INPUT'],
      ['/dashboard/namespace/dash/work_spec/spec/units?limit=0', 400, 'INVALID_INPUT'],
      ['/dashboard/namespace/dash/work_spec/spec/units?status=lost', 400, 'INVALID_INPUT'],
      ['/dashboard/namespace/dash/work_spec/nope/units', 404, 'NO_SUCH_WORK_SPEC'],
      ['/dashboard/namespace/dash/work_spec/spec/work_unit/nope', 404, 'NO_SUCH_WORK_UNIT'],
      ['/dashboard/namespace/dash/work_spec/spec/work_unit/-%21', 400, 'INVALID_INPUT'],
    ]
    for (const [url, status, code] of cases) {
      const response = await get<{ error: string }>(url)
      expect([url, response.status, response.body.error]).toEqual([url, status, code])
    }
    const retry = await app.inject({ method: 'POST', url: '/dashboard/namespace/dash/work_spec/spec/retry', payload: { keys: 'a' } })
    expect(retry.statusCode).toBe(400)
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 3 })
  })

  it('serves the page to anyone and the data only with the token', async () => {
    const page = await guarded.inject({ method: 'GET', url: '/ui/namespace/dash/work_spec/spec', headers: { accept: 'text/html' } })
    expect([page.statusCode, page.headers['content-type'], page.headers['cache-control']]).toEqual([200, 'text/html; charset=utf-8', 'no-cache'])
    const asset = await guarded.inject({ method: 'GET', url: '/ui/assets/index-abc123.js' })
    expect([asset.statusCode, asset.headers['cache-control'], asset.body]).toEqual([200, 'public, max-age=31536000, immutable', 'console.log(1)'])
    const root = await guarded.inject({ method: 'GET', url: '/', headers: { accept: 'text/html,*/*;q=0.8' } })
    expect([root.statusCode, root.headers.location]).toEqual([302, '/ui/'])
    expect((await guarded.inject({ method: 'GET', url: '/', headers: { accept: 'application/json' } })).statusCode).toBe(401)
    expect((await guarded.inject({ method: 'GET', url: '/dashboard/overview' })).statusCode).toBe(401)
    const withToken = await guarded.inject({ method: 'GET', url: '/dashboard/overview', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(withToken.statusCode).toBe(200)
  })

  it('answers a reload after a change with the change, not with a summary shared from before it', async () => {
    // The feed /events streams from: a browser reloads when it hears of a change through it.
    const listeners = new Set<(event: ChangeEvent) => void>()
    const changes = { subscribe: (listener: (event: ChangeEvent) => void) => (listeners.add(listener), () => listeners.delete(listener)) }
    const live = (await createRestApp({ coordinate, clock, dashboard, changes })).app
    const available = async (): Promise<number> => {
      const body = (await live.inject({ method: 'GET', url: '/dashboard/overview', headers: { accept: 'application/json' } })).json() as { namespaces: { name: string; specs: { name: string; counts: { available: number } }[] }[] }
      return body.namespaces.find((n) => n.name === 'fresh')!.specs[0]!.counts.available
    }
    const fresh = await (await coordinate.namespace('fresh')).setWorkSpec({ name: 'spec' })
    await fresh.addWorkUnits([{ key: 'a' }])
    expect(await available()).toBe(1)
    await fresh.addWorkUnits([{ key: 'b' }, { key: 'c' }])
    for (const listener of listeners) listener({ kind: 'work-units', namespace: 'fresh', workSpec: 'spec', keys: null })
    // Well within the 250 ms a summary is shared for.
    expect(await available()).toBe(3)
    await live.close()
    expect(listeners.size).toBe(0)
  })
})

describe('shared reads', () => {
  it('joins a running computation and reuses a fresh result, then computes again', async () => {
    let now = 0
    let runs = 0
    const shared = new SharedReads<number>(100, () => now)
    const compute = async (): Promise<number> => ++runs
    expect(await Promise.all([shared.get('k', compute), shared.get('k', compute)])).toEqual([1, 1])
    now = 99
    expect(await shared.get('k', compute)).toBe(1)
    now = 100
    expect(await shared.get('k', compute)).toBe(2)
    expect(await shared.get('other', compute)).toBe(3)
  })

  it('computes afresh after clear(), even while an earlier computation still runs', async () => {
    const shared = new SharedReads<number>(1000, () => 0)
    let release = (_value: number): void => undefined
    const running = shared.get('k', () => new Promise<number>((resolve) => (release = resolve)))
    shared.clear()
    expect(await shared.get('k', async () => 2)).toBe(2)
    release(1)
    expect(await running).toBe(1)
  })

  it('does not keep a failure for later callers', async () => {
    const shared = new SharedReads<number>(1000, () => 0)
    await expect(shared.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down')
    expect(await shared.get('k', async () => 7)).toBe(7)
  })
})
