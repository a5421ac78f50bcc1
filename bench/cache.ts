import pg from 'pg'
import { cacheCoordinate } from '../src/cache/index.js'
import type { ChangeEvent } from '../src/coordinate/change-feed.js'
import { openCoordinate } from '../src/postgres/open.js'
import { dropDatabase, freshDatabase, percentile, report, timed } from './support.js'

const DATABASE = 'coordinate_bench_cache'
const TRACKED = 10_000
const BATCH = 100

// Round trips are counted where they happen: every query any pg client of this process sends.
let queries = 0
const clientPrototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
const sendQuery = clientPrototype.query
clientPrototype.query = function countedQuery(this: unknown, ...args: unknown[]): unknown {
  queries++
  return sendQuery.apply(this, args)
}

async function countQueries(fn: () => Promise<unknown>): Promise<number> {
  const before = queries
  await fn()
  return queries - before
}

async function readsPerSecond(seconds: number, read: () => Promise<unknown>): Promise<number> {
  // Warm up, then count whole batches of reads until the time is up.
  for (let i = 0; i < 1000; i++) await read()
  let reads = 0
  const start = process.hrtime.bigint()
  const limit = BigInt(Math.round(seconds * 1e9))
  while (process.hrtime.bigint() - start < limit) {
    for (let i = 0; i < 1000; i++) await read()
    reads += 1000
  }
  return reads / (Number(process.hrtime.bigint() - start) / 1e9)
}

/**
 * The name-identity cache against the uncached backend, in one run: hot cached status() reads,
 * the round trips of a cold lookup, the queries of one refresh cycle over 10k tracked units,
 * and the latency of a write in one process reaching another's cache through LISTEN/NOTIFY.
 */
export async function benchCache(): Promise<void> {
  const url = await freshDatabase(DATABASE)
  const backendA = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const backendB = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const cacheA = cacheCoordinate(backendA, { changes: backendA.changes(), closeBackend: false })
  const cacheB = cacheCoordinate(backendB, { changes: backendB.changes(), closeBackend: false })
  try {
    const raw = await (await backendA.namespace('bench')).setWorkSpec({ name: 'spec' })
    await raw.addWorkUnit('hot', { n: 1 })

    // 1. Hot reads.
    const spec = await (await cacheA.namespace('bench')).workSpec('spec')
    const unit = await spec.workUnit('hot')
    const rawUnit = await raw.workUnit('hot')
    const uncached = await readsPerSecond(1, () => rawUnit.status())
    const held = await readsPerSecond(1, () => unit.status())
    const byName = await readsPerSecond(1, async () => (await spec.workUnit('hot')).status())
    report('hot cached status(), held proxy', `${Math.round(held).toLocaleString('en')} reads/s`, { to: 'uncached status()', value: held / uncached })
    report('hot cached status(), looked up by name each time', `${Math.round(byName).toLocaleString('en')} reads/s`, { to: 'uncached status()', value: byName / uncached })
    report('  baseline: uncached status() (one query each)', `${Math.round(uncached).toLocaleString('en')} reads/s`)

    // 2. Cold lookups, counted in round trips (the namespace is looked up first, outside the count).
    await raw.addWorkUnit('cold', { n: 2 })
    const cold = cacheCoordinate(backendA, { closeBackend: false })
    const coldNs = await cold.namespace('bench')
    let coldSpec = spec
    const trips = await countQueries(async () => {
      coldSpec = await coldNs.workSpec('spec')
      const coldUnit = await coldSpec.workUnit('cold')
      await coldUnit.status()
      await coldUnit.data()
    })
    const unitTrips = await countQueries(async () => {
      const another = await coldSpec.workUnit('hot')
      await another.status()
    })
    await cold.close()
    const bareNs = await backendA.namespace('bench')
    const uncachedTrips = await countQueries(async () => {
      const s = await bareNs.workSpec('spec')
      const u = await s.workUnit('cold')
      await u.status()
      await u.data()
    })
    report('cold lookup spec+unit by name, then status() and data()', `${trips} round trips`, { to: 'uncached', value: trips / uncachedTrips })
    report('  of which: cold unit lookup with its snapshot (spec cached)', `${unitTrips} round trip${unitTrips === 1 ? '' : 's'}`)
    report('  baseline: uncached spec, unit, status(), data()', `${uncachedTrips} round trips`)

    // 3. One refresh cycle over 10k tracked units.
    const tracked = await (await backendA.namespace('bench')).setWorkSpec({ name: 'tracked' })
    await tracked.addWorkUnits(Array.from({ length: TRACKED }, (_, i) => ({ key: `u${String(i).padStart(5, '0')}`, data: { i } })))
    const loop = cacheCoordinate(backendA, { closeBackend: false, start: false, batchSize: BATCH })
    const trackedSpec = await (await loop.namespace('bench')).workSpec('tracked')
    await trackedSpec.workUnits()
    let cycleQueries = 0
    const cycle = await timed(async () => {
      cycleQueries = await countQueries(() => loop.refreshNow())
    })
    const second = await countQueries(() => loop.refreshNow())
    await loop.close()
    report(`refresh cycle, ${TRACKED.toLocaleString('en')} tracked units, batch ${BATCH}`, `${cycleQueries} queries (then ${second}), ${Math.round(cycle.ms)} ms`, {
      to: `the ceil(${TRACKED}/${BATCH}) bound`,
      value: cycleQueries / Math.ceil(TRACKED / BATCH),
    })

    // 4. Cross-process notification latency: A writes, B's cache hears of it.
    await backendA.changes().ready()
    await backendB.changes().ready()
    const unitA = await (await (await cacheA.namespace('bench')).workSpec('spec')).workUnit('hot')
    const unitB = await (await (await cacheB.namespace('bench')).workSpec('spec')).workUnit('hot')
    await unitB.status()
    const latencies: number[] = []
    for (let i = 0; i < 300; i++) {
      const heard = new Promise<void>((resolve) => {
        const stop = backendB.changes().subscribe((event: ChangeEvent) => {
          if (event.kind === 'work-units' && event.namespace === 'bench' && event.workSpec === 'spec') {
            stop()
            resolve()
          }
        })
      })
      const start = process.hrtime.bigint()
      await unitA.setData({ n: i })
      await heard
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
    const seen = await unitB.data()
    report('write in A → invalidation in B (LISTEN/NOTIFY), p50', `${percentile(latencies, 0.5).toFixed(2)} ms`)
    report('write in A → invalidation in B (LISTEN/NOTIFY), p99', `${percentile(latencies, 0.99).toFixed(2)} ms`)
    report('  B reads the last write after it', JSON.stringify(seen))
  } finally {
    await cacheA.close()
    await cacheB.close()
    await backendA.close()
    await backendB.close()
    await dropDatabase(DATABASE)
  }
}
