import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { type Socket, connect } from 'node:net'
import { decodeResponse, encodeRequest } from '../src/cborrpc/codec.js'
import { Framer } from '../src/cborrpc/framer.js'
import { runDaemon } from '../src/cli/daemon.js'
import { type DataValue, Tuple, describe } from '../src/coordinate/data.js'
import { openCoordinate } from '../src/postgres/open.js'
import { dropDatabase, freshDatabase, report, timed, vacuum } from './support.js'

const DATABASE = 'coordinate_bench_jobserver'
const WORKERS = 8
const UNITS = Number(process.env.BENCH_JOBSERVER_UNITS ?? 20_000)
// add_work_units calls carry this many keys, as a loader script would batch them.
const ADD_BATCH = 5_000
// Each claim+finish measurement stops here even if units are left; the rate is then over what was done.
const LOOP_LIMIT_MS = 120_000
const IDLE_CONNECTIONS = 1_000
const IDLE_TARGET_MB = 100
// update_work_unit's status for a finished unit (python-wire.md, "Status ints").
const FINISHED = 4
// get_work's options, the same in both loops: the spec asks for 1 GB, the lease is 5 minutes.
const LEASE_SECONDS = 300
const AVAILABLE_GB = 1

/** Daemon vs library claim+finish rate for batches of 1 and 100, and the daemon's memory per idle connection. */
export async function benchJobserver(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  try {
    const daemon = await runDaemon({ databaseUrl: url, port: 0, logLevel: 'silent' })
    try {
      // Idle connections first, while the process holds little garbage from the loops that could
      // be collected during the measurement and hide the growth.
      await idleConnections(daemon.address.port)
      for (const maxJobs of [1, 100]) {
        await vacuum(url)
        const library = await libraryLoop(url, maxJobs)
        await vacuum(url)
        const served = await daemonLoop(daemon.address.port, maxJobs)
        report(`${WORKERS} CBOR-RPC clients get_work+update_work_unit, max_jobs ${maxJobs}`, `${Math.round(served.rate)} cycles/s${partial(served)}`, {
          to: 'the library loop',
          value: served.rate / library.rate,
        })
        report(`  baseline: library requestAttempts(${maxJobs})+finish()`, `${Math.round(library.rate)} cycles/s${partial(library)}`)
      }
    } finally {
      await daemon.stop()
    }
  } finally {
    await dropDatabase(DATABASE)
  }
}

/** How many units a loop finished and how fast. */
interface LoopResult {
  done: number
  rate: number
}

function partial(result: LoopResult): string {
  return result.done < UNITS ? ` (stopped at ${LOOP_LIMIT_MS / 1000} s after ${result.done} of ${UNITS})` : ''
}

function unitKey(i: number): string {
  return `u${String(i).padStart(9, '0')}`
}

/** The Python worker's shape: get_work, then one update_work_unit per unit it got, over 8 connections. */
async function daemonLoop(port: number, maxJobs: number): Promise<LoopResult> {
  const setup = await RpcClient.connect(port)
  // A fresh spec each time so that both batch sizes start from the same state; the first
  // del_work_spec finds nothing, which it answers in-band.
  await setup.call('del_work_spec', ['bench'])
  pairValue(await setup.call('set_work_spec', [{ name: 'bench', min_gb: 1 }]), 'set_work_spec')
  for (let start = 0; start < UNITS; start += ADD_BATCH) {
    // (key, data) tuples with byte-string keys, as the Python client sends dict items.
    const items = Array.from({ length: Math.min(ADD_BATCH, UNITS - start) }, (_, i) => Tuple.of(Buffer.from(unitKey(start + i)), { i: start + i }))
    pairValue(await setup.call('add_work_units', ['bench', items]), 'add_work_units')
  }
  await setup.close()

  const clients = await Promise.all(Array.from({ length: WORKERS }, () => RpcClient.connect(port)))
  const deadline = performance.now() + LOOP_LIMIT_MS
  let done = 0
  try {
    const { ms } = await timed(() =>
      Promise.all(
        clients.map(async (client, w) => {
          const workerId = `w${w}`
          while (done < UNITS && performance.now() < deadline) {
            const got = pairValue(
              await client.call('get_work', [workerId, { available_gb: AVAILABLE_GB, max_jobs: maxJobs, lease_time: LEASE_SECONDS }]),
              'get_work',
            )
            const units = claimed(got)
            if (units.length === 0) return
            for (const unit of units) {
              const [spec, key] = unit.items
              const updated = pairValue(await client.call('update_work_unit', [spec ?? null, key ?? null, { status: FINISHED, worker_id: workerId }]), 'update_work_unit')
              if (updated !== true) throw new Error(`update_work_unit did not finish ${describe(key ?? null)}`)
              done++
            }
          }
        }),
      ),
    )
    return { done, rate: done / (ms / 1000) }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}

/** The same per-unit round trips without the daemon: requestAttempts, then finish() on each attempt. */
async function libraryLoop(url: string, maxJobs: number): Promise<LoopResult> {
  // Default options, as runDaemon opens its own: the same pool size, lease sweep and notifications.
  const coordinate = await openCoordinate({ databaseUrl: url })
  try {
    // A namespace of its own: the daemon serves "" through a cache, which this must not disturb.
    const ns = await coordinate.namespace(`library-m${maxJobs}`)
    const spec = await ns.setWorkSpec({ name: 'bench', min_gb: 1 })
    for (let start = 0; start < UNITS; start += ADD_BATCH) {
      await spec.addWorkUnits(Array.from({ length: Math.min(ADD_BATCH, UNITS - start) }, (_, i) => ({ key: unitKey(start + i), data: { i: start + i } })))
    }
    const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => ns.worker(`w${i}`)))
    const deadline = performance.now() + LOOP_LIMIT_MS
    let done = 0
    const { ms } = await timed(() =>
      Promise.all(
        workers.map(async (worker) => {
          while (done < UNITS && performance.now() < deadline) {
            // What get_work asks for (src/jobserver/work.ts), so both loops claim alike.
            const attempts = await worker.requestAttempts({
              numberOfWorkUnits: maxJobs,
              availableGb: AVAILABLE_GB,
              lifetimeMs: LEASE_SECONDS * 1000,
              runtimes: [''],
            })
            if (attempts.length === 0) return
            for (const attempt of attempts) {
              await attempt.finish()
              done++
            }
          }
        }),
      ),
    )
    return { done, rate: done / (ms / 1000) }
  } finally {
    await coordinate.close()
  }
}

/**
 * Opens idle connections from a child process, so that the growth measured here is the daemon's
 * side alone (its sockets, RpcConnections, framers), not the clients' sockets too.
 */
async function idleConnections(port: number): Promise<void> {
  const gc = globalThis.gc
  gc?.()
  const before = process.memoryUsage()
  const child = spawn(process.execPath, ['-e', IDLE_CLIENT_SCRIPT], {
    env: { ...process.env, PORT: String(port), COUNT: String(IDLE_CONNECTIONS), REQUEST: Buffer.from(encodeRequest({ id: 1, method: 'now', params: [] })).toString('hex') },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let text = ''
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        if (text.includes('\n')) resolve(text)
      })
      child.once('exit', (code) => reject(new Error(`the idle-connection client exited early (code ${String(code)})`)))
    })
    const [answered = 0, failed = 0] = line.trim().split(' ').slice(1).map(Number)
    if (answered !== IDLE_CONNECTIONS) throw new Error(`only ${answered} of ${IDLE_CONNECTIONS} idle connections were answered (${failed} failed)`)
    gc?.()
    const after = process.memoryUsage()
    const rssMb = (after.rss - before.rss) / 2 ** 20
    const heapMb = (after.heapUsed + after.external - before.heapUsed - before.external) / 2 ** 20
    const gcNote = gc ? 'after gc' : 'no --expose-gc, so garbage is included'
    report(`${IDLE_CONNECTIONS} idle connections (each answered one now): daemon RSS`, `+${rssMb.toFixed(1)} MB, ${((rssMb * 1024) / IDLE_CONNECTIONS).toFixed(1)} KB/connection`, {
      to: `the ${IDLE_TARGET_MB} MB target`,
      value: rssMb / IDLE_TARGET_MB,
    })
    report(`  JS heap + external, ${gcNote}`, `+${heapMb.toFixed(1)} MB, ${((heapMb * 1024) / IDLE_CONNECTIONS).toFixed(1)} KB/connection`)
    report(`  target`, `< ${IDLE_TARGET_MB} MB for ${IDLE_CONNECTIONS} connections`)
  } finally {
    // Ending stdin tells the child to close its connections and exit; its own timer bounds the wait.
    child.stdin.end()
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit')
  }
}

// CommonJS for `node -e`. Connects in batches (the listen backlog is finite), sends one request on
// each connection, and prints "ready <answered> <failed>" once every connection has an answer or an
// error; then holds them until stdin ends, or for at most two minutes.
const IDLE_CLIENT_SCRIPT = `
const net = require('node:net')
const port = Number(process.env.PORT), count = Number(process.env.COUNT), request = Buffer.from(process.env.REQUEST, 'hex')
const sockets = []
let answered = 0, failed = 0
const open = () => new Promise((resolve) => {
  const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(request))
  sockets.push(socket)
  let settled = false
  const settle = (ok) => { if (settled) return; settled = true; if (ok) answered++; else failed++; resolve() }
  socket.once('data', () => settle(true))
  socket.on('error', () => settle(false))
  socket.once('close', () => settle(false))
})
const closeAll = () => { for (const socket of sockets) socket.end() }
setTimeout(() => { closeAll(); setTimeout(() => process.exit(1), 5000).unref() }, 120000).unref()
process.stdin.on('data', () => undefined)
process.stdin.on('end', closeAll)
;(async () => {
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, open))
  process.stdout.write('ready ' + answered + ' ' + failed + '\\n')
})()
`

/** The units in a get_work answer: one (spec, key, data) tuple for max_jobs 1, a list otherwise. */
export function claimed(value: DataValue): Tuple[] {
  if (value instanceof Tuple) return value.items[0] === null ? [] : [value]
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (!(item instanceof Tuple)) throw new Error(`get_work returned ${describe(item)} in its list`)
      return item
    })
  }
  throw new Error(`get_work returned ${describe(value)}`)
}

/** The value of a successful `(value, None)` pair; throws on an in-band failure. */
export function pairValue(result: DataValue, method: string): DataValue {
  if (!Array.isArray(result) || result.length !== 2 || result[1] !== null) throw new Error(`${method} failed: ${describe(result)}`)
  return result[0] ?? null
}

/** A minimal CBOR-RPC client on one TCP connection; the server answers in order, so no id matching beyond a check. */
export class RpcClient {
  readonly #socket: Socket
  readonly #framer = new Framer()
  readonly #waiting: { resolve: (frame: Uint8Array) => void; reject: (error: Error) => void }[] = []
  #nextId = 1
  #failure: Error | undefined

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = this.#framer.push(chunk)
      for (const frame of frames) this.#waiting.shift()?.resolve(frame)
      if (error) this.#fail(error)
    })
    socket.on('error', (error) => this.#fail(error))
    socket.on('close', () => this.#fail(new Error('the daemon closed the connection')))
  }

  static async connect(port: number): Promise<RpcClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await once(socket, 'connect')
    return new RpcClient(socket)
  }

  async call(method: string, params: DataValue[]): Promise<DataValue> {
    if (this.#failure) throw this.#failure
    const id = this.#nextId++
    const frame = await new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.push({ resolve, reject })
      this.#socket.write(encodeRequest({ id, method, params }))
    })
    const response = decodeResponse(frame)
    if (response.id !== id) throw new Error(`${method}: answer for id ${describe(response.id)}, expected ${id}`)
    if ('error' in response) throw new Error(`${method}: ${response.error.message}`)
    return response.result as DataValue
  }

  async close(): Promise<void> {
    const closed = once(this.#socket, 'close')
    this.#socket.end()
    await closed
  }

  #fail(error: Error): void {
    this.#failure ??= error
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error)
  }
}

