import pg from 'pg'
import { pino } from 'pino'
import { describe, expect, it, onTestFinished } from 'vitest'
import { runDaemon } from '../../src/cli/daemon.js'
import { type DataValue, Tuple, isDataDict } from '../../src/coordinate/data.js'
import { TestClient } from '../cborrpc/python-like-client.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { type Py2Input, py2 } from './harness.js'

// The daemon on this file's database, eight Python-like clients getting and finishing work,
// and every backend of the database killed with pg_terminate_backend again and again meanwhile
// (what a restart or failover does to connections, without touching the shared server).
const { coordinate, url } = await openTestCoordinate()

const CLIENTS = 8
const UNITS = 400
const KILL_ROUNDS = 12
const KILL_EVERY_MS = 250
const FINISHED = 4

interface Ack {
  key: string
  worker: string
  seq: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One Python-like worker connection: call() returns the result, or the error message as { error }. */
async function connectWorker(port: number): Promise<(method: string, ...params: Py2Input[]) => Promise<{ result?: DataValue; error?: string }>> {
  const client = await TestClient.connect(port)
  onTestFinished(() => void client.socket.destroy())
  let id = 0
  return async (method, ...params) => {
    const answer = await client.call(++id, method, params.map(py2))
    if ('result' in answer) return { result: answer.result ?? null }
    const error = answer.error
    return { error: isDataDict(error) && typeof error.message === 'string' ? error.message : JSON.stringify(answer) }
  }
}

/** Terminates every other backend of `database` on the server; returns how many. */
async function killBackends(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  )
  return rows[0]!.n
}

describe.runIf(url !== undefined)('coordinated while the database drops every connection', () => {
  it('loses no unit, finishes none twice, keeps every acknowledged update, and serves at once after', async () => {
    const logs: Record<string, unknown>[] = []
    // A recovery is logged once it has held for a while, which may be after the work is done.
    let recoveryLogged: () => void = () => {}
    const recovery = new Promise<void>((resolve) => (recoveryLogged = resolve))
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as Record<string, unknown>
          logs.push(entry)
          if (entry.msg === 'database connection recovered') recoveryLogged()
        },
      },
    )
    const daemon = await runDaemon({ databaseUrl: url, port: 0, logger })
    // Registered from inside the test, an afterAll would never run: the daemon's pool stayed
    // open until the file's database was dropped with its connections.
    onTestFinished(async () => void (await daemon.stop()))
    const spec = await (await coordinate.namespace('')).setWorkSpec({ name: 'restart' })
    await spec.addWorkUnits(Array.from({ length: UNITS }, (_, i) => ({ key: `u${String(i).padStart(4, '0')}` })))

    const databaseName = new URL(url!).pathname.slice(1)
    const adminUrl = new URL(url!)
    adminUrl.pathname = '/postgres'
    const admin = new pg.Client({ connectionString: adminUrl.toString() })
    await admin.connect()
    onTestFinished(() => admin.end())

    const acks: Ack[] = []
    const errors: string[] = []
    let allDone = false
    const work = async (worker: string): Promise<void> => {
      const call = await connectWorker(daemon.address.port)
      let seq = 0
      while (!allDone) {
        const got = await call('get_work', worker, { available_gb: 1, lease_time: 2 })
        if (got.error !== undefined) {
          errors.push(got.error)
          continue
        }
        const [tuple] = got.result as [Tuple]
        const [specName, key] = tuple.items as [string | null, Uint8Array]
        if (specName === null) {
          await sleep(50)
          continue
        }
        const mine = ++seq
        // Repeated until answered: a finish whose outcome was unknown is answered False the
        // second time if the first one did land, and is then not acknowledged.
        for (;;) {
          const done = await call('update_work_unit', specName, key, { status: FINISHED, data: { by: worker, seq: mine }, worker_id: worker })
          if (done.error !== undefined) {
            errors.push(done.error)
            continue
          }
          if ((done.result as [boolean])[0] === true) acks.push({ key: Buffer.from(key).toString(), worker, seq: mine })
          break
        }
      }
    }
    const workers = Array.from({ length: CLIENTS }, (_, i) => work(`w${i}`))

    let killed = 0
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await sleep(KILL_EVERY_MS)
      killed += await killBackends(admin, databaseName)
    }
    // The database is accepting connections again: the very next request must be served.
    const probe = await connectWorker(daemon.address.port)
    const probeStarted = performance.now()
    const status = await probe('count_work_units', 'restart')
    const probeMs = performance.now() - probeStarted
    expect(status.error).toBeUndefined()

    for (;;) {
      const counts = await spec.countWorkUnitStatus()
      if (counts.finished === UNITS) break
      await sleep(100)
    }
    allDone = true
    await Promise.all(workers)

    // None finished twice: at most one acknowledged finish per unit.
    const byKey = new Map<string, Ack[]>()
    for (const ack of acks) byKey.set(ack.key, [...(byKey.get(ack.key) ?? []), ack])
    expect([...byKey.values()].filter((list) => list.length > 1)).toEqual([])
    // None lost, and each acknowledged finish is what the database holds.
    const snapshots = await spec.workUnitSnapshots(Array.from({ length: UNITS }, (_, i) => `u${String(i).padStart(4, '0')}`))
    expect(snapshots.filter((s) => s.state !== 'finished').map((s) => s.key)).toEqual([])
    const data = new Map(snapshots.map((s) => [Buffer.from(s.key).toString(), s.attemptData ?? s.unitData]))
    const lost = acks.filter((ack) => {
      const held = data.get(ack.key)
      return !(held?.by instanceof Uint8Array && Buffer.from(held.by).toString() === ack.worker && held.seq === ack.seq)
    })
    expect(lost).toEqual([])

    // Every failure the clients saw says the database was unavailable, and no more: the
    // connection error's own text (which may name the database host) stays in the server's log.
    expect(errors.filter((message) => !message.startsWith('Database unavailable (see the server log)'))).toEqual([])
    await recovery
    const warned = logs.filter((entry) => entry.msg === 'database connection lost' && entry.level === 40)
    const recovered = logs.filter((entry) => entry.msg === 'database connection recovered' && entry.level === 30)
    expect(warned.length).toBeGreaterThan(0)
    expect(recovered.length).toBeGreaterThan(0)
    expect(recovered.every((entry) => typeof entry.outageMs === 'number')).toBe(true)
    expect(new Set(warned.map((entry) => entry.source))).toContain('listen')
    console.log(
      `${killed} backends killed in ${KILL_ROUNDS} rounds; ${acks.length} finishes acknowledged of ${UNITS}; ` +
        `${errors.length} requests answered "database unavailable"; first request after the last kill answered in ${probeMs.toFixed(0)} ms`,
    )
  }, 180_000)
})
