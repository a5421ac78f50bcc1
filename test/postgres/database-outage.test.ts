import { afterAll, describe, expect, it, vi } from 'vitest'
import pg from 'pg'
import { DatabaseUnavailableError } from '../../src/coordinate/errors.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { waitForLockWait } from '../support/lock-wait.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { rejection } from '../support/rejection.js'
import { proxyDatabase } from '../support/tcp-proxy.js'

const { coordinate: direct, url } = await openTestCoordinate()

// The database behind a TCP proxy that the test stops and starts: the server itself is shared.
describe.runIf(url !== undefined)('a Coordinate whose database goes away and comes back', async () => {
  const { proxy, url: proxied } = await proxyDatabase(url!)
  afterAll(() => proxy.close())
  const logs: { level: string; fields: Record<string, unknown>; message: string }[] = []
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'warn', fields, message }),
    info: (fields: Record<string, unknown>, message: string) => void logs.push({ level: 'info', fields, message }),
  }
  const coordinate = await openCoordinate({ databaseUrl: proxied, leaseSweepMs: 0, connectTimeoutMs: 1_000, logger })
  afterAll(() => coordinate.close())
  const spec = await (await coordinate.namespace('outage')).setWorkSpec({ name: 'spec' })
  const unit = await spec.addWorkUnit('u', { v: 1 })

  it('fails every call at once while down, says nothing was applied, and serves the first call after', async () => {
    await proxy.down()
    const calls = [
      ...Array.from({ length: 40 }, () => spec.countWorkUnitStatus()),
      ...Array.from({ length: 10 }, (_, i) => spec.addWorkUnit(`new${i}`)),
      unit.setData({ v: 2 }),
    ]
    const errors = await Promise.all(calls.map((call) => rejection(call, DatabaseUnavailableError)))
    expect(errors.map((e) => e.applied)).toEqual(errors.map(() => 'no'))
    expect(errors[0]!.message).toMatch(/^Database unavailable \(.+\): the request was not applied; try again$/)
    expect(logs.filter((l) => l.level === 'warn' && l.message === 'database connection lost').map((l) => l.fields.source)).toEqual(['pool'])

    await proxy.up()
    // No waiting: the first call after the database is back is served.
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 1 })
    // The recovery is logged once it has held for a second (a restart's connections die one by one).
    const recovered = await vi.waitFor(() => {
      const line = logs.find((l) => l.message === 'database connection recovered' && l.fields.source === 'pool')
      if (line === undefined) throw new Error('no recovery logged yet')
      return line
    }, { timeout: 5_000, interval: 20 })
    expect(recovered.level).toBe('info')
    expect(recovered.fields.outageMs).toBeGreaterThanOrEqual(0)
    expect(await unit.data()).toEqual({ v: 1 })
  })

  it('never repeats a write whose connection dropped while it ran: its outcome is unknown', async () => {
    // Another session holds the row, so our UPDATE is on the server, waiting, when the link drops.
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('SELECT 1 FROM coordinate.work_unit FOR UPDATE')
      const write = unit.setData({ v: 3 })
      await waitForLockWait(holder)
      await proxy.down()
      const error = await rejection(write, DatabaseUnavailableError)
      expect(error.applied).toBe('unknown')
      expect(error.message).toContain('may or may not have been applied')
      await holder.query('COMMIT')
    } finally {
      await holder.end()
      await proxy.up()
    }
  })
})

describe.runIf(url !== undefined)('a get-or-create whose connection drops while it runs', () => {
  it('runs again on a new connection, since running it twice creates nothing twice', async () => {
    // The holder's uncommitted insert of the same name keeps ours waiting on the server, where
    // its backend is terminated (as a restart does); the holder then commits.
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query("INSERT INTO coordinate.namespace (name) VALUES ('racing')")
      const created = direct.namespace('racing')
      // Only our insert waits for the holder (a backend of the tests above may wait on a lock too).
      const blockedByHolder = 'FROM pg_stat_activity WHERE datname = current_database() AND pg_backend_pid() = ANY (pg_blocking_pids(pid))'
      await vi.waitFor(async () => expect((await holder.query<{ n: number }>(`SELECT count(*)::int AS n ${blockedByHolder}`)).rows[0]!.n).toBe(1), {
        timeout: 10_000,
        interval: 10,
      })
      const { rows } = await holder.query<{ n: number }>(`SELECT count(pg_terminate_backend(pid))::int AS n ${blockedByHolder}`)
      expect(rows[0]!.n).toBe(1)
      await holder.query('COMMIT')
      const namespace = await created
      expect(namespace.name).toBe('racing')
      expect((await direct.namespaces()).filter((n) => n.name === 'racing')).toHaveLength(1)
    } finally {
      await holder.end()
    }
  })
})
