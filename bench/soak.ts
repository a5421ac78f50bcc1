import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { type DataValue, Tuple } from '../src/coordinate/data.js'
import { openCoordinate } from '../src/postgres/open.js'
import { RpcClient, claimed, pairValue } from './rpc-client.js'
import { describeMachine, dropDatabase, freshDatabase, report, serverUrl } from './support.js'

// Soak: `npm run build && node dist/bench/soak.js`. The daemon runs as its own process
// (coordinated on PostgreSQL); this process is the 32 Python-like clients and the meter. Half way
// through, every backend of the daemon's database is terminated several times over a second (what
// a restart does to connections, without restarting the shared server). It reports the daemon's
// RSS each second, the rate before and after, and checks that no unit was lost or finished twice.

const DATABASE = 'coordinate_bench_soak'
const UNITS = Number(process.env.SOAK_UNITS ?? 200_000)
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 32)
const ADD_BATCH = 5_000
const FINISHED = 4
// Short enough that a claim whose answer the outage swallowed is handed out again soon.
const LEASE_SECONDS = 20
// Rates leave out the first seconds (JIT, caches), the seconds right after the outage, and the
// drain at the end when clients start finding nothing.
const WARMUP_S = 10
const SETTLE_S = 5
const TAIL_FRACTION = 0.02
const OUTAGE_ROUNDS = 5
const OUTAGE_EVERY_MS = 200

interface Ack {
  worker: number
  seq: number
}

async function main(): Promise<void> {
  await describeMachine()
  const url = await freshDatabase(DATABASE)
  const daemon = await startDaemon(url)
  try {
    await loadUnits(daemon.port)
    const result = await soak(daemon.port, daemon.child.pid!, url)
    await check(url, result.acks)
    summarise(result)
  } finally {
    daemon.child.kill('SIGTERM')
    await once(daemon.child, 'exit')
    await dropDatabase(DATABASE)
  }
}

/** The daemon's log lines about the database (lost, recovered, resync), kept for the report. */
const databaseLog: string[] = []

async function startDaemon(url: string): Promise<{ child: ChildProcess; port: number }> {
  const cli = fileURLToPath(new URL('../src/cli/coordinated.js', import.meta.url))
  const child = spawn(process.execPath, [cli, '--database-url', url, '--listen', '127.0.0.1:0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let port: number | undefined
  const listening = new Promise<number>((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (/database connection|change feed/.test(line)) databaseLog.push(line)
        const address = /"address":"[^"]*:(\d+)"/.exec(line)
        if (address && port === undefined) resolve((port = Number(address[1])))
      }
    })
    child.once('exit', (code) => reject(new Error(`coordinated exited (${String(code)}) before listening`)))
  })
  return { child, port: await listening }
}

async function loadUnits(port: number): Promise<void> {
  const setup = await RpcClient.connect(port)
  pairValue(await setup.call('set_work_spec', [{ name: 'soak', min_gb: 1 }]), 'set_work_spec')
  for (let start = 0; start < UNITS; start += ADD_BATCH) {
    const items = Array.from({ length: Math.min(ADD_BATCH, UNITS - start) }, (_, i) => Tuple.of(Buffer.from(unitKey(start + i)), { i: start + i }))
    pairValue(await setup.call('add_work_units', ['soak', items]), 'add_work_units')
  }
  await setup.close()
}

function unitKey(i: number): string {
  return `u${String(i).padStart(9, '0')}`
}

interface SoakResult {
  acks: Map<string, Ack[]>
  perSecond: number[]
  rssMb: number[]
  outageAt: number
  errors: Map<string, number>
  seconds: number
}

async function soak(port: number, daemonPid: number, url: string): Promise<SoakResult> {
  const acks = new Map<string, Ack[]>()
  const errors = new Map<string, number>()
  const perSecond: number[] = []
  const rssMb: number[] = []
  let finished = 0
  let lastSecond = 0
  let stop = false
  let outageAt = -1
  const started = performance.now()
  const meter = setInterval(() => {
    perSecond.push(finished - lastSecond)
    lastSecond = finished
    rssMb.push(rss(daemonPid))
  }, 1000)
  const countError = (error: unknown): void => {
    const text = error instanceof Error ? error.message.replace(/\(.*\)/, '(…)') : String(error)
    errors.set(text, (errors.get(text) ?? 0) + 1)
  }
  const client = async (w: number): Promise<void> => {
    const rpc = await RpcClient.connect(port)
    let seq = 0
    while (!stop) {
      let units: Tuple[]
      try {
        units = claimed(pairValue(await rpc.call('get_work', [`w${w}`, { available_gb: 1, lease_time: LEASE_SECONDS }]), 'get_work'))
      } catch (error) {
        countError(error)
        continue
      }
      if (units.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        continue
      }
      const [spec, key] = units[0]!.items as [DataValue, Uint8Array]
      const mine = ++seq
      for (;;) {
        try {
          const [ok] = (await rpc.call('update_work_unit', [spec, key, { status: FINISHED, data: { w, seq: mine }, worker_id: `w${w}` }])) as [boolean]
          if (ok) {
            const name = Buffer.from(key).toString()
            acks.set(name, [...(acks.get(name) ?? []), { worker: w, seq: mine }])
            finished++
          }
          break
        } catch (error) {
          countError(error)
        }
      }
    }
    await rpc.close()
  }
  const clients = Array.from({ length: CLIENTS }, (_, w) => client(w))
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    while (finished < UNITS / 2) await new Promise((resolve) => setTimeout(resolve, 100))
    outageAt = perSecond.length
    for (let round = 0; round < OUTAGE_ROUNDS; round++) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [DATABASE])
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_EVERY_MS))
    }
    const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
    try {
      const spec = await (await coordinate.namespace('')).workSpec('soak')
      while ((await spec.countWorkUnitStatus()).finished !== UNITS) await new Promise((resolve) => setTimeout(resolve, 500))
    } finally {
      await coordinate.close()
    }
  } finally {
    stop = true
    await Promise.all(clients)
    clearInterval(meter)
    await admin.end()
  }
  return { acks, perSecond, rssMb, outageAt, errors, seconds: (performance.now() - started) / 1000 }
}

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** No unit finished twice (one acknowledged finish per unit), none lost, and each acknowledged finish stored. */
async function check(url: string, acks: Map<string, Ack[]>): Promise<void> {
  const twice = [...acks.entries()].filter(([, list]) => list.length > 1)
  if (twice.length > 0) throw new Error(`${twice.length} units acknowledged finished more than once, e.g. ${twice[0]![0]}`)
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  try {
    const spec = await (await coordinate.namespace('')).workSpec('soak')
    let wrong = 0
    for (let start = 0; start < UNITS; start += 1000) {
      const keys = Array.from({ length: Math.min(1000, UNITS - start) }, (_, i) => unitKey(start + i))
      for (const snapshot of await spec.workUnitSnapshots(keys)) {
        const ack = acks.get(Buffer.from(snapshot.key).toString())?.[0]
        const data = snapshot.attemptData ?? snapshot.unitData
        if (snapshot.state !== 'finished') wrong++
        else if (ack !== undefined && (data.w !== ack.worker || data.seq !== ack.seq)) wrong++
      }
    }
    if (wrong > 0) throw new Error(`${wrong} units not finished, or not holding their acknowledged finish`)
  } finally {
    await coordinate.close()
  }
}

function summarise(result: SoakResult): void {
  const { perSecond, rssMb, outageAt } = result
  const tailFrom = secondReaching(perSecond, UNITS * (1 - TAIL_FRACTION))
  const before = mean(perSecond.slice(WARMUP_S, outageAt))
  const after = mean(perSecond.slice(outageAt + SETTLE_S, tailFrom))
  const warm = rssMb[WARMUP_S] ?? rssMb.at(-1) ?? 0
  const highest = Math.max(...rssMb.slice(WARMUP_S))
  console.log(`\n# soak: ${UNITS} units, ${CLIENTS} CBOR-RPC clients get_work + update_work_unit, backends terminated at ${outageAt} s`)
  report('total', `${result.seconds.toFixed(0)} s, ${UNITS} units finished, each acknowledged at most once, every acknowledged finish stored`)
  report(`rate before the outage (s ${WARMUP_S}–${outageAt})`, `${before.toFixed(0)} units/s`)
  report(`rate after (s ${outageAt + SETTLE_S}–${tailFrom})`, `${after.toFixed(0)} units/s`, { to: 'the rate before', value: after / before })
  report(`daemon RSS after warm-up (s ${WARMUP_S})`, `${warm.toFixed(0)} MB`)
  report('daemon RSS highest after warm-up', `${highest.toFixed(0)} MB`, { to: 'RSS after warm-up', value: highest / warm })
  report('daemon RSS at the end', `${(rssMb.at(-1) ?? 0).toFixed(0)} MB`)
  for (const [message, count] of result.errors) report(`  error answers: ${message}`, String(count))
  console.log(`\nthe daemon's log about the database:\n${databaseLog.map(summariseLogLine).join('\n')}`)
  console.log(`\nper second (units finished / daemon RSS MB):\n${perSecond.map((n, s) => `${s}:${n}/${rssMb[s]!.toFixed(0)}`).join(' ')}`)
}

function summariseLogLine(line: string): string {
  const entry = JSON.parse(line) as { level: number; msg: string; source?: string; outageMs?: number }
  return `  ${entry.level >= 40 ? 'warn' : 'info'} ${entry.msg}${entry.source ? ` (${entry.source})` : ''}${entry.outageMs !== undefined ? ` after ${entry.outageMs} ms` : ''}`
}

function secondReaching(perSecond: number[], total: number): number {
  let sum = 0
  for (let s = 0; s < perSecond.length; s++) if ((sum += perSecond[s]!) >= total) return s
  return perSecond.length
}

function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length
}

await main()
