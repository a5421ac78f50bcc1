import pg from 'pg'
import { request } from 'undici'
import { cacheCoordinate } from '../src/cache/index.js'
import type { Coordinate, WorkSpec } from '../src/coordinate/api.js'
import { openCoordinate } from '../src/postgres/open.js'
import { restCoordinate } from '../src/rest/index.js'
import { type DaemonProcess, startDaemonProcess } from './daemon-process.js'
import { dropDatabase, freshDatabase, keptDatabase, median, report, timed } from './support.js'

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5)
const CONCURRENCY = Number(process.env.BENCH_HTTP_CONCURRENCY ?? 8)
const CLAIM_UNITS = 50_000
const SCALE_SPECS = 10
const SCALE_UNITS = Number(process.env.BENCH_HTTP_SCALE_UNITS ?? 1_000_000)
const SCRAPE_PERIOD_MS = 5_000
const SCRAPE_PAIRS = Number(process.env.BENCH_HTTP_SCRAPE_PAIRS ?? 6)
const SCRAPE_RUN_SECONDS = 10

/** Runs `op` from CONCURRENCY loops (told their index) for SECONDS; returns operations per second. */
async function rate(op: (loop: number) => Promise<unknown>, seconds = SECONDS): Promise<number> {
  const end = Date.now() + seconds * 1000
  let done = 0
  const start = process.hrtime.bigint()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, loop) => {
      while (Date.now() < end) {
        await op(loop)
        done++
      }
    }),
  )
  return done / (Number(process.hrtime.bigint() - start) / 1e9)
}

/** A worker per loop, each claiming one unit of `spec` and finishing it; returns units per second. */
async function claimRate(coordinate: Coordinate, namespace: string, spec: string, seconds = SECONDS): Promise<number> {
  const ns = await coordinate.namespace(namespace)
  const workers = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => ns.worker(`worker-${i}`)))
  return rate(async (loop) => {
    const [attempt] = await workers[loop]!.requestAttempts({ workSpecs: [spec] })
    await attempt?.finish()
  }, seconds)
}

async function addUnits(spec: WorkSpec, count: number): Promise<void> {
  for (let start = 0; start < count; start += 10_000) {
    await spec.addWorkUnits(Array.from({ length: Math.min(10_000, count - start) }, (_, i) => ({ key: `u${String(start + i).padStart(7, '0')}` })))
  }
}

/**
 * Requests per second over HTTP (a coordinated child process, keep-alive client here) against
 * the same operations through the library in this process, and the cost of /metrics scrapes
 * over SCALE_SPECS × SCALE_UNITS units.
 */
export async function benchHttp(): Promise<void> {
  // BENCH_HTTP_ONLY=scale: the scrape figures alone.
  if (process.env.BENCH_HTTP_ONLY !== 'scale') await throughput()
  if (SCALE_UNITS > 0) await scrapeAtScale()
}

async function throughput(): Promise<void> {
  const url = await freshDatabase('coordinate_bench_http')
  const backend = await openCoordinate({ databaseUrl: url })
  const library = cacheCoordinate(backend, { clock: backend.clock, changes: backend.changes(), closeBackend: false })
  let daemon: DaemonProcess | undefined
  try {
    const ns = await library.namespace('bench')
    const one = await (await ns.setWorkSpec({ name: 'one' })).addWorkUnit('u', { n: 1 })
    await addUnits(await ns.setWorkSpec({ name: 'claim-http' }), CLAIM_UNITS)
    await addUnits(await ns.setWorkSpec({ name: 'claim-lib' }), CLAIM_UNITS)
    daemon = await startDaemonProcess(url)
    const client = restCoordinate(daemon.url, { connections: CONCURRENCY })
    try {
      const remote = await (await (await client.namespace('bench')).workSpec('one')).workUnit('u')
      await remote.status()
      console.log(`(${CONCURRENCY} concurrent loops, ${SECONDS} s each; the daemon is a child process, the client and the library run here)`)
      const viaCache = await rate(() => one.status())
      const viaBackend = await rate(async () => (await (await (await backend.namespace('bench')).workSpec('one')).workUnit('u')).status())
      const overHttp = await rate(() => remote.status())
      report('GET one work unit over HTTP', `${overHttp.toFixed(0)} req/s`, { to: 'the library through the cache', value: overHttp / viaCache })
      report('  library through the cache: unit.status()', `${viaCache.toFixed(0)} ops/s`)
      report('  library without cache: lookup + status()', `${viaBackend.toFixed(0)} ops/s`, { to: 'the cache', value: viaBackend / viaCache })
      report('  HTTP against the library without cache', `${overHttp.toFixed(0)} req/s`, { subject: 'HTTP', to: 'the library without cache', value: overHttp / viaBackend })
      const libClaims = await claimRate(library, 'bench', 'claim-lib')
      const httpClaims = await claimRate(client, 'bench', 'claim-http')
      report('request_attempts + finish over HTTP', `${httpClaims.toFixed(0)} units/s`, { to: 'the library through the cache', value: httpClaims / libClaims })
      report('  library through the cache', `${libClaims.toFixed(0)} units/s`)
    } finally {
      await client.close()
    }
  } finally {
    await daemon?.stop()
    await library.close()
    await backend.close()
    await dropDatabase('coordinate_bench_http')
  }
}

/** Whether a kept database holds the scale load already (its last spec filled). */
async function loaded(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM pg_tables t WHERE t.schemaname = 'coordinate' AND t.tablename = 'work_unit'`)
    if (rows[0]?.n !== 1) return false
    const spec = await client.query(`SELECT 1 FROM coordinate.work_unit u JOIN coordinate.work_spec s ON s.id = u.work_spec_id
      WHERE s.name = $1 AND u.name = convert_to('unit-' || lpad($2::text, 8, '0'), 'UTF8')`, [`spec-${SCALE_SPECS - 1}`, SCALE_UNITS])
    return spec.rowCount === 1
  } finally {
    await client.end()
  }
}

/** Loads units with one INSERT … SELECT per spec: the API's bulk add is measured elsewhere. */
async function loadScale(url: string): Promise<void> {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  try {
    const ns = await coordinate.namespace('scale')
    for (let s = 0; s < SCALE_SPECS; s++) await ns.setWorkSpec({ name: `spec-${s}` })
  } finally {
    await coordinate.close()
  }
  // Our schema first (the triggers name tables unqualified); no change notifications for the load.
  const pool = new pg.Pool({ connectionString: url, max: 2, options: '-c search_path=coordinate -c coordinate.notify=off' })
  try {
    const { rows } = await pool.query<{ id: string }>(`SELECT s.id::text FROM coordinate.work_spec s JOIN coordinate.namespace n ON n.id = s.namespace_id WHERE n.name = 'scale'`)
    // Two specs at a time: the machine has two cores.
    for (let i = 0; i < rows.length; i += 2) {
      await Promise.all(
        rows.slice(i, i + 2).map((row) =>
          pool.query(
            `INSERT INTO coordinate.work_unit (work_spec_id, name, data)
             SELECT $1, convert_to('unit-' || lpad(i::text, 8, '0'), 'UTF8'), '\\xa0'::bytea FROM generate_series(1, $2) AS i`,
            [row.id, SCALE_UNITS],
          ),
        ),
      )
    }
    await pool.query('VACUUM ANALYZE coordinate.work_unit')
  } finally {
    await pool.end()
  }
}

async function scrape(url: string): Promise<{ ms: number; text: string }> {
  const { value, ms } = await timed(async () => (await request(`${url}/metrics`)).body.text())
  return { ms, text: value }
}

async function scrapeAtScale(): Promise<void> {
  const { url, kept } = await keptDatabase('coordinate_bench_http_scale')
  let daemon: DaemonProcess | undefined
  try {
    if (!kept || !(await loaded(url))) {
      const load = await timed(() => loadScale(url))
      report(`load ${SCALE_SPECS} specs × ${SCALE_UNITS} units (SQL)`, `${(load.ms / 1000).toFixed(1)} s`)
    }
    const store = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
    const counts: number[] = []
    try {
      for (let i = 0; i < 3; i++) counts.push((await timed(() => store.observability().unitCounts())).ms)
    } finally {
      await store.close()
    }
    report('unit count query (kept counts; what a scrape reads)', `${median(counts).toFixed(1)} ms`)
    daemon = await startDaemonProcess(url)
    const started = Date.now()
    const first = await scrape(daemon.url)
    report('first /metrics scrape (waits ≤ 2 s for the counts)', `${first.ms.toFixed(0)} ms`)
    while (!/^coordinate_work_units\{/m.test((await scrape(daemon.url)).text)) await new Promise((resolve) => setTimeout(resolve, 500))
    report('  until a scrape has the counts', `${((Date.now() - started) / 1000).toFixed(1)} s`)
    const warm: number[] = []
    const cpuBefore = daemon.cpuMs() ?? 0
    for (let i = 0; i < 20; i++) {
      warm.push((await scrape(daemon.url)).ms)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const cpuPerScrape = ((daemon.cpuMs() ?? 0) - cpuBefore) / 20
    report('later /metrics scrapes, median of 20 (max)', `${median(warm).toFixed(1)} ms (${Math.max(...warm).toFixed(1)} ms)`)
    report('  daemon CPU per scrape (10 ms ticks; idle daemon)', `${cpuPerScrape.toFixed(1)} ms = ${((100 * cpuPerScrape) / SCRAPE_PERIOD_MS).toFixed(2)} % of one core at one scrape per ${SCRAPE_PERIOD_MS / 1000} s`)
    const client = restCoordinate(daemon.url, { connections: CONCURRENCY })
    try {
      // Pairs of runs, one scraped and one not, which goes first alternating, so the machine's
      // drift falls on both; the figure is the median of the pairs' ratios.
      const ratios: number[] = []
      const rates = { scraped: [] as number[], quiet: [] as number[] }
      for (let pair = 0; pair < SCRAPE_PAIRS; pair++) {
        const pairRates: Record<'scraped' | 'quiet', number> = { scraped: 0, quiet: 0 }
        for (const scraped of pair % 2 === 0 ? [false, true] : [true, false]) {
          const scraper = scraped ? setInterval(() => void scrape(daemon!.url), SCRAPE_PERIOD_MS) : undefined
          if (scraped) void scrape(daemon.url)
          const r = await claimRate(client, 'scale', `spec-${(2 * pair + Number(scraped)) % SCALE_SPECS}`, SCRAPE_RUN_SECONDS)
          clearInterval(scraper)
          pairRates[scraped ? 'scraped' : 'quiet'] = r
          rates[scraped ? 'scraped' : 'quiet'].push(r)
        }
        ratios.push(pairRates.scraped / pairRates.quiet)
      }
      report(`claim loop over HTTP, scraped every ${SCRAPE_PERIOD_MS / 1000} s`, `${median(rates.scraped).toFixed(0)} units/s`, { to: 'the same loop unscraped (median of pair ratios)', value: median(ratios) })
      report(`  unscraped (median of ${SCRAPE_PAIRS} ${SCRAPE_RUN_SECONDS} s runs)`, `${median(rates.quiet).toFixed(0)} units/s`)
      report('  pair ratios scraped/unscraped', ratios.map((r) => r.toFixed(2)).join(', '))
      const age = /^coordinate_work_units_age_seconds (\S+)$/m.exec((await scrape(daemon.url)).text)?.[1]
      report('  age of the counts served at the end', `${Number(age).toFixed(1)} s`)
    } finally {
      await client.close()
    }
  } finally {
    await daemon?.stop()
    if (!kept) await dropDatabase('coordinate_bench_http_scale')
  }
}
