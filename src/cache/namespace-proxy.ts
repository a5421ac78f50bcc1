import type { LRUCache } from 'lru-cache'
import type { Attempt, AttemptCompletion, AttemptRenewal, AttemptRequest, Coordinate, Namespace, RenewalOutcome, SummaryRecord, WorkSpec, Worker } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import { NoSuchWorkSpecError } from '../coordinate/errors.js'
import { AttemptProxy } from './attempt-proxy.js'
import type { CacheContext } from './cache-context.js'
import { HandleSlot } from './handle-slot.js'
import { SPEC_LOOKUP, WORKER_LOOKUP } from './metrics.js'
import { WorkSpecProxy } from './work-spec-proxy.js'
import type { WorkUnitProxy } from './work-unit-proxy.js'
import { singleFlight } from './single-flight.js'
import { WorkerProxy } from './worker-proxy.js'
import { validateName } from '../coordinate/validation.js'
import { validateAttemptCompletions, validateAttemptRenewals, validateWorkSpecData } from '../coordinate/request-validation.js'

/**
 * A namespace identified by name. It files its specs and workers by name and hands out the same
 * proxy for the same name while it is cached. Destroying it keeps the proxies (they follow the
 * names if these come back) but drops every snapshot and handle under it.
 */
export class NamespaceProxy implements Namespace {
  readonly name: string
  readonly #ctx: CacheContext
  readonly #slot: HandleSlot<Namespace>
  readonly #specs = new Map<string, WorkSpecProxy>()
  readonly #workers = new Map<string, WorkerProxy>()
  readonly #specLookups = new Map<string, Promise<WorkSpecProxy>>()
  readonly #workerLookups = new Map<string, Promise<WorkerProxy>>()
  #detached = false

  /** @internal Made by CacheCoordinate only. */
  constructor(ctx: CacheContext, backend: Coordinate, name: string, handle: Namespace | undefined) {
    this.#ctx = ctx
    this.name = name
    // Coordinate.namespace() creates a missing namespace, as go-coordinate's refresh does.
    this.#slot = new HandleSlot(() => backend.namespace(name), ctx.clock, ctx.handleMaxAgeMs, handle)
  }

  /** Deletes the namespace and everything in it; cached proxies under it stop serving snapshots. */
  async destroy(): Promise<void> {
    try {
      await this.#slot.call((ns) => ns.destroy())
    } finally {
      this.staleRow()
    }
  }

  /** Creates or replaces a spec and returns its proxy. */
  async setWorkSpec(data: DataDict): Promise<WorkSpecProxy> {
    validateWorkSpecData(data)
    const handle = await this.#slot.call((ns) => ns.setWorkSpec(data))
    const spec = this.adoptSpec(handle)
    spec.wrote()
    return spec
  }

  /** The spec with this name: the cached proxy, or one lookup; NoSuchWorkSpecError if none. */
  async workSpec(name: string): Promise<WorkSpecProxy> {
    const ctx = this.#ctx
    ctx.checkOpen()
    validateName(name, 'a work spec name')
    const cached = this.#specs.get(name)
    if (cached !== undefined && cached.handleCurrent) {
      ctx.metrics.hit(SPEC_LOOKUP)
      ctx.specs.get(cached)
      return cached
    }
    ctx.metrics.miss(SPEC_LOOKUP)
    return singleFlight(this.#specLookups, name, async () => this.adoptSpec(await this.resolveSpecHandle(name)))
  }

  /** Deletes a spec; its proxy stays (it follows the name if the spec comes back) but holds nothing. */
  async destroyWorkSpec(name: string): Promise<void> {
    validateName(name, 'a work spec name')
    try {
      await this.#slot.call((ns) => ns.destroyWorkSpec(name))
    } finally {
      this.#specs.get(name)?.staleRow()
    }
  }

  /** Every spec name, sorted (not cached). */
  workSpecNames(): Promise<string[]> {
    return this.#slot.call((ns) => ns.workSpecNames())
  }

  /** The worker with this name (created if needed): the cached proxy, or one round trip. */
  async worker(name: string): Promise<WorkerProxy> {
    const ctx = this.#ctx
    ctx.checkOpen()
    validateName(name, 'a worker name')
    const cached = this.#workers.get(name)
    if (cached !== undefined && cached.handleCurrent) {
      ctx.metrics.hit(WORKER_LOOKUP)
      ctx.workers.get(cached)
      return cached
    }
    ctx.metrics.miss(WORKER_LOOKUP)
    return singleFlight(this.#workerLookups, name, async () => this.adoptWorker(await this.resolveWorkerHandle(name)))
  }

  /** Every worker, as proxies. */
  async workers(): Promise<WorkerProxy[]> {
    const workers = await this.#slot.call((ns) => ns.workers())
    return workers.map((worker) => this.adoptWorker(worker))
  }

  /** Finishes or fails many attempts at once; their units' snapshots are invalidated. */
  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<void> {
    validateAttemptCompletions(completions)
    try {
      await this.#callWithBackendAttempts(completions, (ns, backend) => ns.completeAttempts(backend))
      this.#unitsWrote(completions)
    } finally {
      // On an error too: a finish whose reply was lost after its commit chained its units all the same.
      const finishedSpecs = new Set<WorkSpecProxy>()
      for (const completion of completions) {
        if (completion.attempt instanceof AttemptProxy && completion.status === 'finished') finishedSpecs.add(completion.attempt.workUnit.workSpec)
      }
      for (const spec of finishedSpecs) await spec.finished()
    }
  }

  /** Extends many leases in one backend call; the units of renewed and lost attempts are invalidated. */
  async renewAttempts(renewals: readonly AttemptRenewal[]): Promise<RenewalOutcome[]> {
    validateAttemptRenewals(renewals)
    const outcomes = await this.#callWithBackendAttempts(renewals, (ns, backend) => ns.renewAttempts(backend))
    // Both write the attempt: a renewal moves the unit's lease, a lost lease expires the attempt.
    this.#unitsWrote(renewals.filter((_, i) => outcomes[i] === 'renewed' || outcomes[i] === 'lost-lease'))
    return outcomes
  }

  /** Makes one batch call with the backend's own attempts in place of proxies; on an error every unit named counts as written. */
  async #callWithBackendAttempts<T extends { attempt: Attempt }, R>(items: readonly T[], call: (ns: Namespace, backend: T[]) => Promise<R>): Promise<R> {
    const backend = items.map((item) => (item.attempt instanceof AttemptProxy ? { ...item, attempt: item.attempt.backend } : item))
    const handle = await this.#slot.get()
    try {
      return await call(handle, backend)
    } catch (error) {
      // An error that came with the connection may follow a commit.
      this.#unitsWrote(items)
      throw error
    }
  }

  // A raw backend attempt names no proxy: its unit could be any in the namespace.
  #unitsWrote(items: readonly { attempt: Attempt }[]): void {
    let raw = false
    for (const { attempt } of items) {
      if (attempt instanceof AttemptProxy) attempt.workUnit.wrote()
      else raw = true
    }
    if (raw) this.invalidateAllUnits()
  }

  /** Unit counts for this namespace (not cached). */
  summarize(): Promise<SummaryRecord[]> {
    return this.#slot.call((ns) => ns.summarize())
  }

  // ---- used by the other proxies and the router ----

  /** @internal True if a lookup by name can be answered without asking the database. */
  get handleCurrent(): boolean {
    return this.#slot.current !== undefined
  }

  /** @internal Takes a handle the backend returned for this name. */
  adopt(handle: Namespace): void {
    this.#slot.set(handle)
  }

  /** @internal The proxy of a spec handle the backend returned: the cached one, or a new cached one. */
  adoptSpec(handle: WorkSpec): WorkSpecProxy {
    return this.#adoptNamed(this.#specs, this.#ctx.specs, handle, () => new WorkSpecProxy(this.#ctx, this, handle.name, handle, this.#detached))
  }

  /** @internal The proxy of a worker handle the backend returned. */
  adoptWorker(handle: Worker): WorkerProxy {
    return this.#adoptNamed(this.#workers, this.#ctx.workers, handle, () => new WorkerProxy(this.#ctx, this, handle.name, handle, this.#detached))
  }

  // A detached namespace files nothing: the LRU already let its children go, and a proxy filed
  // now would be reachable by no notification.
  #adoptNamed<H extends { readonly name: string }, P extends { adopt(handle: H): void }>(byName: Map<string, P>, lru: LRUCache<P, P>, handle: H, make: () => P): P {
    const cached = byName.get(handle.name)
    if (cached !== undefined) {
      cached.adopt(handle)
      lru.get(cached)
      return cached
    }
    const made = make()
    if (!this.#detached) {
      byName.set(handle.name, made)
      lru.set(made, made)
    }
    return made
  }

  /** @internal Wraps a backend attempt, reusing the proxies the caller already has. */
  wrapAttempt(attempt: Attempt, unit?: WorkUnitProxy, worker?: WorkerProxy): AttemptProxy {
    const unitProxy = unit ?? this.adoptSpec(attempt.workUnit.workSpec).adoptUnit(attempt.workUnit)
    const workerProxy = worker ?? this.adoptWorker(attempt.worker)
    return new AttemptProxy(attempt, unitProxy, workerProxy)
  }

  /** @internal The cached spec of this name. */
  cachedSpec(name: string): WorkSpecProxy | undefined {
    return this.#specs.get(name)
  }

  /** @internal The cached specs. */
  cachedSpecs(): IterableIterator<WorkSpecProxy> {
    return this.#specs.values()
  }

  /** @internal The spec proxy notifications reach for this name, even if this namespace proxy was dropped. */
  liveSpec(name: string): WorkSpecProxy | undefined {
    return this.#live()?.cachedSpec(name)
  }

  // The proxy that holds this namespace's snapshots: this one, or once the LRU dropped it (and
  // its specs with it), the one filed for the name since, if any.
  #live(): NamespaceProxy | undefined {
    return this.#detached ? this.#ctx.namespaces.peek(this.name) : this
  }

  /** @internal Looks a spec up by name, checking this namespace's handle once if it is not found. */
  async resolveSpecHandle(name: string): Promise<WorkSpec> {
    const held = this.#slot.current
    try {
      return await this.#slot.call((ns) => ns.workSpec(name))
    } catch (error) {
      // A handle looked up just now is current; one held from before may be a deleted row's.
      if (!(error instanceof NoSuchWorkSpecError) || held === undefined) throw error
      this.#slot.reset()
      return this.#slot.call((ns) => ns.workSpec(name))
    }
  }

  /** @internal Gets or creates the worker by name. */
  resolveWorkerHandle(name: string): Promise<Worker> {
    return this.#slot.call((ns) => ns.worker(name))
  }

  /** @internal The namespace may have been deleted or re-created: drop every snapshot and handle under it. */
  staleRow(): void {
    this.#slot.reset()
    for (const spec of this.#specs.values()) spec.staleRow()
    for (const worker of this.#workers.values()) worker.resetHandle()
  }

  /** @internal Handles only: after a lost-notification resync every name is looked up again. */
  resetHandles(): void {
    this.#slot.reset()
    for (const spec of this.#specs.values()) spec.resetHandle()
    for (const worker of this.#workers.values()) worker.resetHandle()
  }

  /** @internal Every unit snapshot in the namespace may be stale, in whichever proxy holds them. */
  invalidateAllUnits(): void {
    const live = this.#live()
    if (live !== undefined) for (const spec of live.cachedSpecs()) spec.invalidateUnits()
  }

  /** @internal Write-through after a claim: the claimed units, and what a claim may do besides. */
  claimed(request: AttemptRequest, attempts: readonly AttemptProxy[]): void {
    const specs = new Set<WorkSpecProxy>()
    for (const attempt of attempts) {
      attempt.workUnit.wrote()
      specs.add(attempt.workUnit.workSpec)
    }
    for (const spec of specs) spec.claimed()
    const wanted = typeof request?.numberOfWorkUnits === 'number' ? request.numberOfWorkUnits : 1
    if (attempts.length >= wanted) return
    const only = Array.isArray(request?.workSpecs) && request.workSpecs.length > 0 ? new Set(request.workSpecs) : undefined
    for (const spec of this.#specs.values()) if (only === undefined || only.has(spec.name)) spec.claimedShort()
  }

  /** @internal Called when the LRU drops one of this namespace's specs. */
  specDetached(spec: WorkSpecProxy): void {
    if (this.#specs.get(spec.name) === spec) this.#specs.delete(spec.name)
  }

  /** @internal Called when the LRU drops one of this namespace's workers. */
  workerDetached(worker: WorkerProxy): void {
    if (this.#workers.get(worker.name) === worker) this.#workers.delete(worker.name)
  }

  /** @internal Called by the LRU: detach, taking specs (with their units) and workers along. */
  detach(): void {
    this.#detached = true
    for (const spec of [...this.#specs.values()]) this.#ctx.specs.delete(spec)
    for (const worker of [...this.#workers.values()]) this.#ctx.workers.delete(worker)
    this.#specs.clear()
    this.#workers.clear()
  }
}
