import type { Attempt, AttemptRequest, VersionGuard, WorkUnit, Worker, WorkerUpdate } from '../coordinate/api.js'
import { VersionConflictError } from '../coordinate/errors.js'
import type { DataDict } from '../coordinate/data.js'
import type { AttemptProxy } from './attempt-proxy.js'
import type { CacheContext } from './cache-context.js'
import { HandleSlot } from './handle-slot.js'
import type { NamespaceProxy } from './namespace-proxy.js'
import { WorkUnitProxy } from './work-unit-proxy.js'
import { validateLeaseMs } from '../coordinate/validation.js'
import { validateAttemptRequest, validateVersionGuard, validateWorkerUpdate } from '../coordinate/request-validation.js'

/**
 * A worker identified by (namespace, name). Its own fields are not cached (they are written by
 * every heartbeat); what it adds is name identity, wrapped attempts whose transitions keep the
 * unit snapshots current, and write-through after claims.
 */
export class WorkerProxy implements Worker {
  readonly name: string
  readonly namespace: NamespaceProxy
  readonly #slot: HandleSlot<Worker>
  #detached: boolean

  /** @internal Made by NamespaceProxy only. */
  constructor(ctx: CacheContext, namespace: NamespaceProxy, name: string, handle: Worker | undefined, detached: boolean) {
    this.namespace = namespace
    this.name = name
    this.#detached = detached
    this.#slot = new HandleSlot(() => namespace.resolveWorkerHandle(name), ctx.clock, ctx.handleMaxAgeMs, handle)
  }

  /** The parent worker's proxy, or null. */
  async parent(): Promise<WorkerProxy | null> {
    const parent = await this.#slot.call((worker) => worker.parent())
    return parent === null ? null : this.namespace.adoptWorker(parent)
  }

  /** Sets or clears the parent (a proxy is unwrapped to its backend handle). */
  async setParent(parent: Worker | null): Promise<void> {
    if (parent instanceof WorkerProxy) {
      await this.#slot.call((worker) => parent.withHandle((handle) => worker.setParent(handle)))
    } else {
      await this.#slot.call((worker) => worker.setParent(parent))
    }
  }

  /** The children's proxies. */
  async children(): Promise<WorkerProxy[]> {
    const children = await this.#slot.call((worker) => worker.children())
    return children.map((child) => this.namespace.adoptWorker(child))
  }

  /** Whether the worker is active (not cached). */
  active(): Promise<boolean> {
    return this.#slot.call((worker) => worker.active())
  }

  /** Marks the worker inactive. */
  deactivate(): Promise<void> {
    return this.#slot.call((worker) => worker.deactivate())
  }

  /** The mode of the last update (not cached). */
  mode(): Promise<string> {
    return this.#slot.call((worker) => worker.mode())
  }

  /** The data of the last update (not cached). */
  data(): Promise<DataDict> {
    return this.#slot.call((worker) => worker.data())
  }

  /** When the worker should be considered gone (not cached). */
  expiration(): Promise<Date> {
    return this.#slot.call((worker) => worker.expiration())
  }

  /** When the worker last reported (not cached). */
  lastUpdate(): Promise<Date> {
    return this.#slot.call((worker) => worker.lastUpdate())
  }

  /** Records a heartbeat. */
  async update(update: WorkerUpdate): Promise<void> {
    validateWorkerUpdate(update)
    return this.#slot.call((worker) => worker.update(update))
  }

  /** Claims work; the claimed units' snapshots are invalidated (one mark each, no re-read). */
  async requestAttempts(request?: AttemptRequest): Promise<AttemptProxy[]> {
    validateAttemptRequest(request)
    const attempts = await this.#slot.call((worker) => worker.requestAttempts(request))
    const wrapped = attempts.map((attempt) => this.namespace.wrapAttempt(attempt, undefined, this))
    this.namespace.claimed(request ?? {}, wrapped)
    return wrapped
  }

  /** Starts an attempt on a unit whatever its state, or guarded (a unit proxy is unwrapped to its handle). */
  async makeAttempt(unit: WorkUnit, lifetimeMs?: number, guard?: VersionGuard): Promise<AttemptProxy> {
    if (lifetimeMs !== undefined) validateLeaseMs(lifetimeMs, 'makeAttempt lifetimeMs')
    validateVersionGuard(guard)
    let attempt: Attempt
    if (unit instanceof WorkUnitProxy) {
      try {
        attempt = await this.#slot.call((worker) => unit.withHandle((handle) => worker.makeAttempt(handle, lifetimeMs, guard)))
      } catch (error) {
        // A refused guard proves the cached snapshot old: the caller's next read must be fresh.
        if (error instanceof VersionConflictError) unit.invalidate()
        throw error
      }
    } else {
      attempt = await this.#slot.call((worker) => worker.makeAttempt(unit, lifetimeMs, guard))
    }
    const own = unit instanceof WorkUnitProxy && unit.workSpec.namespace === this.namespace ? unit : undefined
    const wrapped = this.namespace.wrapAttempt(attempt, own, this)
    wrapped.workUnit.wrote()
    return wrapped
  }

  /** Attempts this worker holds a lease on. */
  async activeAttempts(): Promise<AttemptProxy[]> {
    return this.#wrap(await this.#slot.call((worker) => worker.activeAttempts()))
  }

  /** Every attempt this worker made. */
  async allAttempts(): Promise<AttemptProxy[]> {
    return this.#wrap(await this.#slot.call((worker) => worker.allAttempts()))
  }

  /** Active attempts of this worker's children. */
  async childAttempts(): Promise<AttemptProxy[]> {
    const attempts = await this.#slot.call((worker) => worker.childAttempts())
    return attempts.map((attempt) => this.namespace.wrapAttempt(attempt))
  }

  // ---- used by the namespace ----

  /** @internal True if a lookup by name can be answered without asking the database. */
  get handleCurrent(): boolean {
    return this.#slot.current !== undefined
  }

  /** @internal True once the LRU dropped this proxy. */
  get detached(): boolean {
    return this.#detached
  }

  /** @internal Runs `op` on the backend handle (re-created by name once on GoneError). */
  withHandle<R>(op: (worker: Worker) => Promise<R>): Promise<R> {
    return this.#slot.call(op)
  }

  /** @internal Takes a handle the backend returned for this name. */
  adopt(handle: Worker): void {
    this.#slot.set(handle)
  }

  /** @internal The next call looks the name up again. */
  resetHandle(): void {
    this.#slot.reset()
  }

  /** @internal Called by the LRU. */
  detach(): void {
    this.#detached = true
    this.namespace.workerDetached(this)
  }

  #wrap(attempts: Attempt[]): AttemptProxy[] {
    return attempts.map((attempt) => this.namespace.wrapAttempt(attempt, undefined, this))
  }
}
