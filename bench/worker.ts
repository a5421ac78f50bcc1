import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { openCoordinate } from '../src/postgres/open.js'
import { runWorkers } from '../src/worker/runtime.js'
import { dropDatabase, freshDatabase, report, vacuum } from './support.js'
import { PickupMeter, type RunResult, drainTimed } from './worker-measure.js'
import { graphileRun, pgBossWork } from './worker-peers.js'

const DATABASE = 'coordinate_bench_worker'
const UNITS = Number(process.env.BENCH_WORKER_UNITS ?? 50_000)
const CONCURRENCIES = (process.env.BENCH_WORKER_CONCURRENCY ?? '8,64').split(',').map(Number)
// A drain stops here even with units left; its rate is then over what was done.
const LIMIT_MS = 60_000
// pg-boss 10's work() polls at least every 0.5 s per loop, so a drain of 50k would take minutes.
const PG_BOSS_LIMIT_MS = 10_000
const PICKUPS = Number(process.env.BENCH_WORKER_PICKUPS ?? 200)
// pg-boss picks up by polling (0.5 s at the least), so it gets fewer samples.
const PG_BOSS_PICKUPS = 20
const ADD_CHUNK = 10_000
const MEMORY_UNITS = 200_000
// Our counterpart of graphile-worker's local queue of 500 in its batching preset.
const PREFETCH = Number(process.env.BENCH_WORKER_PREFETCH ?? 500)

/** What our runtime did in one drain, plus heap and RSS readings taken along the way. */
interface OurRun extends RunResult {
  heapMb: number[]
  /** RSS when the runtime started, its peak during the drain, and at the end (MB). */
  rssMb?: { start: number; peak: number; end: number }
}

// How often the memory run samples RSS.
const RSS_EVERY_MS = 250

/**
 * Our runtime draining `units` no-op units at `concurrency`; the clock stops when the last
 * result is written. With a meter, then times single units from addWorkUnit (by a second
 * Coordinate, as another process would) to the handler starting. With `heapEvery`, reads the
 * heap after a full GC every that many units.
 */
async function ourRun(url: string, units: number, concurrency: number, prefetch: number, meter?: PickupMeter, heapEvery?: number): Promise<OurRun> {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const producer = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0, poolSize: 2 })
  const namespace = `run-${units}-${concurrency}-${prefetch}`
  const heapMb: number[] = []
  const gc = heapEvery ? collector() : undefined
  try {
    const spec = await (await producer.namespace(namespace)).setWorkSpec({ name: 'noop' })
    for (let start = 0; start < units; start += ADD_CHUNK) {
      await spec.addWorkUnits(Array.from({ length: Math.min(ADD_CHUNK, units - start) }, (_, i) => ({ key: `u${String(start + i).padStart(9, '0')}`, data: { i: start + i } })))
    }
    await vacuum(url)
    let done = 0
    // The memory run must see every unit through, however long that takes.
    const drained = drainTimed(units, heapEvery ? undefined : LIMIT_MS, () => done)
    const runtime = await runWorkers(coordinate, {
      namespace,
      concurrency,
      prefetch,
      // Only the meter's own units time a pickup; units a cut drain left behind do not.
      tasks: { noop: (unit) => (unit.name.startsWith('pickup-') ? meter?.started() : undefined) },
      onEvent: (event) => {
        if (event.type !== 'completed') return
        if (++done === units) drained.finish(done)
        if (gc && heapEvery && done % heapEvery === 0) setImmediate(() => heapMb.push(gc()))
      },
    })
    const rss = heapEvery ? rssSampler() : undefined
    const result = await drained.result
    const rssMb = rss?.stop()
    if (meter) {
      // Idle the runtime first: a drain cut by the time limit leaves units behind.
      await spec.deleteWorkUnits({ statuses: ['available'] })
      await meter.measure(async (i) => void (await spec.addWorkUnit(`pickup-${i}`)))
    }
    await runtime.stop()
    return rssMb ? { ...result, heapMb, rssMb } : { ...result, heapMb }
  } finally {
    await coordinate.close()
    await producer.close()
  }
}

// Samples the process's RSS until stop(), which gives the first, highest and last reading (MB).
function rssSampler(): { stop: () => { start: number; peak: number; end: number } } {
  const read = (): number => process.memoryUsage().rss / 2 ** 20
  const start = read()
  let peak = start
  const timer = setInterval(() => (peak = Math.max(peak, read())), RSS_EVERY_MS)
  return {
    stop: () => {
      clearInterval(timer)
      const end = read()
      return { start, peak: Math.max(peak, end), end }
    },
  }
}

// A full collection, then the heap in use (MB). V8 lets a running process turn on its gc().
function collector(): () => number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  return () => {
    gc()
    return process.memoryUsage().heapUsed / 2 ** 20
  }
}

function rate(result: RunResult | undefined): string {
  if (!result) return 'not installed for this Node'
  return `${Math.round(result.rate)} units/s${result.cut ? ` (${result.done} done in the time limit)` : ''}`
}

// "  peer: X   1234 units/s   ours = 1.40× X", so the ratio cannot be read the wrong way round.
function peerLine(name: string, peer: RunResult | undefined, ours: RunResult): void {
  const versus = peer ? `  ours = ${(ours.rate / peer.rate).toFixed(2)}× ${name.split(' ')[0]}` : ''
  report(`  peer: ${name}`, `${rate(peer)}${versus}`)
}

/** Runtime throughput and idle pickup latency beside graphile-worker's run() and pg-boss's work(); memory over 200k units when asked. */
export async function benchWorker(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  try {
    const pickups = { ours: new PickupMeter(PICKUPS), graphile: new PickupMeter(PICKUPS), boss: new PickupMeter(PG_BOSS_PICKUPS) }
    for (const concurrency of CONCURRENCIES) {
      const first = concurrency === CONCURRENCIES[0]
      await vacuum(url)
      const ours = await ourRun(url, UNITS, concurrency, 0, first ? pickups.ours : undefined)
      await vacuum(url)
      const oursAhead = await ourRun(url, UNITS, concurrency, PREFETCH)
      await vacuum(url)
      const plain = await graphileRun(url, UNITS, concurrency, false, LIMIT_MS, first ? pickups.graphile : undefined)
      await vacuum(url)
      const batched = await graphileRun(url, UNITS, concurrency, true, LIMIT_MS)
      await vacuum(url)
      const boss = await pgBossWork(url, UNITS, concurrency, PG_BOSS_LIMIT_MS, first ? pickups.boss : undefined)
      report(`runWorkers, ${UNITS} no-op units, concurrency ${concurrency}`, rate(ours))
      peerLine('graphile-worker 0.17 run(), defaults', plain, ours)
      peerLine(`pg-boss 10 work() × ${concurrency}, batch 1, polling 0.5 s`, boss, ours)
      report(`runWorkers, same, prefetch ${PREFETCH}`, rate(oursAhead))
      peerLine('graphile-worker 0.17 run(), local queue 500, batching', batched, oursAhead)
    }
    const ourPickup = pickups.ours.summary()
    report(`idle pickup, add → handler start, concurrency ${CONCURRENCIES[0]}: ours`, ourPickup.text)
    for (const [name, meter] of [['graphile-worker run() (LISTEN/NOTIFY)', pickups.graphile], ['pg-boss work() (polls every 0.5 s)', pickups.boss]] as const) {
      const theirs = meter.summary()
      report(`  peer: ${name}`, `${theirs.text}  ours p50 = ${(ourPickup.p50 / theirs.p50).toFixed(2)}× ${name.split(' ')[0]}'s`)
    }
    if (process.env.BENCH_WORKER_200K === '1') {
      await vacuum(url)
      const big = await ourRun(url, MEMORY_UNITS, 64, PREFETCH, undefined, MEMORY_UNITS / 4)
      report(`runWorkers, ${MEMORY_UNITS} units, concurrency 64, prefetch ${PREFETCH}`, rate(big))
      report('  heap after GC at 25/50/75/100 % of the units', big.heapMb.map((mb) => `${mb.toFixed(1)} MB`).join(' / '))
      const rss = big.rssMb
      if (rss) report(`  RSS start / peak / end (sampled every ${RSS_EVERY_MS} ms)`, `${rss.start.toFixed(0)} / ${rss.peak.toFixed(0)} / ${rss.end.toFixed(0)} MB`)
    } else {
      report(`memory over ${MEMORY_UNITS} units`, 'skipped (BENCH_WORKER_200K=1 runs it)')
    }
  } finally {
    await dropDatabase(DATABASE)
  }
}
