import pg from 'pg'
import { openCoordinate } from '../src/postgres/open.js'
import { PostgresWorker } from '../src/postgres/worker.js'
import { runWorkers } from '../src/worker/runtime.js'
import { dropDatabase, freshDatabase, percentileText, report, timed } from './support.js'

const DATABASE = 'coordinate_bench_pickup_trace'
const PICKUPS = Number(process.env.BENCH_PICKUPS ?? 200)
// The runtime is idle between units: its own claim's and completion's notifications have gone.
const PAUSE_MS = Number(process.env.BENCH_PICKUP_PAUSE_MS ?? 50)

/** Milestones of one pickup, in ms from the start of the add call. */
interface Trace {
  addDone: number
  heard: number
  claimStart: number
  claimDone: number
  handler: number
}

/**
 * Where the milliseconds of an idle pickup go: each unit added by a second Coordinate is
 * timed at the add returning, the notification reaching the runtime's LISTEN connection, the
 * claim going out and coming back, and the handler starting. Beside it, the floor: one
 * round trip, a committed insert, and a bare NOTIFY heard by a bare LISTEN.
 */
export async function benchPickupTrace(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  try {
    await floor(url)
    const traces = await tracePickups(url)
    const steps: [string, (t: Trace) => number][] = [
      ['add call returns', (t) => t.addDone],
      ['notification heard (from add start)', (t) => t.heard],
      ['claim sent, after notification', (t) => t.claimStart - t.heard],
      ['claim round trip', (t) => t.claimDone - t.claimStart],
      ['handler starts, after claim', (t) => t.handler - t.claimDone],
      ['add start → handler start', (t) => t.handler],
    ]
    for (const [name, of] of steps) report(`  ${name}`, quantiles(traces.map(of)))
  } finally {
    await dropDatabase(DATABASE)
  }
}

async function floor(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  const listener = new pg.Client({ connectionString: url })
  await client.connect()
  await listener.connect()
  try {
    await client.query('CREATE TABLE t (id bigserial PRIMARY KEY, v int)')
    await listener.query('LISTEN trace')
    const rtt: number[] = []
    const insert: number[] = []
    const notify: number[] = []
    let heard: (() => void) | undefined
    listener.on('notification', () => heard?.())
    for (let i = 0; i < PICKUPS; i++) {
      await pause()
      rtt.push((await timed(() => client.query('SELECT 1'))).ms)
      insert.push((await timed(() => client.query('INSERT INTO t (v) VALUES ($1)', [i]))).ms)
      const got = new Promise<void>((resolve) => (heard = resolve))
      const start = performance.now()
      await client.query(`NOTIFY trace, '${i}'`)
      await got
      notify.push(performance.now() - start)
    }
    report('floor: SELECT 1 round trip', quantiles(rtt))
    report('floor: INSERT + commit (WAL flush)', quantiles(insert))
    report('floor: NOTIFY sent → heard by LISTEN', quantiles(notify))
  } finally {
    await client.end()
    await listener.end()
  }
}

async function tracePickups(url: string): Promise<Trace[]> {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const producer = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0, poolSize: 2 })
  const traces: Trace[] = []
  let current: Partial<Trace> & { start: number } = { start: 0 }
  const since = (): number => performance.now() - current.start
  const claim = PostgresWorker.prototype.requestAttempts
  PostgresWorker.prototype.requestAttempts = async function (this: PostgresWorker, request) {
    const started = since()
    const attempts = await claim.call(this, request)
    if (attempts.some((a) => a.workUnit.name.startsWith('pickup-'))) {
      current.claimStart = started
      current.claimDone = since()
    }
    return attempts
  }
  try {
    const spec = await (await producer.namespace('trace')).setWorkSpec({ name: 'noop' })
    let started: (() => void) | undefined
    const unsubscribe = coordinate.changes().subscribe((event) => {
      if (event.kind === 'work-units' && current.heard === undefined) current.heard = since()
    })
    const runtime = await runWorkers(coordinate, {
      namespace: 'trace',
      concurrency: 8,
      tasks: { noop: () => void started?.() },
    })
    for (let i = 0; i < PICKUPS; i++) {
      await pause()
      current = { start: performance.now() }
      const handler = new Promise<void>((resolve) => (started = resolve))
      await spec.addWorkUnit(`pickup-${i}`)
      current.addDone = since()
      await handler
      current.handler = since()
      traces.push(current as Trace)
    }
    unsubscribe()
    await runtime.stop()
    return traces
  } finally {
    PostgresWorker.prototype.requestAttempts = claim
    await coordinate.close()
    await producer.close()
  }
}

function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
}

// A milestone not seen (a claim that brought back only other units) is NaN: left out, not counted.
function quantiles(values: readonly number[]): string {
  return percentileText(values.filter((v) => Number.isFinite(v)), [0.5, 0.9, 0.99], 2)
}
