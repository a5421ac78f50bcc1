import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { type DaemonHandle, runDaemon } from '../../src/cli/daemon.js'
import { Tuple } from '../../src/coordinate/data.js'
import { DaemonMetrics } from '../../src/rest/daemon-metrics.js'
import { restCoordinate } from '../../src/rest/index.js'
import { TestClient } from '../cborrpc/python-like-client.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { send } from './support.js'

// The daemon with its HTTP API on: /metrics after real work over both protocols, /healthz,
// /readyz, and the HTTP server's part in the daemon's shutdown.
const { url } = await openTestCoordinate()
if (url === undefined) throw new Error('these tests need a PostgreSQL server (DATABASE_URL)')
const daemon: DaemonHandle = await runDaemon({ databaseUrl: url, port: 0, http: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }) })
const base = `http://127.0.0.1:${daemon.httpAddress!.port}`
const client = restCoordinate(base)
const rpc = await TestClient.connect(daemon.address.port)
afterAll(async () => {
  rpc.socket.destroy()
  await client.close()
  await daemon.stop()
})

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'))

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const labelText = line.slice(name.length).split(' ')[0] ?? ''
    if (want.every((pair) => labelText.includes(pair))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

describe('daemon /metrics', () => {
  it('reports unit counts, claims, completions, requests of both protocols, the cache and the pool', async () => {
    // Over HTTP: three units, two claimed, one finished and one failed.
    const ns = await client.namespace('metrics')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnits([{ key: 'a' }, { key: 'b' }, { key: 'c' }])
    const worker = await ns.worker('w')
    const [first, second] = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    await first!.finish()
    await second!.fail()
    // Over CBOR-RPC: one unit claimed and finished in namespace "".
    expect((await rpc.call(1, 'set_work_spec', [{ name: bytes('py'), min_gb: 1 }])).result).toEqual([true, null])
    expect((await rpc.call(2, 'add_work_units', [bytes('py'), [Tuple.of(bytes('u1'), {})]])).result).toEqual([true, null])
    expect((await rpc.call(3, 'get_work', [bytes('pyworker'), { available_gb: 1 }])).result).toEqual([Tuple.of('py', bytes('u1'), {}), null])
    expect((await rpc.call(4, 'update_work_unit', [bytes('py'), bytes('u1'), { status: 4 }])).result).toEqual([true, null])

    const answer = await send(base, 'GET', '/metrics')
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toContain('text/plain')
    const text = answer.text
    const unitSeries = (status: string, ns = 'metrics', work_spec = 'spec') => sample(text, 'coordinate_work_units', { namespace: ns, work_spec, status })
    expect([unitSeries('available'), unitSeries('finished'), unitSeries('failed'), unitSeries('finished', '', 'py')]).toEqual([1, 1, 1, 1])
    expect(unitSeries('pending')).toBeUndefined()
    expect(sample(text, 'coordinate_attempts_claimed_total', { namespace: 'metrics', work_spec: 'spec' })).toBe(2)
    expect(sample(text, 'coordinate_attempts_finished_total', { namespace: 'metrics', work_spec: 'spec' })).toBe(1)
    expect(sample(text, 'coordinate_attempts_failed_total', { namespace: 'metrics', work_spec: 'spec' })).toBe(1)
    expect(sample(text, 'coordinate_attempts_claimed_total', { namespace: '', work_spec: 'py' })).toBe(1)
    expect(sample(text, 'coordinate_attempts_finished_total', { namespace: '', work_spec: 'py' })).toBe(1)
    expect(sample(text, 'coordinate_active_workers', { namespace: 'metrics' })).toBe(1)
    expect(sample(text, 'coordinate_cborrpc_requests_total', { method: 'get_work', outcome: 'ok' })).toBe(1)
    expect(sample(text, 'coordinate_cborrpc_request_duration_seconds_count', { method: 'update_work_unit' })).toBe(1)
    expect(sample(text, 'coordinate_http_requests_total', { method: 'POST', route: '/namespace/:ns/worker/:worker/request_attempts', status: '200' })).toBe(1)
    expect(sample(text, 'coordinate_http_request_duration_seconds_count', { method: 'POST', route: '/namespace/:ns/work_spec' })).toBe(1)
    expect(sample(text, 'coordinate_pool_connections', { state: 'in_use' })).toBeGreaterThanOrEqual(0)
    expect(sample(text, 'coordinate_pool_connections', { state: 'waiting' })).toBeGreaterThanOrEqual(0)
    expect(sample(text, 'coordinate_work_units_age_seconds')).toBeGreaterThanOrEqual(0)
    // Every writer takes its locks in one order, so no statement lost a deadlock.
    expect(sample(text, 'coordinate_deadlock_retries_total')).toBe(0)
    for (const name of ['coordinate_cache_hits_total', 'coordinate_cache_misses_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(text, name).toContain(`\n${name}`)
    }
  })

  it("serves the store's deadlock retries as they are at each scrape", async () => {
    let retries = 2
    const metrics = new DaemonMetrics({ defaults: false, deadlockRetries: () => retries })
    expect(sample(await metrics.metrics(), 'coordinate_deadlock_retries_total')).toBe(2)
    retries = 5
    expect(sample(await metrics.metrics(), 'coordinate_deadlock_retries_total')).toBe(5)
  })
})

describe('daemon health', () => {
  it('answers /healthz and /readyz with the checks that passed', async () => {
    expect((await send(base, 'GET', '/healthz')).body).toEqual({ status: 'ok' })
    const ready = await send(base, 'GET', '/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({ status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, change_feed: { ok: true } } })
  })
})
