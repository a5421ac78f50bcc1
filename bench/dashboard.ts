import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Page } from 'playwright-core'
import { openCoordinate } from '../src/postgres/open.js'
import type { PostgresCoordinate } from '../src/postgres/coordinate.js'
import { CHROMIUM, launchBrowser } from './chromium.js'
import { RpcClient, claimed, pairValue } from './rpc-client.js'
import { dropDatabase, keptDatabase, median, medianMs, report, timed, vacuum } from './support.js'
import { processCpuMs, processRssMb } from './daemon-process.js'
import { FINISHED } from '../src/jobserver/status-codes.js'

// The dashboard against a store with one spec of BIG units and ten specs in all, served by a
// separate process (bench/dashboard-server.ts): how long the overview and a spec page take to
// show their data in headless Chromium, what live clients add to a claim, what fifty open
// dashboards cost the server, and whether a burst of writes freezes an open page.

const DATABASE = 'coordinate_bench_dashboard'
const BIG = Number(process.env.BENCH_DASHBOARD_UNITS ?? 1_000_000)
const SMALL_SPECS = 9
const SMALL = 1_000
const LOADS = 5
// Past the server's shared-result window, so every timed load computes afresh.
const LOAD_PAUSE_MS = 300
const CLAIMS = 300
const DASHBOARDS = 50
const BURST = 50_000
const BURST_BATCH = 1_000
// What the page waits between reloads of its data (ui/src/live.ts).
const COALESCE_MS = 400

/** Render times, SSE cost per claim, memory per open dashboard, and a write burst under an open page. */
export async function benchDashboard(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`skipped: ${CHROMIUM} is missing (apt-get install chromium)`)
    return
  }
  const { url, kept } = await keptDatabase(DATABASE)
  const library = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  // BENCH_DASHBOARD_ONLY=render: render times alone, which leave the store as they found it
  // (so a kept database serves the next run too).
  const renderOnly = process.env.BENCH_DASHBOARD_ONLY === 'render'
  let server: Server | undefined
  try {
    if (!kept || !(await loaded(library))) {
      await load(library)
      await vacuum(url)
    }
    server = await startServer(url)
    await renderTimes(server.url)
    if (!renderOnly) {
      await sseCost(server)
      await dashboardMemory(server)
      await burst(server.url, library)
    }
  } finally {
    server?.stop()
    await library.close()
    if (!kept) await dropDatabase(DATABASE)
  }
}

/** Whether a kept database holds the load already (its last spec made). */
async function loaded(coordinate: PostgresCoordinate): Promise<boolean> {
  const ns = await coordinate.namespace('bench')
  if (!(await ns.workSpecNames()).includes('claims')) return false
  return ((await (await ns.workSpec('big')).countWorkUnitStatus()).available ?? 0) === BIG
}

async function load(coordinate: PostgresCoordinate): Promise<void> {
  const ns = await coordinate.namespace('bench')
  const big = await ns.setWorkSpec({ name: 'big' })
  const loaded = await timed(async () => {
    for (let start = 0; start < BIG; start += 100_000) {
      const n = Math.min(100_000, BIG - start)
      await big.addWorkUnits(Array.from({ length: n }, (_, i) => ({ key: `unit-${String(start + i).padStart(8, '0')}`, data: { n: start + i }, meta: { priority: (start + i) % 10 } })))
    }
  })
  for (let s = 0; s < SMALL_SPECS - 1; s++) {
    const spec = await ns.setWorkSpec({ name: `small-${s}` })
    await spec.addWorkUnits(Array.from({ length: SMALL }, (_, i) => ({ key: `u${i}` })))
  }
  const claims = await ns.setWorkSpec({ name: 'claims' })
  await claims.addWorkUnits(Array.from({ length: CLAIMS * 8 }, (_, i) => ({ key: `c${String(i).padStart(6, '0')}` })))
  report(`loaded ${BIG} + ${SMALL_SPECS - 1}×${SMALL} + ${CLAIMS * 8} units in 10 specs`, `${(loaded.ms / 1000).toFixed(1)} s`)
}

interface Server {
  url: string
  rpcPort: number
  pid: number
  stop: () => void
}

async function startServer(databaseUrl: string): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'dashboard-server.js'), databaseUrl], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`dashboard server exited with ${code}`)))
  })
  const { url, rpcPort } = JSON.parse(first) as { url: string; rpcPort: number }
  return { url, rpcPort, pid: child.pid!, stop: () => child.stdin!.end() }
}

async function renderTimes(base: string): Promise<void> {
  const browser = await launchBrowser()
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const overview = await medianLoad(page, `${base}/ui/`, async () => {
      await page.locator('tr[data-spec="big"] td[data-status="available"]', { hasText: BIG.toLocaleString('en-US') }).waitFor()
    })
    const json = await medianMs(LOADS, () => fetchJson(`${base}/dashboard/overview`), LOAD_PAUSE_MS)
    report('overview page: navigation to counts shown', `${overview.toFixed(0)} ms`, { to: 'fetching its JSON alone', value: overview / json })
    report('  baseline: GET /dashboard/overview from Node', `${json.toFixed(0)} ms`)
    const specUrl = `${base}/ui/namespace/bench/work_spec/big`
    const specShown = async (): Promise<void> => {
      await page.locator('tbody tr').nth(49).waitFor()
      await page.locator('li.chip[data-status="available"] .chip-count', { hasText: BIG.toLocaleString('en-US') }).waitFor()
    }
    const spec = await medianLoad(page, specUrl, specShown)
    report(`spec page of the ${BIG}-unit spec: counts and first 50 units shown`, `${spec.toFixed(0)} ms`)
    const byPriority = await medianLoad(page, `${specUrl}?sort=priority`, specShown)
    report('  the same, units sorted by priority', `${byPriority.toFixed(0)} ms`)
    // A prefix matching 100 units from the middle of the key range.
    const prefix = `unit-${String(Math.floor(BIG / 2)).padStart(8, '0').slice(0, 6)}`
    const deep = await medianLoad(page, `${specUrl}?prefix=${prefix}`, specShown)
    report('  the same, key prefix search', `${deep.toFixed(0)} ms`)
  } finally {
    await browser.close()
  }
}

async function medianLoad(page: Page, url: string, shown: () => Promise<void>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < LOADS; i++) {
    await page.goto('about:blank')
    await new Promise((resolve) => setTimeout(resolve, LOAD_PAUSE_MS))
    const start = performance.now()
    await page.goto(url)
    await shown()
    times.push(performance.now() - start)
  }
  return median(times)
}

async function fetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { accept: 'application/json' } })
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
  return response.json()
}

/** Milliseconds per claim+finish as a Python worker makes them (get_work, update_work_unit), one at a time. */
async function claimMs(rpcPort: number, claims: number): Promise<number> {
  const client = await RpcClient.connect(rpcPort)
  try {
    const { ms } = await timed(async () => {
      for (let i = 0; i < claims; i++) {
        const [unit] = claimed(pairValue(await client.call('get_work', ['claimer', { work_spec_names: ['claims'] }]), 'get_work'))
        if (unit === undefined) throw new Error('the claims spec ran dry')
        const [spec, key] = unit.items
        pairValue(await client.call('update_work_unit', [spec ?? null, key ?? null, { status: FINISHED, worker_id: 'claimer' }]), 'update_work_unit')
      }
    })
    return ms / claims
  } finally {
    await client.close()
  }
}

/** A live client: an SSE stream, optionally reloading the overview after changes as the page does. */
function liveClient(base: string, reloads: boolean): { events: () => number; close: () => void } {
  const abort = new AbortController()
  let events = 0
  let due: NodeJS.Timeout | undefined
  const reload = (): void => {
    due ??= setTimeout(() => {
      due = undefined
      fetchJson(`${base}/dashboard/overview`).catch(() => undefined)
    }, COALESCE_MS)
  }
  void (async () => {
    try {
      const response = await fetch(`${base}/events`, { headers: { accept: 'text/event-stream' }, signal: abort.signal })
      const decoder = new TextDecoder()
      for await (const chunk of response.body!) {
        const frames = decoder.decode(chunk, { stream: true }).split('event: change').length - 1
        events += frames
        if (frames > 0 && reloads) reload()
      }
    } catch {
      // Aborted at the end of the measurement.
    }
  })()
  return { events: () => events, close: () => (clearTimeout(due), abort.abort()) }
}

async function sseCost(server: Server): Promise<void> {
  const base = server.url
  await claimMs(server.rpcPort, 20)
  const rounds: Record<'none' | 'one' | 'fifty', { wall: number[]; cpu: number[] }> = { none: { wall: [], cpu: [] }, one: { wall: [], cpu: [] }, fifty: { wall: [], cpu: [] } }
  for (let round = 0; round < 2; round++) {
    for (const [name, count] of [['none', 0], ['one', 1], ['fifty', DASHBOARDS]] as const) {
      const clients = Array.from({ length: count }, () => liveClient(base, false))
      await new Promise((resolve) => setTimeout(resolve, 200))
      const cpuBefore = cpuMs(server.pid)
      rounds[name].wall.push(await claimMs(server.rpcPort, CLAIMS / 2))
      // Events are written after the claims' transactions commit; let the last ones go out.
      await new Promise((resolve) => setTimeout(resolve, 100))
      rounds[name].cpu.push((cpuMs(server.pid) - cpuBefore) / (CLAIMS / 2))
      for (const client of clients) client.close()
    }
  }
  const wall = (name: keyof typeof rounds): number => median(rounds[name].wall)
  const cpu = (name: keyof typeof rounds): number => median(rounds[name].cpu)
  report('server CPU per get_work+update_work_unit (CBOR-RPC), one SSE client', `${cpu('one').toFixed(2)} ms`, { to: 'no SSE client', value: cpu('one') / cpu('none') })
  report(`  the same, ${DASHBOARDS} SSE clients`, `${cpu('fifty').toFixed(2)} ms`, { to: 'no SSE client', value: cpu('fifty') / cpu('none') })
  report('  baseline: server CPU per claim with no SSE client', `${cpu('none').toFixed(2)} ms`)
  report('  server CPU added per claim per SSE client (from the 50-client run)', `${((cpu('fifty') - cpu('none')) / DASHBOARDS).toFixed(3)} ms`)
  report('wall time per claim with none / one / fifty SSE clients', `${wall('none').toFixed(2)} / ${wall('one').toFixed(2)} / ${wall('fifty').toFixed(2)} ms`)
}

/** CPU time (user + system) a process has used so far, in ms; 0 where /proc cannot tell. */
function cpuMs(pid: number): number {
  return processCpuMs(pid) ?? 0
}

function rssMb(pid: number): number {
  return processRssMb(pid) ?? NaN
}

async function dashboardMemory(server: Server): Promise<void> {
  await fetchJson(`${server.url}/dashboard/overview`)
  const before = rssMb(server.pid)
  const clients = Array.from({ length: DASHBOARDS }, () => liveClient(server.url, true))
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.pid))), 100)
  try {
    await new Promise((resolve) => setTimeout(resolve, 500))
    await claimMs(server.rpcPort, CLAIMS)
    await new Promise((resolve) => setTimeout(resolve, 2 * COALESCE_MS))
  } finally {
    clearInterval(sampler)
    for (const client of clients) client.close()
  }
  const after = rssMb(server.pid)
  report(`server RSS with ${DASHBOARDS} live dashboards during ${CLAIMS} claims`, `+${(peak - before).toFixed(1)} MB at peak, +${(after - before).toFixed(1)} MB at the end`)
  report('  baseline: server RSS before', `${before.toFixed(1)} MB`)
  report('  events each dashboard received', String(clients[0]!.events()))
}

async function burst(base: string, library: PostgresCoordinate): Promise<void> {
  const browser = await launchBrowser()
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(`${base}/ui/`)
    await page.locator('tr[data-spec="big"]').waitFor()
    await page.evaluate(`(() => {
      window.__longest = 0
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration) }).observe({ type: 'longtask', buffered: false })
    })()`)
    const spec = await (await library.namespace('bench')).setWorkSpec({ name: 'burst' })
    const start = performance.now()
    for (let i = 0; i < BURST; i += BURST_BATCH) {
      await spec.addWorkUnits(Array.from({ length: BURST_BATCH }, (_, j) => ({ key: `b${String(i + j).padStart(6, '0')}` })))
    }
    const written = performance.now()
    await page.locator('tr[data-spec="burst"] td[data-status="available"]', { hasText: BURST.toLocaleString('en-US') }).waitFor({ timeout: 60_000 })
    const shown = performance.now()
    const longest = Number(await page.evaluate('window.__longest'))
    report(`${BURST} units added in ${BURST / BURST_BATCH} statements with the overview open`, `shown ${(shown - written).toFixed(0)} ms after the last commit`)
    // The long-task observer reports only tasks over 50 ms.
    report('  longest main-thread task in the page meanwhile', longest === 0 ? 'none over 50 ms' : `${longest.toFixed(0)} ms`, { to: 'the writing time', value: longest / (written - start) })
  } finally {
    await browser.close()
  }
}
