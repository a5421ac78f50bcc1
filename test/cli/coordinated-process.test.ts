import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { type AddressInfo, type Socket, createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ExitCode } from '../../src/cli/exit-codes.js'
import { TestClient, pythonRequest } from '../cborrpc/python-like-client.js'
import { createFileDatabase } from '../support/database.js'
import { type Watched, buildIfStale, coordinatedJs, isRunning, watch } from './daemon-process.js'

// The coordinated command as an operator runs it: a separate process, started with `npm start`
// or from dist/, stopped with signals. Without a PostgreSQL server it runs on PGlite.
const database = await createFileDatabase()
const scratch = await mkdtemp(join(tmpdir(), 'coordinated-process-'))
beforeAll(() => buildIfStale(), 300_000)
afterAll(async () => {
  await database.drop()
  await rm(scratch, { recursive: true, force: true })
})

const started: Watched[] = []
afterEach(() => {
  for (const watched of started.splice(0)) {
    watched.child.kill('SIGKILL')
    // Under `npm start` the daemon is npm's child, which npm's SIGKILL leaves running, its pool
    // and LISTEN connections open until the file's database is dropped with them.
    const daemonPid = watched.logs.find(isStarted)?.pid
    if (typeof daemonPid === 'number' && isRunning(daemonPid)) process.kill(daemonPid, 'SIGKILL')
  }
})

function databaseArgs(name: string): string[] {
  return database.url ? ['--database-url', database.url] : ['--data-dir', join(scratch, name)]
}

function coordinated(args: readonly string[]): Watched {
  const watched = watch(process.execPath, [coordinatedJs, '--log-format', 'json', ...args])
  started.push(watched)
  return watched
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return condition()
}

const isStarted = (line: Record<string, unknown>): boolean => line.msg === 'coordinated started'

describe('npm start', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`runs the daemon as npm's own child, which ${signal} to npm's pid stops gracefully`, async () => {
      const npm = watch('npm', ['start', '--', '--log-format', 'json', '--listen', '127.0.0.1:0', ...databaseArgs(`npm-${signal}`)])
      started.push(npm)
      const line = await npm.logLine(isStarted)
      const daemonPid = line.pid as number
      expect(daemonPid).not.toBe(npm.child.pid)
      npm.child.kill(signal)
      expect(await npm.exited).toBe(ExitCode.stopped)
      expect(npm.logs.map((entry) => entry.msg)).toEqual(expect.arrayContaining(['signal received; stopping', 'coordinated stopped']))
      expect(npm.logs.find((entry) => entry.msg === 'signal received; stopping')).toMatchObject({ signal, pid: daemonPid })
      expect(await until(() => !isRunning(daemonPid))).toBe(true)
    }, 60_000)
  }
})

describe('coordinated start-up failures', () => {
  it('bounds a start that hangs once it is signalled: a database that accepts and never answers', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const connected = once(silent, 'connection')
    try {
      const port = (silent.address() as AddressInfo).port
      const watched = coordinated(['--listen', '127.0.0.1:0', '--shutdown-timeout', '0.3', '--database-url', `postgres://me@127.0.0.1:${port}/db`])
      await connected
      watched.child.kill('SIGTERM')
      expect(await watched.exited).toBe(ExitCode.shutdownIncomplete)
      expect(watched.logs.map((line) => line.msg)).toEqual(['signal received while starting; stopping once started', 'the stop did not finish in time; exiting while starting'])
    } finally {
      for (const socket of sockets) socket.destroy()
      silent.close()
    }
  })

  it('reports a busy port in one sentence, exit 4, before touching the database', async () => {
    const first = coordinated(['--listen', '127.0.0.1:0', ...databaseArgs('first')])
    const address = (await first.logLine(isStarted)).address as string
    const dataDir = join(scratch, 'never-created')
    const second = coordinated(['--listen', address, '--data-dir', dataDir])
    expect(await second.exited).toBe(ExitCode.listen)
    expect(second.stderr()).toBe(`coordinated: cannot listen on ${address}: the address is in use (is another coordinated running on ${address}?); stop it or choose another --listen\n`)
    expect(existsSync(dataDir)).toBe(false)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(ExitCode.stopped)
  }, 60_000)

  it('names --database-url and the redacted URL when PostgreSQL refuses the connection, exit 5', async () => {
    const watched = coordinated(['--listen', '127.0.0.1:0', '--database-url', 'postgres://me:secret@127.0.0.1:1/db'])
    expect(await watched.exited).toBe(ExitCode.database)
    expect(watched.stderr()).toBe(
      'coordinated: cannot connect to PostgreSQL at postgres://me:***@127.0.0.1:1/db: connection refused; check --database-url and that PostgreSQL is running there\n',
    )
    expect(watched.logs).toEqual([])
  })

  it('refuses a database URL that is not one, exit 2', async () => {
    const watched = coordinated(['--database-url', 'not-a-url'])
    expect(await watched.exited).toBe(ExitCode.usage)
    expect(watched.stderr().split('\n')[0]).toBe('coordinated: --database-url is not a URL: "not-a-url" (expected postgres://USER@HOST:PORT/DATABASE)')
  })
})

// A request held in the database by a lock from outside keeps the pool from closing, so the
// stop has to give up on it. PGlite has no second session to hold the lock from.
describe.skipIf(!database.url)('coordinated stop', () => {
  it('abandons a stuck request and a database that will not close, and exits 6', async () => {
    const watched = coordinated(['--listen', '127.0.0.1:0', '--shutdown-timeout', '0.3', ...databaseArgs('stuck')])
    const address = (await watched.logLine(isStarted)).address as string
    const holder = new pg.Client({ connectionString: database.url })
    holder.on('error', () => undefined)
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query("SELECT pg_advisory_xact_lock(hashtext('coordinate-ts path_lock'), hashtext('coordinate'))")
      const client = await TestClient.connect(Number(address.split(':')[1]))
      client.send(pythonRequest(1, 'lock', [new Uint8Array([1]), 30, [[new Uint8Array([2])]]]))
      // Wait until the request waits on the lock inside the database; bounded, so that a failed
      // wait still reaches the finally that ends the holder's transaction and connection.
      await vi.waitFor(
        async () => {
          const { rows } = await holder.query<{ n: number }>("SELECT count(*)::integer AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
          expect(rows[0]?.n).toBeGreaterThan(0)
        },
        { timeout: 30_000, interval: 10 },
      )
      watched.child.kill('SIGTERM')
      expect(await watched.exited).toBe(ExitCode.shutdownIncomplete)
      expect(watched.logs.find((entry) => entry.msg === 'coordinated stopped')).toMatchObject({ abandonedRequests: 1, databaseClosed: false })
      client.socket.destroy()
    } finally {
      await holder.end()
    }
  }, 60_000)
})
