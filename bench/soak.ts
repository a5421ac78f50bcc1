import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DataValue, Tuple } from '../src/coordinate/data.js'
import { openCoordinate } from '../src/postgres/open.js'
import { PrivateCluster } from './private-cluster.js'
import { RpcClient, claimed, pairValue } from './rpc-client.js'
import { type DaemonSample, SoakDaemon } from './soak-daemon.js'
import { describeMachine, report, unitKey } from './support.js'
import { FINISHED } from '../src/jobserver/status-codes.js'

// Soak: `npm run build && node dist/bench/soak.js`. It starts a throwaway PostgreSQL cluster of
// its own (initdb in a temporary directory, a free port; the machine's shared server is never
// touched), coordinated on it as its own process, and 32 Python-like CBOR-RPC clients in this
// process. Half way through it restarts the cluster with `pg_ctl restart -m fast`. It reports
// the daemon's RSS each second, its heap and the cache's size every few seconds, the rate before
// and after the restart, and checks that no unit was lost or finished twice.
//
// SOAK_UNITS, SOAK_CLIENTS: the size (default 200,000 units, 32 clients).
// SOAK_CACHE_UNITS: the daemon's --cache-units (default 20,000, a tenth of the units; the daemon's
// own default is 100,000). The cache's memory grows until it holds that many units, by design, so
// the RSS after warm-up is taken once it is full, and a tenth lets most of the run come after.
// SOAK_HEAP_SNAPSHOTS=1: the daemon writes heap snapshots after warm-up, at the restart and at the
// end, into a temporary directory the report names (open them in Chrome DevTools, Memory tab).
// SOAK_NODE_ARGS: extra node flags for the daemon (e.g. `--trace-gc`); SOAK_RAW_LOG: a file that
// gets the daemon's stdout lines that are not JSON log lines (such as --trace-gc's), timestamped.

const DATABASE = 'coordinate_soak'
const UNITS = Number(process.env.SOAK_UNITS ?? 200_000)
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 32)
const HEAP_SNAPSHOTS = process.env.SOAK_HEAP_SNAPSHOTS === '1'
const CACHE_UNITS = Number(process.env.SOAK_CACHE_UNITS ?? 20_000)
const ADD_BATCH = 5_000
// Short enough that a claim whose answer the restart swallowed is handed out again soon.
const LEASE_SECONDS = 20
// Rates leave out the first seconds (JIT, caches), the seconds right after the restart, and the
// drain at the end when clients start finding nothing.
const WARMUP_S = 10
const SETTLE_S = 5
const ADJACENT_S = 150
const TAIL_FRACTION = 0.02
// The daemon's /metrics is read this often (each read may count the units in the database).
const SAMPLE_EVERY_S = 5
// The issue's target: the daemon's RSS stays within 20 % of its level after warm-up.
const RSS_TOLERANCE = 0.2
// The heap left after a full collection shows as the lowest heap used over a window this long.
const HEAP_WINDOW_S = 60

interface Ack {
  worker: number
  seq: number
}

async function main(): Promise<void> {
  await describeMachine()
  const cluster = await PrivateCluster.start()
  let daemon: SoakDaemon | undefined
  // Interrupted (Ctrl-C, a timeout): still stop the daemon and remove the private cluster.
  const interrupted = (signal: NodeJS.Signals): void => {
    void Promise.allSettled([daemon?.stop(), cluster.stop()]).then(() => process.kill(process.pid, signal))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    console.log(`private cluster: PostgreSQL ${await cluster.version()} on port ${cluster.port}`)
    const url = await cluster.createDatabase(DATABASE)
    const heapSnapshotDir = HEAP_SNAPSHOTS ? mkdtempSync(join(tmpdir(), 'coordinate-soak-heap-')) : undefined
    daemon = await SoakDaemon.start(url, { args: ['--cache-units', String(CACHE_UNITS)], ...(heapSnapshotDir ? { heapSnapshotDir } : {}) })
    await loadUnits(daemon.port)
    const result = await soak(daemon, cluster, url)
    await check(url, result.acks)
    summarise(result, daemon)
    if (heapSnapshotDir) console.log(`\nheap snapshots in ${heapSnapshotDir}`)
  } finally {
    await daemon?.stop()
    await cluster.stop()
  }
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

interface SoakResult {
  acks: Map<string, Ack[]>
  perSecond: number[]
  rssMb: number[]
  /** The daemon's /metrics every SAMPLE_EVERY_S seconds, with the second it was read at. */
  samples: (DaemonSample & { second: number })[]
  restartAt: number
  restartMs: number
  /** From the server accepting connections again to the next acknowledged finish. */
  servingAgainMs: number
  errors: Map<string, number>
  seconds: number
}

async function soak(daemon: SoakDaemon, cluster: PrivateCluster, url: string): Promise<SoakResult> {
  const acks = new Map<string, Ack[]>()
  const errors = new Map<string, number>()
  const perSecond: number[] = []
  const rssMb: number[] = []
  const samples: SoakResult['samples'] = []
  let finished = 0
  let lastSecond = 0
  let lastAckAt = 0
  let stop = false
  let restartAt = -1
  const started = performance.now()
  const meter = setInterval(() => {
    perSecond.push(finished - lastSecond)
    lastSecond = finished
    rssMb.push(daemon.rssMb())
    const second = perSecond.length
    if (second % SAMPLE_EVERY_S === 0) {
      daemon.sample().then(
        (sample) => samples.push({ ...sample, second }),
        (error: unknown) => void countError(new Error(`/metrics: ${String(error)}`)),
      )
    }
    if (HEAP_SNAPSHOTS && second === WARMUP_S) daemon.heapSnapshot()
  }, 1000)
  const countError = (error: unknown): Promise<void> => {
    const text = error instanceof Error ? error.message.replace(/\(.*\)/, '(…)') : String(error)
    errors.set(text, (errors.get(text) ?? 0) + 1)
    // An error answer comes at once; without a turn of the event loop a client whose connection
    // is gone would retry in microtasks forever, and nothing else (the meter, a signal) would run.
    return new Promise((resolve) => setImmediate(resolve))
  }
  const client = async (w: number): Promise<void> => {
    const rpc = await RpcClient.connect(daemon.port)
    let seq = 0
    while (!stop) {
      let units: Tuple[]
      try {
        units = claimed(pairValue(await rpc.call('get_work', [`w${w}`, { available_gb: 1, lease_time: LEASE_SECONDS }]), 'get_work'))
      } catch (error) {
        await countError(error)
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
            lastAckAt = performance.now()
          }
          break
        } catch (error) {
          await countError(error)
        }
      }
    }
    await rpc.close()
  }
  const clients = Array.from({ length: CLIENTS }, (_, w) => client(w))
  let restartMs = Number.NaN
  let servingAgainMs = Number.NaN
  try {
    while (finished < UNITS / 2) await new Promise((resolve) => setTimeout(resolve, 100))
    restartAt = perSecond.length
    if (HEAP_SNAPSHOTS) daemon.heapSnapshot()
    restartMs = await cluster.restart()
    const up = performance.now()
    while (lastAckAt < up) await new Promise((resolve) => setTimeout(resolve, 5))
    servingAgainMs = lastAckAt - up
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
  }
  samples.push({ ...(await daemon.sample()), second: perSecond.length })
  if (HEAP_SNAPSHOTS) daemon.heapSnapshot()
  return { acks, perSecond, rssMb, samples, restartAt, restartMs, servingAgainMs, errors, seconds: (performance.now() - started) / 1000 }
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

function summarise(result: SoakResult, daemon: SoakDaemon): void {
  const { perSecond, rssMb, restartAt, samples } = result
  const tailFrom = secondReaching(perSecond, UNITS * (1 - TAIL_FRACTION))
  const before = mean(perSecond.slice(WARMUP_S, restartAt))
  const after = mean(perSecond.slice(restartAt + SETTLE_S, tailFrom))
  // Warm-up ends after WARMUP_S and once the cache holds its limit (or every unit, if fewer).
  const cacheFull = Math.min(CACHE_UNITS, UNITS)
  const fullAt = samples.find((s) => s.cachedUnits >= cacheFull)?.second ?? rssMb.length - 1
  const warmAt = Math.min(Math.max(WARMUP_S, fullAt), rssMb.length - 1)
  console.log(`\n# soak: ${UNITS} units, ${CLIENTS} CBOR-RPC clients get_work + update_work_unit, pg_ctl restart -m fast at ${restartAt} s`)
  report('total', `${result.seconds.toFixed(0)} s, ${UNITS} units finished, each acknowledged at most once, every acknowledged finish stored`)
  report('restart (pg_ctl restart -m fast -w)', `${result.restartMs.toFixed(0)} ms`)
  report('first acknowledged finish after the server is back', `${result.servingAgainMs.toFixed(0)} ms`)
  report(`rate before the restart (s ${WARMUP_S}–${restartAt})`, `${before.toFixed(0)} units/s`)
  report(`rate after (s ${restartAt + SETTLE_S}–${tailFrom})`, `${after.toFixed(0)} units/s`, { to: 'the rate before', value: after / before })
  // The host's load drifts over a long run: also compare equal windows right around the restart.
  const span = Math.min(ADJACENT_S, restartAt - WARMUP_S, tailFrom - restartAt - SETTLE_S)
  const nearBefore = mean(perSecond.slice(restartAt - span, restartAt))
  const nearAfter = mean(perSecond.slice(restartAt + SETTLE_S, restartAt + SETTLE_S + span))
  report(`rate in the ${span} s before / after the restart`, `${nearBefore.toFixed(0)} / ${nearAfter.toFixed(0)} units/s`, { to: 'the rate before', value: nearAfter / nearBefore })
  report('daemon cache limit (--cache-units)', `${CACHE_UNITS}, full at s ${fullAt}`)
  reportMemory(rssMb, samples, warmAt, restartAt)
  for (const [message, count] of result.errors) report(`  error answers: ${message}`, String(count))
  console.log(`\nthe daemon's log about the database:\n${daemon.databaseLog.map(summariseLogLine).join('\n')}`)
  console.log('\nthe daemon every few seconds (s: RSS / heap used / heap total / external MB, units cached):')
  console.log(samples.map((s) => `${s.second}: ${[s.rssMb, s.heapUsedMb, s.heapTotalMb, s.externalMb].map((n) => n.toFixed(0)).join(' / ')}, ${s.cachedUnits}`).join('\n'))
  console.log(`\nper second (units finished / daemon RSS MB):\n${perSecond.map((n, s) => `${s}:${n}/${rssMb[s]!.toFixed(0)}`).join(' ')}`)
}

/**
 * The RSS target: every second after warm-up within RSS_TOLERANCE of the RSS at warm-up. Also the
 * split of the daemon's memory at warm-up and at the highest sample, and the heap left after
 * collections (the lowest heap used in each window) before and after the restart: if that does
 * not grow, the daemon kept nothing, and any RSS growth is the heap's free space.
 */
function reportMemory(rssMb: number[], samples: SoakResult['samples'], warmAt: number, restartAt: number): void {
  const warm = rssMb[warmAt] ?? Number.NaN
  const after = rssMb.slice(warmAt)
  const highest = Math.max(...after)
  const highestAt = warmAt + after.indexOf(highest)
  const over = after.filter((mb) => mb > warm * (1 + RSS_TOLERANCE)).length
  report(`daemon RSS after warm-up, cache full (s ${warmAt})`, `${warm.toFixed(0)} MB`)
  report(`daemon RSS highest after warm-up (s ${highestAt})`, `${highest.toFixed(0)} MB`, { to: 'RSS after warm-up', value: highest / warm })
  report('daemon RSS lowest after warm-up / at the end', `${Math.min(...after).toFixed(0)} / ${(rssMb.at(-1) ?? 0).toFixed(0)} MB`)
  const nearest = (second: number): (DaemonSample & { second: number }) | undefined =>
    samples.reduce<(DaemonSample & { second: number }) | undefined>((best, s) => (best === undefined || Math.abs(s.second - second) < Math.abs(best.second - second) ? s : best), undefined)
  for (const [label, second] of [['at warm-up', warmAt], ['near the highest RSS', highestAt]] as const) {
    const s = nearest(second)
    if (s === undefined) continue
    const other = s.rssMb - s.heapTotalMb - s.externalMb
    report(`  daemon memory ${label} (s ${s.second})`, `RSS ${s.rssMb.toFixed(0)} = heap ${s.heapTotalMb.toFixed(0)} (used ${s.heapUsedMb.toFixed(0)}) + external ${s.externalMb.toFixed(0)} + other ${other.toFixed(0)} MB`)
  }
  const lows = (from: number, to: number): string => {
    const windows: number[] = []
    for (let start = from; start < to; start += HEAP_WINDOW_S) {
      const used = samples.filter((s) => s.second >= start && s.second < Math.min(start + HEAP_WINDOW_S, to)).map((s) => s.heapUsedMb)
      if (used.length > 0) windows.push(Math.min(...used))
    }
    return windows.map((mb) => mb.toFixed(0)).join(', ')
  }
  report(`daemon heap used, lowest in each ${HEAP_WINDOW_S} s, before / after the restart`, `${lows(warmAt, restartAt)} / ${lows(restartAt, rssMb.length + 1)} MB`)
  const target = `RSS at most ${(1 + RSS_TOLERANCE).toFixed(2)}× its level after warm-up (${warm.toFixed(0)} MB) in every second after it`
  console.log(over === 0
    ? `verdict: MET: ${target}; highest ${highest.toFixed(0)} MB = ${(highest / warm).toFixed(2)}× at s ${highestAt}`
    : `verdict: NOT MET: ${target}; ${over} of ${after.length} s above ${(warm * (1 + RSS_TOLERANCE)).toFixed(0)} MB, highest ${highest.toFixed(0)} MB = ${(highest / warm).toFixed(2)}× at s ${highestAt}`)
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
