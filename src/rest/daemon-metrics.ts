import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { SummaryRecord } from '../coordinate/api.js'
import type { RpcHandler } from '../cborrpc/server.js'
import { Tuple } from '../coordinate/data.js'
import { RefreshingValue } from './refreshing-value.js'

/** Where the daemon's gauges come from; each is optional (PGlite has no pool, tests may have no store). */
export interface MetricsSources {
  /** Unit counts per (namespace, spec, status), exact as of one query. */
  unitCounts?: () => Promise<SummaryRecord[]>
  /** Active workers per namespace. */
  activeWorkers?: () => Promise<{ namespace: string; count: number }[]>
  /** The pool's connections, or null without a pool. */
  poolStats?: () => { total: number; idle: number; waiting: number } | null
  /** Statements the store ran again after losing a deadlock, since it opened. */
  deadlockRetries?: () => number
  /** Registries to serve alongside (the cache's). */
  registries?: readonly Registry[]
  /** Longest a scrape's counts may be reused; older ones are read again for the scrape (default 1,000 ms). */
  countsMaxAgeMs?: number
  /** Also collect the process and Node.js defaults (default true; off in tests with several servers). */
  defaults?: boolean
}

// The longest a scrape waits for a count: past it the scrape answers with the last counts, or
// without the count series before the first (Prometheus's default scrape timeout is 10 s).
// Counts are kept by the database (migrations/0003_unit_counts.ts), so reading them takes
// milliseconds and a scrape normally gets counts read for it.
const COUNT_WAIT_MS = 2_000
// Scrapes closer together than this share one reading (several Prometheus servers, say).
const COUNTS_MAX_AGE_MS = 1_000
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
// Python's work unit status codes that end a unit (update_work_unit's `status` option).
const PYTHON_FINISHED = 4
const PYTHON_FAILED = 5
// The jobserver serves this one namespace.
const JOBSERVER_NAMESPACE = ''

/**
 * The daemon's Prometheus metrics: claims and completions, HTTP and CBOR-RPC requests, unit
 * counts, active workers and deadlock retries from the store, pool usage, plus the registries it
 * is given.
 */
export class DaemonMetrics {
  readonly #own = new Registry()
  /** Everything served at /metrics. */
  readonly registry: Registry
  readonly claimed: Counter<'namespace' | 'work_spec'>
  readonly finished: Counter<'namespace' | 'work_spec'>
  readonly failed: Counter<'namespace' | 'work_spec'>
  readonly #httpRequests: Counter<'method' | 'route' | 'status'>
  readonly #httpLatency: Histogram<'method' | 'route'>
  readonly #rpcRequests: Counter<'method' | 'outcome'>
  readonly #rpcLatency: Histogram<'method'>

  constructor(sources: MetricsSources = {}) {
    const registers = [this.#own]
    if (sources.defaults !== false) collectDefaultMetrics({ register: this.#own })
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers })
    this.claimed = counter('coordinate_attempts_claimed_total', 'Attempts handed out to workers by this daemon', ['namespace', 'work_spec'])
    this.finished = counter('coordinate_attempts_finished_total', 'Attempts finished through this daemon', ['namespace', 'work_spec'])
    this.failed = counter('coordinate_attempts_failed_total', 'Attempts failed through this daemon', ['namespace', 'work_spec'])
    this.#httpRequests = counter('coordinate_http_requests_total', 'HTTP requests answered, by route template and status', ['method', 'route', 'status'])
    this.#httpLatency = new Histogram({ name: 'coordinate_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers })
    this.#rpcRequests = counter('coordinate_cborrpc_requests_total', 'CBOR-RPC requests answered, by method and outcome (ok or error)', ['method', 'outcome'])
    this.#rpcLatency = new Histogram({ name: 'coordinate_cborrpc_request_duration_seconds', help: 'CBOR-RPC request latency', labelNames: ['method'], buckets: LATENCY_BUCKETS, registers })
    this.#storeSeries(sources, registers)
    this.registry = sources.registries?.length ? Registry.merge([this.#own, ...sources.registries]) : this.#own
  }

  #storeSeries(sources: MetricsSources, registers: Registry[]): void {
    const { unitCounts, activeWorkers, poolStats, deadlockRetries } = sources
    if (unitCounts) {
      const counts = new RefreshingValue(unitCounts, sources.countsMaxAgeMs ?? COUNTS_MAX_AGE_MS)
      new Gauge({
        name: 'coordinate_work_units',
        help: 'Work units by namespace, spec and status (exact as of coordinate_work_units_age_seconds ago)',
        labelNames: ['namespace', 'work_spec', 'status'],
        registers,
        async collect() {
          const records = (await counts.getWithin(COUNT_WAIT_MS)) ?? []
          this.reset()
          for (const r of records) this.set({ namespace: r.namespace, work_spec: r.workSpec, status: r.status }, r.count)
        },
      })
      new Gauge({
        name: 'coordinate_work_units_age_seconds',
        help: 'Age of the unit counts served in coordinate_work_units',
        registers,
        // prom-client collects the gauges at once: waiting on the same (shared) reading makes
        // the age that of the counts this scrape serves, not of the ones before.
        async collect() {
          await counts.getWithin(COUNT_WAIT_MS)
          const ageMs = counts.ageMs()
          if (ageMs === undefined) this.reset()
          else this.set(ageMs / 1000)
        },
      })
    }
    if (activeWorkers) {
      const workers = new RefreshingValue(activeWorkers, sources.countsMaxAgeMs ?? COUNTS_MAX_AGE_MS)
      new Gauge({
        name: 'coordinate_active_workers',
        help: 'Workers that are active and not past their expiration, by namespace',
        labelNames: ['namespace'],
        registers,
        async collect() {
          const rows = (await workers.getWithin(COUNT_WAIT_MS)) ?? []
          this.reset()
          for (const r of rows) this.set({ namespace: r.namespace }, r.count)
        },
      })
    }
    if (poolStats) {
      new Gauge({
        name: 'coordinate_pool_connections',
        help: 'Database pool connections: in use, idle, and callers waiting for one',
        labelNames: ['state'],
        registers,
        collect() {
          const stats = poolStats()
          if (stats === null) return
          this.set({ state: 'in_use' }, stats.total - stats.idle)
          this.set({ state: 'idle' }, stats.idle)
          this.set({ state: 'waiting' }, stats.waiting)
        },
      })
    }
    if (deadlockRetries) {
      // The store keeps the count; the counter mirrors it at each scrape (it only grows).
      new Counter({
        name: 'coordinate_deadlock_retries_total',
        help: 'Statements run again after PostgreSQL chose them as a deadlock victim; any growth means writers take locks in different orders',
        registers,
        collect() {
          this.reset()
          this.inc(deadlockRetries())
        },
      })
    }
  }

  /** Records one answered HTTP request (route is the template, so labels stay few). */
  observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
    this.#httpRequests.inc({ method, route, status: String(statusCode) })
    this.#httpLatency.observe({ method, route }, seconds)
  }

  /**
   * Wraps the jobserver's handler to time every call, count errors, and count the claims
   * (get_work) and completions (update_work_unit to finished or failed) it makes.
   */
  instrumentRpc(handler: RpcHandler, methodNames: readonly string[]): RpcHandler {
    const known = new Set(methodNames)
    return async (method, params, context) => {
      const label = known.has(method) ? method : 'unknown'
      const end = this.#rpcLatency.startTimer({ method: label })
      let outcome = 'error'
      try {
        const result = await handler(method, params, context)
        if (Array.isArray(result) && result[1] === null) {
          outcome = 'ok'
          this.#countRpcWork(method, params, result[0])
        }
        return result
      } finally {
        end()
        this.#rpcRequests.inc({ method: label, outcome })
      }
    }
  }

  #countRpcWork(method: string, params: unknown[], value: unknown): void {
    if (method === 'get_work') {
      const tuples = Array.isArray(value) ? value : [value]
      for (const t of tuples) {
        const spec = t instanceof Tuple ? t.items[0] : undefined
        if (typeof spec === 'string') this.claimed.inc({ namespace: JOBSERVER_NAMESPACE, work_spec: spec })
      }
    } else if (method === 'update_work_unit' && value === true) {
      const [spec, , options] = params
      const status = options instanceof Map ? options.get('status') : (options as Record<string, unknown> | undefined)?.status
      const name = typeof spec === 'string' ? spec : spec instanceof Uint8Array ? Buffer.from(spec).toString('utf8') : undefined
      if (name === undefined) return
      if (status === PYTHON_FINISHED) this.finished.inc({ namespace: JOBSERVER_NAMESPACE, work_spec: name })
      if (status === PYTHON_FAILED) this.failed.inc({ namespace: JOBSERVER_NAMESPACE, work_spec: name })
    }
  }

  /** The text /metrics answers with. */
  metrics(): Promise<string> {
    return this.registry.metrics()
  }
}
