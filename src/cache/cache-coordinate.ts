/**
 * The name-identity cache: a Coordinate that wraps another and answers reads from snapshots it
 * keeps current. User-facing documentation: docs/cache.md.
 *
 * Design decisions:
 *
 * - Name identity (go-coordinate's cache). Proxies are bound to names, not rows: the same name
 *   gives the same proxy while it is cached; a row deleted and re-created under the name is
 *   followed; a GoneError from a backend handle makes the proxy look the name up again and retry
 *   once, and if that fails the original GoneError is thrown.
 * - Cached reads. Unit status/data/meta/snapshot and spec data/meta/snapshot are served from a
 *   versioned snapshot (SnapshotSlot). Status that changes with time alone is derived from the
 *   snapshot and the clock at each read (snapshotStatus/snapshotData), so it is exact. `fresh`
 *   bypasses the snapshot. A snapshot older than resyncPeriodMs is never served.
 * - Write-through. Every write through a proxy, attempts included, invalidates (or, for
 *   setData, replaces exactly) the snapshot once the write commits; bulk paths (claims, bulk
 *   adds, priority and delete queries, chaining into a `then` spec) mark snapshots stale rather
 *   than re-read them. A read result that started before a write never overwrites it.
 * - Cross-process. The backend's change feed (pg_notify sent by triggers in the writing
 *   transaction, one LISTEN connection per process) invalidates what other processes change.
 * - Generations. We do NOT bump a per-namespace or
 *   per-spec counter on every write: every claim would then update the same hot row and
 *   serialise all workers. Each unit row instead has a version bumped by every write; when the
 *   listener reconnects (a `resync` event, so notifications may have been lost) the cache starts
 *   a new local generation: snapshots of the old one are not served, the refresh loop revalidates
 *   every tracked unit in batches (one workUnitSnapshots query per batch) and replaces those whose
 *   version differs, and spec snapshots are simply dropped.
 * - Auto-refresh: see RefreshLoop.
 * - Compare-and-swap: update(fn) on unit and spec data against the row version,
 *   bounded retries with re-read, a per-key async mutex in the process, ConflictError when the
 *   retries run out, and the cache unchanged after a failed write.
 * - Bounded memory: an LRU per level (lru-cache); in-flight marks, backoff records and forget
 *   marks live on the entries and go with them; mutex entries go when their queue drains.
 */
import type { Coordinate, Namespace, SummaryRecord } from '../coordinate/api.js'
import { ClosedError } from '../coordinate/errors.js'
import { CacheContext } from './cache-context.js'
import { routeChange } from './change-router.js'
import { CacheMetrics, type CacheLevel, NAMESPACE_LOOKUP } from './metrics.js'
import { NamespaceProxy } from './namespace-proxy.js'
import { type CacheOptions, resolveOptions } from './options.js'
import { singleFlight } from './single-flight.js'
import { RefreshLoop } from './refresh-loop.js'
import { validateName } from '../coordinate/validation.js'

/** The cache: a Coordinate whose namespaces, specs, units, workers and attempts are proxies. */
export class CacheCoordinate implements Coordinate {
  /** The cache's Prometheus metrics and the registry they are on. */
  readonly metrics: CacheMetrics
  readonly #backend: Coordinate
  readonly #ctx: CacheContext
  readonly #loop: RefreshLoop
  readonly #lookups = new Map<string, Promise<NamespaceProxy>>()
  #unsubscribe: (() => void) | undefined
  #started = false
  #closing: Promise<void> | undefined

  constructor(backend: Coordinate, options: CacheOptions = {}) {
    const resolved = resolveOptions(options)
    this.#backend = backend
    this.metrics = new CacheMetrics(resolved.metricsRegistry, resolved.metricsPrefix)
    this.#ctx = new CacheContext(resolved, this.metrics)
    this.#loop = new RefreshLoop(this.#ctx)
    this.metrics.observe(() => this.#gaugeState())
    if (resolved.start) this.start()
  }

  /** Subscribes to the change feed and starts the refresh loop; idempotent. */
  start(): void {
    if (this.#ctx.closed) throw new ClosedError()
    if (this.#started) return
    this.#started = true
    const feed = this.#ctx.options.changes
    if (feed !== undefined) {
      this.#unsubscribe = feed.subscribe((event) => {
        try {
          routeChange(this.#ctx, this.#loop, event)
        } catch {
          // A notification we cannot route changes nothing we hold; the resync period still bounds staleness.
        }
      })
    }
    this.#loop.start()
  }

  /**
   * Stops the loop (waiting for the cycle in flight), leaves the change feed (which ends the
   * LISTEN connection when this cache was its last subscriber) and closes the backend unless
   * `closeBackend: false`. Idempotent; every later call fails with ClosedError.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#ctx.close()
      this.#unsubscribe?.()
      this.#unsubscribe = undefined
      await this.#loop.stop()
      if (this.#ctx.options.closeBackend) await this.#backend.close()
    })()
    return this.#closing
  }

  /** Runs one refresh cycle now (after the one in flight, if any) and resolves when it is done. */
  refreshNow(): Promise<void> {
    return this.#loop.runNow()
  }

  /** Resolves once no refresh cycle is running or queued (a resync starts one by itself). */
  idle(): Promise<void> {
    return this.#loop.idle()
  }

  /** The namespace's proxy: the cached one, or one round trip (the backend creates it if needed). */
  async namespace(name: string): Promise<NamespaceProxy> {
    const ctx = this.#ctx
    ctx.checkOpen()
    validateName(name, 'a namespace name')
    const cached = ctx.namespaces.get(name)
    // A proxy whose namespace was destroyed holds no handle: asking again must re-create it.
    if (cached !== undefined && cached.handleCurrent) {
      ctx.metrics.hit(NAMESPACE_LOOKUP)
      return cached
    }
    ctx.metrics.miss(NAMESPACE_LOOKUP)
    return singleFlight(this.#lookups, name, async () => this.#adopt(await this.#backend.namespace(name)))
  }

  /** Every namespace, as proxies. */
  async namespaces(): Promise<NamespaceProxy[]> {
    this.#ctx.checkOpen()
    const handles = await this.#backend.namespaces()
    return handles.map((handle) => this.#adopt(handle))
  }

  /** Unit counts for every namespace (not cached). */
  summarize(): Promise<SummaryRecord[]> {
    this.#ctx.checkOpen()
    return this.#backend.summarize()
  }

  #adopt(handle: Namespace): NamespaceProxy {
    const ctx = this.#ctx
    const existing = ctx.namespaces.get(handle.name)
    if (existing !== undefined) {
      existing.adopt(handle)
      return existing
    }
    const ns = new NamespaceProxy(ctx, this.#backend, handle.name, handle)
    ctx.namespaces.set(handle.name, ns)
    return ns
  }

  #gaugeState(): { tracked: Record<CacheLevel, number>; inFlight: number; oldestSnapshotAgeSeconds: number } {
    const ctx = this.#ctx
    const now = ctx.now()
    let oldest = now
    for (const unit of ctx.units.values()) {
      const at = unit.snapshotStoredAt()
      if (at !== undefined && at < oldest) oldest = at
    }
    for (const spec of ctx.specs.values()) {
      const at = spec.snapshotStoredAt()
      if (at !== undefined && at < oldest) oldest = at
    }
    return {
      tracked: { namespace: ctx.namespaces.size, work_spec: ctx.specs.size, work_unit: ctx.units.size, worker: ctx.workers.size },
      inFlight: ctx.inFlight,
      oldestSnapshotAgeSeconds: (now - oldest) / 1000,
    }
  }
}

/**
 * Wraps `backend` in the name-identity cache and starts it (unless `start: false`).
 *
 * @example
 * const backend = await openCoordinate({ databaseUrl })
 * const coordinate = cacheCoordinate(backend, { changes: backend.changes() })
 * const unit = await (await (await coordinate.namespace('')).workSpec('crawl')).workUnit('https://example.com/')
 * await unit.status() // from the snapshot, kept current by notifications and the refresh loop
 */
export function cacheCoordinate(backend: Coordinate, options: CacheOptions = {}): CacheCoordinate {
  return new CacheCoordinate(backend, options)
}
