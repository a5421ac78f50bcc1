import { LRUCache } from 'lru-cache'
import { type Clock, systemClock } from '../coordinate/clock.js'
import { ClosedError } from '../coordinate/errors.js'
import { KeyMutex } from './key-mutex.js'
import { DatabaseHealth } from '../postgres/database-health.js'
import type { CacheMetrics } from './metrics.js'
import type { NamespaceProxy } from './namespace-proxy.js'
import type { ResolvedCacheOptions } from './options.js'
import type { WorkSpecProxy } from './work-spec-proxy.js'
import type { WorkUnitProxy } from './work-unit-proxy.js'
import type { WorkerProxy } from './worker-proxy.js'

/**
 * The state one cache shares among its proxies: the LRU of each level, the generation, the
 * sequence that orders reads, the per-key mutex and the forget list.
 *
 * Proxies are found by name through their parent (namespace → specs and workers, spec → units);
 * the per-level LRUs are keyed by the proxy itself and only decide who goes when a level is full.
 * Dropping an entry detaches its proxy, and a spec or namespace takes its children with it, so
 * no proxy that notifications can no longer reach keeps serving a snapshot.
 */
export class CacheContext {
  readonly clock: Clock
  readonly options: ResolvedCacheOptions
  readonly metrics: CacheMetrics
  readonly namespaces: LRUCache<string, NamespaceProxy>
  readonly specs: LRUCache<WorkSpecProxy, WorkSpecProxy>
  readonly units: LRUCache<WorkUnitProxy, WorkUnitProxy>
  readonly workers: LRUCache<WorkerProxy, WorkerProxy>
  readonly mutex = new KeyMutex()
  /** Logs the refresh loop's lost and regained database. */
  readonly health: DatabaseHealth
  /** Units whose forget() takes effect at the next refresh cycle. */
  readonly forgotten = new Set<WorkUnitProxy>()
  /**
   * How long a backend handle is trusted before its name is looked up again. With a change feed,
   * notifications drop handles that may have gone stale, so forever; without one, a period.
   */
  readonly handleMaxAgeMs: number
  /** Units in a refresh batch right now. */
  inFlight = 0
  #generation = 0
  #seq = 0
  #closed = false
  // Date.now() costs half of `new Date()`, and the hot read path reads the time on every call.
  readonly #systemTime: boolean

  constructor(options: ResolvedCacheOptions, metrics: CacheMetrics) {
    this.clock = options.clock
    this.#systemTime = options.clock === systemClock
    this.options = options
    this.metrics = metrics
    this.health = new DatabaseHealth(options.logger)
    this.handleMaxAgeMs = options.changes === undefined ? options.resyncPeriodMs : Number.POSITIVE_INFINITY
    const evicted = (level: 'namespace' | 'work_spec' | 'work_unit' | 'worker', reason: LRUCache.DisposeReason) => {
      if (reason === 'evict') metrics.evictions.inc({ level })
    }
    const { limits } = options
    this.namespaces = new LRUCache<string, NamespaceProxy>({
      max: limits.namespaces,
      dispose: (ns, _name, reason) => {
        evicted('namespace', reason)
        ns.detach()
      },
    })
    this.specs = new LRUCache<WorkSpecProxy, WorkSpecProxy>({
      max: limits.workSpecs,
      dispose: (spec, _key, reason) => {
        evicted('work_spec', reason)
        spec.detach()
      },
    })
    this.units = new LRUCache<WorkUnitProxy, WorkUnitProxy>({
      max: limits.workUnits,
      dispose: (unit, _key, reason) => {
        evicted('work_unit', reason)
        unit.detach()
      },
    })
    this.workers = new LRUCache<WorkerProxy, WorkerProxy>({
      max: limits.workers,
      dispose: (worker, _key, reason) => {
        evicted('worker', reason)
        worker.detach()
      },
    })
  }

  /**
   * The generation: bumped when the change feed says notifications may have been lost. A
   * snapshot of an older generation is not served until a read or the refresh loop confirms it.
   */
  get generation(): number {
    return this.#generation
  }

  /** Starts a new generation (after a listener reconnect). */
  newGeneration(): void {
    this.#generation++
  }

  /** The next number of the sequence that orders reads' starts and ends. */
  nextSeq(): number {
    return ++this.#seq
  }

  /** The clock's now, in ms. */
  now(): number {
    return this.#systemTime ? Date.now() : this.clock.now().getTime()
  }

  /** Snapshots stored before this (clock ms) are too old to serve. */
  oldestServable(now: number): number {
    return now - this.options.resyncPeriodMs
  }

  /** True once close() began; every later call fails. */
  get closed(): boolean {
    return this.#closed
  }

  /** Marks the cache closed. */
  close(): void {
    this.#closed = true
  }

  /** Throws ClosedError once the cache is closed (cached answers must stop too). */
  checkOpen(): void {
    if (this.#closed) throw new ClosedError()
  }
}
