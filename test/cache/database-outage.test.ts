import { afterAll, describe, expect, it, vi } from 'vitest'
import { cacheCoordinate } from '../../src/cache/cache-coordinate.js'
import { DatabaseUnavailableError } from '../../src/coordinate/errors.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { proxyDatabase } from '../support/tcp-proxy.js'

const { url } = await openTestCoordinate()

interface LogLine {
  level: 'warn' | 'info'
  fields: Record<string, unknown>
  message: string
}

// What the daemon runs, a cache over the Postgres backend with its change feed, with the
// database behind a TCP proxy that the test stops and starts (the server itself is shared).
describe.runIf(url !== undefined)('a cached Coordinate whose database goes away and comes back', async () => {
  const { proxy, url: proxied } = await proxyDatabase(url!)
  afterAll(() => proxy.close())
  const logs: LogLine[] = []
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'warn', fields, message }),
    info: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'info', fields, message }),
  }
  const CONNECT_TIMEOUT_MS = 3_000
  const backend = await openCoordinate({ databaseUrl: proxied, leaseSweepMs: 0, connectTimeoutMs: CONNECT_TIMEOUT_MS, logger })
  // A short resync period, so the refresh loop queries the database while it is down.
  const cache = cacheCoordinate(backend, { clock: backend.clock, changes: backend.changes(), logger, resyncPeriodMs: 200 })
  afterAll(() => cache.close())
  const spec = await (await cache.namespace('cache-outage')).setWorkSpec({ name: 'spec' })
  const unit = await spec.addWorkUnit('u', { v: 1 })
  const sources = (message: string) => new Set(logs.filter((l) => l.message === message).map((l) => l.fields.source))

  it('logs loss and recovery once per outage for the pool, the LISTEN connection and the refresh loop, resyncs, and fails fast meanwhile', async () => {
    expect(await unit.status()).toBe('available')
    await vi.waitFor(() => expect(backend.observability().feedListening()).toBe(true), { timeout: 10_000 })
    await proxy.down()
    const downAt = performance.now()

    // Requests while down fail at once, none queued: memory cannot grow with the requests.
    const burst = await Promise.allSettled(Array.from({ length: 200 }, () => spec.countWorkUnitStatus()))
    const burstMs = performance.now() - downAt
    expect(burst.filter((r) => r.status === 'rejected' && r.reason instanceof DatabaseUnavailableError)).toHaveLength(200)
    expect(burstMs).toBeLessThan(CONNECT_TIMEOUT_MS)
    expect(backend.observability().poolStats()?.waiting).toBe(0)
    console.log(`200 calls while the database was down all failed within ${burstMs.toFixed(0)} ms`)

    await vi.waitFor(() => expect(sources('database connection lost')).toEqual(new Set(['pool', 'listen', 'cache refresh'])), { timeout: 10_000, interval: 20 })
    expect(logs.filter((l) => l.message === 'database connection lost').every((l) => l.level === 'warn')).toBe(true)

    await proxy.up()
    const upAt = performance.now()
    await vi.waitFor(() => expect(sources('database connection recovered')).toEqual(new Set(['pool', 'listen', 'cache refresh'])), { timeout: 15_000, interval: 20 })
    const outage = upAt - downAt
    for (const line of logs.filter((l) => l.message === 'database connection recovered')) {
      expect(line.level).toBe('info')
      // Each source counts from its own first failure to its own first success.
      expect(line.fields.outageMs as number, String(line.fields.source)).toBeGreaterThan(0)
      expect(line.fields.outageMs as number, String(line.fields.source)).toBeLessThan(outage + 15_000)
    }
    // Each source logged this outage once, however many of its calls failed.
    for (const message of ['database connection lost', 'database connection recovered']) {
      expect(logs.filter((l) => l.message === message)).toHaveLength(3)
    }
    // Notifications sent while the LISTEN connection was down are lost: the cache says it re-reads.
    await vi.waitFor(() => expect(logs.some((l) => l.level === 'info' && l.message === 'change feed reconnected; cached entries are re-read')).toBe(true), { timeout: 5_000 })
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 1 })
    expect(await unit.data()).toEqual({ v: 1 })
  })
})
