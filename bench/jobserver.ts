import { spawn } from 'node:child_process'
import { once } from 'node:events'
import pg from 'pg'
import { encodeRequest } from '../src/cborrpc/codec.js'
import { runDaemon } from '../src/cli/daemon.js'
import { startDaemonProcess } from './daemon-process.js'
import { type LoopResult, type LoopShape, daemonLoop, libraryLoop, loadUnits } from './jobserver-loops.js'
import { clientsGone, dropDatabase, freshDatabase, report, vacuum } from './support.js'

const DATABASE = 'coordinate_bench_jobserver'
// Each loop runs this long, or until its units run out, after a warm-up of WARM_SECONDS (a
// fresh daemon's first requests compile its code).
const SECONDS = Number(process.env.BENCH_JOBSERVER_SECONDS ?? 8)
const WARM_SECONDS = 2
// Optionally another build's dist/src/cli/coordinated.js, measured in the same run for a before/after.
const BEFORE = process.env.BENCH_JOBSERVER_BEFORE
const UNITS = Number(process.env.BENCH_JOBSERVER_UNITS ?? 40_000)
const IDLE_CONNECTIONS = 1_000
const IDLE_TARGET_MB = 100
// The daemon's namespace: the one coordinated serves.
const SERVED = ''

/** The loops measured: connections (library workers) and max_jobs. */
const SHAPES: readonly Omit<LoopShape, 'units' | 'seconds'>[] = [
  { workers: 8, maxJobs: 1 },
  { workers: 32, maxJobs: 1 },
  { workers: 8, maxJobs: 100 },
]

/**
 * Daemon vs library claim+finish rate: the daemon is a child process (coordinated itself), its
 * CBOR-RPC clients and the library loop run here. Each daemon loop gets a fresh daemon, so its
 * CPU and the database's commits (pg_stat_database, read once every backend has gone and
 * flushed its counters) are the loop's own. Then the daemon's memory per idle connection.
 */
export async function benchJobserver(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  const meter = new pg.Pool({ connectionString: url, max: 1 })
  try {
    console.log(`(each loop ${SECONDS} s after ${WARM_SECONDS} s of warm-up, or until ${UNITS} units run out; coordinated runs as a child process, its clients and the library loop here)`)
    for (const [i, base] of SHAPES.entries()) {
      const shape = { ...base, units: UNITS, seconds: SECONDS }
      await vacuum(url)
      await loadUnits(url, `library-${i}`, 'bench', UNITS)
      const library = await counted(meter, () => warmed((seconds) => libraryLoop(url, `library-${i}`, { ...shape, seconds })))
      const served = await daemonRun(url, meter, shape)
      const before = BEFORE === undefined ? undefined : await daemonRun(url, meter, shape, BEFORE)
      const what = `${shape.workers} CBOR-RPC clients, max_jobs ${shape.maxJobs}`
      report(`${what}: get_work+update_work_unit`, `${Math.round(served.rate)} units/s`, { to: 'the library loop', value: served.rate / library.rate })
      report(`  baseline: ${shape.workers} library workers requestAttempts(${shape.maxJobs})+finish()`, `${Math.round(library.rate)} units/s`)
      report('  daemon CPU per unit', cpuPerUnit(served))
      report('  commits per unit: daemon / library', `${served.commits.toFixed(2)} / ${library.commits.toFixed(2)}`)
      if (before) {
        report(`  the daemon of BENCH_JOBSERVER_BEFORE`, `${Math.round(before.rate)} units/s`, { to: 'the library loop', value: before.rate / library.rate })
        report('    its CPU per unit; commits per unit', `${cpuPerUnit(before)}; ${before.commits.toFixed(2)}`)
      }
    }
    // Last, with a daemon in this process, so that its memory can be read after a collection.
    const daemon = await runDaemon({ databaseUrl: url, port: 0, logLevel: 'silent' })
    try {
      await idleConnections(daemon.address.port)
    } finally {
      await daemon.stop()
    }
  } finally {
    await meter.end()
    await dropDatabase(DATABASE)
  }
}

/** One daemon loop on a fresh coordinated process (this build's, or `script`), with its CPU time. */
async function daemonRun(url: string, meter: pg.Pool, shape: LoopShape, script?: string): Promise<LoopResult & { commits: number; cpuMs: number | undefined }> {
  await vacuum(url)
  await loadUnits(url, SERVED, 'bench', shape.units)
  let cpuMs: number | undefined
  const result = await counted(meter, async () => {
    const daemon = await startDaemonProcess(url, { http: false, script })
    try {
      return await warmed(async (seconds) => {
        const before = daemon.cpuMs()
        const loop = await daemonLoop(daemon.rpcPort, { ...shape, seconds })
        const after = daemon.cpuMs()
        cpuMs = before === undefined || after === undefined ? undefined : after - before
        return loop
      })
    } finally {
      await daemon.stop()
    }
  })
  return { ...result, cpuMs }
}

function cpuPerUnit(run: LoopResult & { cpuMs: number | undefined }): string {
  return run.cpuMs === undefined ? 'n/a' : `${(run.cpuMs / run.done).toFixed(2)} ms`
}

/** A measured loop, and every unit finished while it ran, warm-up included. */
interface Warmed {
  measured: LoopResult
  total: number
}

/** Runs a loop for WARM_SECONDS, then the measured one for SECONDS (the last call's figures are the measurement). */
async function warmed(loop: (seconds: number) => Promise<LoopResult>): Promise<Warmed> {
  const warm = await loop(WARM_SECONDS)
  const measured = await loop(SECONDS)
  return { measured, total: warm.done + measured.done }
}

/**
 * Runs a loop and adds the database's commits per unit finished, warm-up included. A backend
 * reports its counters when it exits, so the reading waits until the loop's connections are
 * gone, which counts the whole run, not a window of it.
 */
async function counted(meter: pg.Pool, loop: () => Promise<Warmed>): Promise<LoopResult & { commits: number }> {
  await clientsGone(meter)
  const before = await commits(meter)
  const { measured, total } = await loop()
  await clientsGone(meter)
  const after = await commits(meter)
  if (measured.done < 100) throw new Error(`the loop finished only ${measured.done} units`)
  return { ...measured, commits: (after - before) / total }
}

async function commits(meter: pg.Pool): Promise<number> {
  const { rows } = await meter.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()')
  return Number(rows[0]?.n ?? NaN)
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
