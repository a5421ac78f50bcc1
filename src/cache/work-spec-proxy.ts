import type { AddWorkUnitItem, SummaryRecord, VersionGuard, WorkSpec, WorkUnit, WorkUnitMeta, WorkUnitQuery } from '../coordinate/api.js'
import { type DataDict, type WorkUnitKey, workUnitKeyName } from '../coordinate/data.js'
import { GoneError, NoSuchWorkSpecError, NoSuchWorkUnitError } from '../coordinate/errors.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import type { WorkSpecMeta, WorkSpecMetaUpdate } from '../coordinate/work-spec-meta.js'
import type { WorkSpecSnapshot, WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import type { CacheContext } from './cache-context.js'
import { copyData } from './data-copy.js'
import { HandleSlot } from './handle-slot.js'
import { SPEC_READ, UNIT_LOOKUP } from './metrics.js'
import type { NamespaceProxy } from './namespace-proxy.js'
import type { ReadOptions } from './options.js'
import { type FetchTicket, SnapshotSlot } from './snapshot-slot.js'
import { canonicalKey, canonicalKeyBytes } from './unit-key.js'
import { singleFlight } from './single-flight.js'
import { WorkUnitProxy } from './work-unit-proxy.js'
import { type UpdateFn, casUpdate } from './cas-update.js'
import { invalidateBulkWrite } from './bulk-invalidation.js'
import { validateWorkUnitKey, validateWorkUnitKeys } from '../coordinate/validation.js'
import {
  validateMetaOptions,
  validatePriorityChange,
  validateVersionGuard,
  validateWorkSpecData,
  validateWorkSpecMetaUpdate,
  validateWorkUnitItem,
  validateWorkUnitItems,
  validateWorkUnitQuery,
} from '../coordinate/request-validation.js'

/** Read options of a spec's meta. */
export interface SpecMetaOptions extends ReadOptions {
  /** Count available and pending units (always read from the database). */
  withCounts?: boolean
}

/**
 * A work spec identified by (namespace, name). Its data and meta (without counts) come from a
 * cached snapshot; it hands out one WorkUnitProxy per key while that is cached. Bulk writes
 * through it invalidate the units they name, or all of its units at once through `unitEpoch`,
 * which every unit snapshot is stamped with.
 */
export class WorkSpecProxy implements WorkSpec {
  readonly name: string
  readonly namespace: NamespaceProxy
  readonly #ctx: CacheContext
  readonly #slot: HandleSlot<WorkSpec>
  readonly #snapshot = new SnapshotSlot<WorkSpecSnapshot>()
  readonly #units = new Map<string, WorkUnitProxy>()
  readonly #lookups = new Map<string, Promise<WorkUnitProxy>>()
  #loading: Promise<WorkSpecSnapshot> | undefined
  #unitEpoch = 0
  // Counts key-level invalidations, so a lookup can tell one happened while it read.
  #keyChanges = 0
  #detached: boolean

  /** @internal Made by NamespaceProxy only. */
  constructor(ctx: CacheContext, namespace: NamespaceProxy, name: string, handle: WorkSpec | undefined, detached: boolean) {
    this.#ctx = ctx
    this.namespace = namespace
    this.name = name
    this.#detached = detached
    this.#slot = new HandleSlot(() => namespace.resolveSpecHandle(name), ctx.clock, ctx.handleMaxAgeMs, handle)
  }

  /** The definition dict (a copy of the cached one). */
  async data(options?: ReadOptions): Promise<DataDict> {
    return copyData((await this.#read(options)).data)
  }

  /** Replaces the definition; the cached snapshot is dropped once the write commits. */
  async setData(data: DataDict, guard?: VersionGuard): Promise<number> {
    validateVersionGuard(guard)
    validateWorkSpecData(data)
    const version = await this.#slot.call((spec) => spec.setData(data, guard))
    this.wrote()
    return version
  }

  /** Definition, meta and version (a copy of the cached snapshot). */
  async snapshot(options?: ReadOptions): Promise<WorkSpecSnapshot> {
    const s = await this.#read(options)
    return { data: copyData(s.data), meta: copyMeta(s.meta), version: s.version }
  }

  /** The meta; counts are live, so `withCounts` always reads the database. */
  async meta(options?: SpecMetaOptions): Promise<WorkSpecMeta> {
    validateMetaOptions(options)
    if (options?.withCounts === true) return this.#slot.call((spec) => spec.meta({ withCounts: true }))
    return copyMeta((await this.#read(options)).meta)
  }

  /** Changes the settable meta fields. */
  async setMeta(meta: WorkSpecMetaUpdate): Promise<void> {
    validateWorkSpecMetaUpdate(meta)
    await this.#slot.call((spec) => spec.setMeta(meta))
    this.wrote()
  }

  /**
   * Read-modify-write of the definition dict against the spec's version, as WorkUnitProxy's
   * update(): lock-free first, queued on the row lock after a conflict, ConflictError past the
   * deadline, the cache untouched on failure.
   */
  update(fn: UpdateFn): Promise<DataDict> {
    const ctx = this.#ctx
    ctx.checkOpen()
    return ctx.mutex.run(JSON.stringify(['spec', this.namespace.name, this.name]), () =>
      casUpdate(ctx, {
        what: `work spec ${JSON.stringify(this.name)}`,
        cached: () => this.#hit(ctx.now()),
        fetch: () => this.#fetch(),
        write: (data, ifVersion) => this.#slot.call((spec) => spec.setData(data, { ifVersion })),
        withHandle: (op) => this.#slot.call(op),
        wrote: () => this.wrote(),
        stale: () => this.invalidateSnapshot(),
      }, fn),
    )
  }

  /** Adds or updates a unit and returns its proxy (the same one for the same key). */
  async addWorkUnit(key: WorkUnitKey, data?: DataDict, meta?: Partial<WorkUnitMeta>): Promise<WorkUnitProxy> {
    validateWorkUnitItem({ key, data, meta })
    const handle = await this.#slot.call((spec) => spec.addWorkUnit(key, data, meta))
    const unit = this.adoptUnit(handle)
    unit.wrote()
    return unit
  }

  /** Adds or updates many units; the cached ones among them are invalidated. */
  async addWorkUnits(items: readonly AddWorkUnitItem[]): Promise<number> {
    // Only the list here: the backend checks each item as it encodes it, and walking every
    // unit's data twice would double the cost of a bulk add.
    validateWorkUnitItems(items)
    try {
      return await this.#slot.call((spec) => spec.addWorkUnits(items))
    } finally {
      const keys = Array.isArray(items) ? items.map((item: AddWorkUnitItem | null) => (item === null || typeof item !== 'object' ? undefined : item.key)) : undefined
      invalidateBulkWrite(this, keys, true)
    }
  }

  /**
   * The unit with this key. Answered from the cache while its snapshot is current; otherwise one
   * query reads the unit's snapshot, which both proves it exists and serves the reads after.
   */
  async workUnit(key: WorkUnitKey): Promise<WorkUnitProxy> {
    const ctx = this.#ctx
    ctx.checkOpen()
    validateWorkUnitKey(key)
    const canonical = canonicalKey(key)
    if (canonical === undefined) return this.adoptUnit(await this.#slot.call((spec) => spec.workUnit(key)))
    const cached = this.#units.get(canonical)
    if (cached !== undefined && cached.known()) {
      ctx.metrics.hit(UNIT_LOOKUP)
      ctx.specs.get(this)
      ctx.units.get(cached)
      cached.handedOut()
      return cached
    }
    ctx.metrics.miss(UNIT_LOOKUP)
    return singleFlight(this.#lookups, canonical, () => this.#lookUp(canonical))
  }

  /** The units the query selects, as proxies (their snapshots are read when first needed). */
  async workUnits(query?: WorkUnitQuery): Promise<WorkUnitProxy[]> {
    validateWorkUnitQuery(query)
    const units = await this.#slot.call((spec) => spec.workUnits(query))
    return units.map((unit) => this.adoptUnit(unit))
  }

  /** Snapshots of these units in one query; the cached units among them take the results. */
  async workUnitSnapshots(keys: readonly WorkUnitKey[]): Promise<WorkUnitSnapshot[]> {
    validateWorkUnitKeys(keys)
    const ctx = this.#ctx
    const tickets = new Map<string, [WorkUnitProxy, FetchTicket]>()
    for (const key of keys) {
      const canonical = canonicalKey(key)
      const unit = canonical === undefined ? undefined : this.#units.get(canonical)
      if (canonical !== undefined && unit !== undefined) tickets.set(canonical, [unit, unit.ticket()])
    }
    const snapshots = await this.#slot.call((spec) => spec.workUnitSnapshots(keys))
    const completed = ctx.nextSeq()
    for (const snapshot of snapshots) {
      const entry = tickets.get(canonicalKey(snapshot.key) ?? '')
      if (entry !== undefined) entry[0].applyRead(entry[1], snapshot, completed)
    }
    return snapshots
  }

  /** Units per status (always read from the database). */
  countWorkUnitStatus(): Promise<Partial<Record<WorkUnitStatus, number>>> {
    return this.#slot.call((spec) => spec.countWorkUnitStatus())
  }

  /** Sets the priority of the selected units; the cached ones are invalidated. */
  async setWorkUnitPriorities(query: WorkUnitQuery, priority: number): Promise<number> {
    query = validatePriorityChange(query, priority, 'a work unit priority')
    return this.#bulk(query, (spec) => spec.setWorkUnitPriorities(query, priority))
  }

  /** Adds `delta` to the priority of the selected units; the cached ones are invalidated. */
  async adjustWorkUnitPriorities(query: WorkUnitQuery, delta: number): Promise<number> {
    query = validatePriorityChange(query, delta, 'a priority adjustment')
    return this.#bulk(query, (spec) => spec.adjustWorkUnitPriorities(query, delta))
  }

  /** Deletes the selected units; their proxies read GoneError until the names come back. */
  async deleteWorkUnits(query?: WorkUnitQuery): Promise<number> {
    validateWorkUnitQuery(query)
    return this.#bulk(query ?? {}, (spec) => spec.deleteWorkUnits(query))
  }

  /** Unit counts for this spec (always read from the database). */
  summarize(): Promise<SummaryRecord[]> {
    return this.#slot.call((spec) => spec.summarize())
  }

  /**
   * Stops tracking the unit with this key at the next refresh cycle,
   * unless the key is handed out again before then (added, looked up, claimed): a name re-added
   * meanwhile is kept.
   */
  forget(key: WorkUnitKey): void {
    const canonical = canonicalKey(key)
    if (canonical !== undefined) this.#units.get(canonical)?.forget()
  }

  // ---- used by the other proxies, the router and the refresh loop ----

  /** @internal Bumped to invalidate every unit snapshot of the spec at once. */
  get unitEpoch(): number {
    return this.#unitEpoch
  }

  /** @internal True once the LRU dropped this proxy. */
  get detached(): boolean {
    return this.#detached
  }

  /** @internal True if a lookup by name can be answered without asking the database. */
  get handleCurrent(): boolean {
    return this.#slot.current !== undefined
  }

  /** @internal Every unit of the spec may have changed. */
  invalidateUnits(): void {
    this.#unitEpoch++
  }

  /** @internal The unit with this key changed: drop its snapshot (if cached) and warn lookups in flight. */
  invalidateKey(canonical: string): void {
    this.#keyChanges++
    this.#units.get(canonical)?.invalidate()
  }

  /** @internal A cached unit of this spec was written: lookups in flight must not trust what they read. */
  keyWritten(): void {
    this.#keyChanges++
  }

  /** @internal Drops the spec's snapshot. */
  invalidateSnapshot(): void {
    this.#snapshot.invalidate()
    this.#loading = undefined
  }

  /** @internal A write through this cache changed the spec row. */
  wrote(): void {
    this.invalidateSnapshot()
    if (this.#detached) {
      const live = this.namespace.liveSpec(this.name)
      if (live !== undefined && live !== this) live.invalidateSnapshot()
    }
  }

  /** @internal The spec may have been deleted or re-created: drop its snapshot and every handle under it. */
  staleRow(): void {
    this.#slot.reset()
    this.invalidateSnapshot()
    this.invalidateUnits()
    for (const unit of this.#units.values()) unit.resetHandle()
  }

  /** @internal Forget the handle only (the next call looks the name up again). */
  resetHandle(): void {
    this.#slot.reset()
  }

  /** @internal The cached unit filed under this canonical key. */
  cachedUnit(canonical: string): WorkUnitProxy | undefined {
    return this.#units.get(canonical)
  }

  /** @internal The cached units. */
  cachedUnits(): IterableIterator<WorkUnitProxy> {
    return this.#units.values()
  }

  /** @internal Takes a handle the backend returned for this spec. */
  adopt(handle: WorkSpec): void {
    this.#slot.set(handle)
  }

  /** @internal The proxy for a unit handle the backend returned: the cached one, or a new cached one. */
  adoptUnit(handle: WorkUnit): WorkUnitProxy {
    const ctx = this.#ctx
    const canonical = canonicalKey(handle.key) ?? ''
    let unit = this.#units.get(canonical)
    if (unit === undefined) {
      unit = this.#newUnit(new Uint8Array(handle.key), canonical, handle)
    } else {
      unit.adopt(handle)
      ctx.units.get(unit)
    }
    if (!this.#detached) ctx.specs.get(this)
    unit.handedOut()
    return unit
  }

  /** @internal Looks a unit handle up by key, checking this spec's own handle once if it is not found. */
  async resolveUnitHandle(key: Uint8Array): Promise<WorkUnit> {
    const held = this.#slot.current
    try {
      return await this.#slot.call((spec) => spec.workUnit(key))
    } catch (error) {
      if (!(error instanceof NoSuchWorkUnitError) || held === undefined) throw error
      // A stale spec handle finds nothing either: look the spec up again before believing it.
      this.#slot.reset()
      return this.#slot.call((spec) => spec.workUnit(key))
    }
  }

  /** @internal Reads unit snapshots by key in one query. */
  fetchUnitSnapshots(keys: readonly Uint8Array[]): Promise<WorkUnitSnapshot[]> {
    return this.#slot.call((spec) => spec.workUnitSnapshots(keys))
  }

  /** @internal Called when the LRU drops one of this spec's units. */
  unitDetached(unit: WorkUnitProxy): void {
    if (this.#units.get(unit.canonicalKey) === unit) this.#units.delete(unit.canonicalKey)
  }

  /** @internal Called by the LRU: detach, taking the units along. */
  detach(): void {
    this.#detached = true
    this.invalidateSnapshot()
    for (const unit of [...this.#units.values()]) this.#ctx.units.delete(unit)
    this.#units.clear()
    this.namespace.specDetached(this)
  }

  /**
   * @internal An attempt of this spec finished: if the spec chains (`then`), the units of the
   * next spec may have been added or changed, so they are invalidated.
   */
  async finished(): Promise<void> {
    let next: string
    try {
      next = (await this.#read(undefined)).meta.nextWorkSpecName
    } catch {
      this.namespace.invalidateAllUnits()
      return
    }
    if (next !== '') this.namespace.liveSpec(next)?.invalidateUnits()
  }

  /** @internal Units of this spec were claimed: a continuous spec moved its next_continuous. */
  claimed(): void {
    const known = this.#snapshot.value
    if (known === undefined || known.meta.continuous) this.invalidateSnapshot()
  }

  /**
   * @internal A claim returned fewer units than asked: it may have failed units past
   * max_retries or started a continuous unit without handing it out.
   */
  claimedShort(): void {
    const known = this.#snapshot.value
    if (known === undefined || known.meta.maxRetries > 0) this.invalidateUnits()
    if (known === undefined || known.meta.continuous) this.invalidateSnapshot()
  }

  /** @internal When the snapshot held was stored (clock ms), if it is still of this generation. */
  snapshotStoredAt(): number | undefined {
    return this.#snapshot.valid(this.#ctx.generation, 0, Number.NEGATIVE_INFINITY) === undefined ? undefined : this.#snapshot.storedAt
  }

  // ---- internals ----

  #newUnit(key: Uint8Array, canonical: string, handle: WorkUnit | undefined): WorkUnitProxy {
    const unit = new WorkUnitProxy(this.#ctx, this, key, canonical, handle, this.#detached)
    if (!this.#detached) {
      this.#units.set(canonical, unit)
      this.#ctx.units.set(unit, unit)
    }
    return unit
  }

  async #lookUp(canonical: string): Promise<WorkUnitProxy> {
    const ctx = this.#ctx
    const key = canonicalKeyBytes(canonical)
    const existing = this.#units.get(canonical)
    if (existing !== undefined) {
      try {
        await existing.load()
      } catch (error) {
        if (error instanceof GoneError) throw new NoSuchWorkUnitError(workUnitKeyName(key))
        throw error
      }
      existing.handedOut()
      return existing
    }
    // A new entry is filed only once the unit is known to exist (a failed lookup inserts and
    // evicts nothing). Notifications cannot reach it while the read runs, so the key-change
    // counter tells whether one came for this spec meanwhile.
    const fresh = new WorkUnitProxy(ctx, this, key, canonical, undefined, this.#detached)
    const ticket = fresh.ticket()
    const changes = this.#keyChanges
    let found: WorkUnitSnapshot | undefined
    try {
      ;[found] = await this.fetchUnitSnapshots([key])
    } catch (error) {
      if (error instanceof NoSuchWorkSpecError) throw new NoSuchWorkUnitError(workUnitKeyName(key))
      throw error
    }
    if (found === undefined) throw new NoSuchWorkUnitError(workUnitKeyName(key))
    const raced = this.#units.get(canonical)
    if (raced !== undefined) {
      raced.handedOut()
      return raced
    }
    if (!this.#detached) {
      this.#units.set(canonical, fresh)
      ctx.units.set(fresh, fresh)
      ctx.specs.get(this)
    }
    if (changes === this.#keyChanges) fresh.applyRead(ticket, found, ctx.nextSeq())
    return fresh
  }

  async #bulk(query: WorkUnitQuery, op: (spec: WorkSpec) => Promise<number>): Promise<number> {
    try {
      return await this.#slot.call(op)
    } finally {
      invalidateBulkWrite(this, query?.names, false)
    }
  }

  #read(options: ReadOptions | undefined): Promise<WorkSpecSnapshot> | WorkSpecSnapshot {
    if (options?.fresh === true) return this.#fetch()
    return this.#hit(this.#ctx.now()) ?? this.#load()
  }

  #hit(now: number): WorkSpecSnapshot | undefined {
    const ctx = this.#ctx
    ctx.checkOpen()
    if (this.#detached) return undefined
    const snapshot = this.#snapshot.valid(ctx.generation, 0, ctx.oldestServable(now))
    if (snapshot === undefined) return undefined
    ctx.metrics.hit(SPEC_READ)
    return snapshot
  }

  #load(): Promise<WorkSpecSnapshot> {
    this.#ctx.metrics.miss(SPEC_READ)
    if (this.#loading !== undefined) return this.#loading
    const loading: Promise<WorkSpecSnapshot> = this.#fetch().finally(() => {
      if (this.#loading === loading) this.#loading = undefined
    })
    this.#loading = loading
    return loading
  }

  async #fetch(): Promise<WorkSpecSnapshot> {
    const ctx = this.#ctx
    ctx.checkOpen()
    const ticket = this.#snapshot.ticket(ctx.nextSeq(), ctx.generation, 0)
    const snapshot = await this.#slot.call((spec) => spec.snapshot())
    if (!this.#detached) this.#snapshot.apply(ticket, snapshot, ctx.nextSeq(), ctx.generation, 0, ctx.now())
    return snapshot
  }
}

function copyMeta(meta: WorkSpecMeta): WorkSpecMeta {
  return { ...meta, nextContinuous: meta.nextContinuous === null ? null : new Date(meta.nextContinuous.getTime()) }
}
