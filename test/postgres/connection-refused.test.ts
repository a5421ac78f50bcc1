import { type AddressInfo, Socket, createServer } from 'node:net'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { DatabaseUnavailableError } from '../../src/coordinate/errors.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { createFileDatabase } from '../support/database.js'
import { rejection } from '../support/rejection.js'
import { proxyDatabase } from '../support/tcp-proxy.js'

// While the database refuses connections, a call fails after one connect: a refused connect (or
// one that timed out) ends the tries a lost connection otherwise gets (docs/reliability.md,
// "Fail fast"). The pools here hold 3 connections, so a call that kept trying would connect 5 times.

const database = await createFileDatabase()
afterAll(() => database.drop())
const { url } = database
const POOL_SIZE = 3

afterEach(() => void vi.restoreAllMocks())

/** Counts the TCP connects this process starts to `port` from now on. */
function countConnects(port: number): () => number {
  const connect = vi.spyOn(Socket.prototype, 'connect')
  // connect(port, host) or connect({ port, host }): the spy's type names only the last overload.
  const portOf = (target: unknown): unknown => (typeof target === 'object' && target !== null ? (target as { port?: unknown }).port : target)
  return () => connect.mock.calls.filter(([target]) => portOf(target) === port).length
}

/** A free port, with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('opening a Coordinate on a database that cannot be reached', () => {
  it('fails with DatabaseUnavailableError after one refused connect', async () => {
    const port = await deadPort()
    const connects = countConnects(port)
    const error = await rejection(openCoordinate({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, poolSize: POOL_SIZE, leaseSweepMs: 0 }), DatabaseUnavailableError)
    expect(error.applied).toBe('no')
    expect(error.message).toContain('ECONNREFUSED')
    expect(connects()).toBe(1)
  })

  it('fails within its connect timeout when the server accepts but never answers', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = silent.address() as AddressInfo
      const started = performance.now()
      const error = await rejection(openCoordinate({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, connectTimeoutMs: 300, leaseSweepMs: 0 }), DatabaseUnavailableError)
      const elapsed = performance.now() - started
      expect(error.applied).toBe('no')
      expect(sockets).toHaveLength(1)
      // One timeout is 0.3 s; the pool's eleven tries would take 3.3 s.
      expect(elapsed).toBeLessThan(1_500)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})

describe.runIf(url !== undefined)('a Coordinate whose database stops listening', async () => {
  const { proxy, url: proxied } = await proxyDatabase(url!)
  afterAll(() => proxy.close())
  const coordinate = await openCoordinate({ databaseUrl: proxied, poolSize: POOL_SIZE, leaseSweepMs: 0 })
  afterAll(() => coordinate.close())
  const ns = await coordinate.namespace('refused')
  const spec = await ns.setWorkSpec({ name: 'spec' })
  const unit = await spec.addWorkUnit('u')
  const worker = await ns.worker('w')

  it('fails a read, a write and a transaction with DatabaseUnavailableError after one connect each', async () => {
    await proxy.down()
    // The pool drops the connections the proxy cut, so every call below needs a new one.
    await vi.waitFor(() => expect(coordinate.observability().poolStats()?.total).toBe(0), { timeout: 5_000, interval: 10 })
    const connects = countConnects(proxy.port)
    const calls: [string, () => Promise<unknown>][] = [
      ['read', () => spec.countWorkUnitStatus()],
      ['write', () => spec.addWorkUnit('v')],
      ['transaction', () => worker.makeAttempt(unit, 60_000)],
    ]
    const tries: Record<string, number> = {}
    for (const [name, call] of calls) {
      const before = connects()
      const error = await rejection(call(), DatabaseUnavailableError)
      expect(error.applied).toBe('no')
      tries[name] = connects() - before
    }
    expect(tries).toEqual({ read: 1, write: 1, transaction: 1 })
    await proxy.up()
    expect(await spec.countWorkUnitStatus()).toEqual({ available: 1 })
  })
})
