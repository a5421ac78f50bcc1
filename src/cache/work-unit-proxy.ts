import type { Attempt, VersionGuard, WorkUnit, WorkUnitMeta } from '../coordinate/api.js'
import { type DataDict, workUnitKeyName } from '../coordinate/data.js'
import { GoneError, NoSuchWorkSpecError } from '../coordinate/errors.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { type WorkUnitSnapshot, snapshotData, snapshotStatus } from '../coordinate/work-unit-snapshot.js'
import type { AttemptProxy } from './attempt-proxy.js'
import { backoffDelay } from '../coordinate/backoff.js'
import { type UpdateFn, casUpdate } from './cas-update.js'
import type { CacheContext } from './cache-context.js'
import { copyData } from './data-copy.js'
import { HandleSlot } from './handle-slot.js'
import { UNIT_READ } from './metrics.js'
import type { ReadOptions } from './options.js'
import { type FetchTicket, SnapshotSlot } from './snapshot-slot.js'
import type { WorkSpecProxy } from './work-spec-proxy.js'
import { validateDataDict } from '../coordinate/validation.js'
import { validateVersionGuard, validateWorkUnitMeta } from '../coordinate/request-validation.js'

export type { UpdateFn } from './cas-update.js'

/** The first wait after a failed refresh of a unit; it doubles per failure up to maxBackoffMs. */
const BACKOFF_BASE_MS = 1_000

/**
 * A work unit identified by (namespace, spec, key), not by a row. Its status, data, meta and
 * snapshot are answered from a cached snapshot while that is current (see SnapshotSlot for
 * what "current" means), deriving time-driven status from the snapshot and the clock at each
 * read. Every write through it, or through an attempt on it, invalidates or replaces the
 * snapshot once the write commits, so this process always reads its own writes.
 *
 * A proxy the LRU dropped is detached: it keeps working by name, but reads go to the database.
 */
export class WorkUnitProxy implements WorkUnit {
  readonly name: string
  readonly key: Uint8Array
  readonly workSpec: WorkSpecProxy
  readonly #ctx: CacheContext
  readonly #canonical: string
  readonly #slot: HandleSlot<WorkUnit>
  readonly #snapshot = new SnapshotSlot<WorkUnitSnapshot>()
  #loading: Promise<WorkUnitSnapshot> | undefined
  #detached: boolean
  #forgotten = false
  // A refresh found no such row: the loop leaves it alone until something says otherwise.
  #missingGeneration = -1
  #missingScope = -1
  #inFlightSince: number | undefined
  #failures = 0
  #eligibleAt = 0

  /** @internal Made by WorkSpecProxy only. */
  constructor(ctx: CacheContext, spec: WorkSpecProxy, key: Uint8Array, canonical: string, handle: WorkUnit | undefined, detached: boolean) {
    this.#ctx = ctx
    this.workSpec = spec
    this.key = key
    this.name = workUnitKeyName(key)
    this.#canonical = canonical
    this.#detached = detached
    this.#slot = new HandleSlot(() => spec.resolveUnitHandle(key), ctx.clock, ctx.handleMaxAgeMs, handle)
  }

  /** The status at the clock's now, derived from the snapshot (exact for leases and delays). */
  async status(options?: ReadOptions): Promise<WorkUnitStatus> {
    const now = this.#ctx.now()
    const snapshot = options?.fresh === true ? await this.#fetch() : (this.#hit(now) ?? (await this.#load()))
    return timelessStatus(snapshot) ?? snapshotStatus(snapshot, new Date(now))
  }

  /** The effective data (the active attempt's if it has any and its lease holds), as a copy. */
  async data(options?: ReadOptions): Promise<DataDict> {
    const snapshot = await this.#read(options)
    return copyData(snapshotData(snapshot, this.#ctx.clock.now()))
  }

  /** Priority and not-before. */
  async meta(options?: ReadOptions): Promise<WorkUnitMeta> {
    const snapshot = await this.#read(options)
    return { priority: snapshot.priority, notBefore: copyDate(snapshot.notBefore) }
  }

  /** Everything about the unit, as a copy of the cached snapshot. */
  async snapshot(options?: ReadOptions): Promise<WorkUnitSnapshot> {
    const s = await this.#read(options)
    return {
      ...s,
      key: s.key.slice(),
      leaseExpires: copyDate(s.leaseExpires),
      notBefore: copyDate(s.notBefore),
      unitData: copyData(s.unitData),
      attemptData: s.attemptData === null ? null : copyData(s.attemptData),
    }
  }

  /** Replaces the unit's own data; the cached snapshot becomes exactly the new row. */
  async setData(data: DataDict, guard?: VersionGuard): Promise<number> {
    validateDataDict(data)
    validateVersionGuard(guard)
    const version = await this.#slot.call((unit) => unit.setData(data, guard))
    this.#wroteData(data, version)
    return version
  }

  /**
   * Read-modify-write of the unit's own data: `fn` gets a copy of the data and returns the new
   * data. The first try is a lock-free compare-and-swap from the cached snapshot; after a
   * conflict, the Postgres backend runs fn again with the row locked, so every update lands
   * (see casUpdate). ConflictError only past `updateDeadlineMs`. Calls on one unit in this
   * process run one at a time. A failed update leaves the cached snapshot as it was. `fn` may
   * run more than once and, on the locked path, while other writers of the row wait: keep it
   * quick, and do not write this unit from inside it. Returns the data written.
   */
  update(fn: UpdateFn): Promise<DataDict> {
    const ctx = this.#ctx
    ctx.checkOpen()
    return ctx.mutex.run(this.#mutexKey(), () =>
      casUpdate(ctx, {
        what: `work unit ${JSON.stringify(this.name)}`,
        cached: () => unitDataOf(this.#hit(ctx.now())),
        fetch: async () => unitDataOf(await this.#fetch())!,
        write: (data, ifVersion) => this.#slot.call((unit) => unit.setData(data, { ifVersion })),
        withHandle: (op) => this.#slot.call(op),
        wrote: (data, version) => this.#wroteData(data, version),
        stale: () => this.invalidate(),
      }, fn),
    )
  }

  /** Changes priority and/or not-before. */
  async setMeta(meta: Partial<WorkUnitMeta>): Promise<void> {
    validateWorkUnitMeta(meta)
    await this.#slot.call((unit) => unit.setMeta(meta))
    this.wrote()
  }

  /** The attempt that decides the status, or null (not cached). */
  async activeAttempt(): Promise<AttemptProxy | null> {
    const attempt = await this.#slot.call((unit) => unit.activeAttempt())
    return attempt === null ? null : this.workSpec.namespace.wrapAttempt(attempt, this)
  }

  /** Makes the unit available again. */
  async clearActiveAttempt(): Promise<void> {
    await this.#slot.call((unit) => unit.clearActiveAttempt())
    this.wrote()
  }

  /** Every attempt on this unit, oldest first (not cached). */
  async attempts(): Promise<AttemptProxy[]> {
    const attempts = await this.#slot.call((unit) => unit.attempts())
    return attempts.map((attempt: Attempt) => this.workSpec.namespace.wrapAttempt(attempt, this))
  }

  /** How many attempts this unit has had (not cached). */
  numAttempts(): Promise<number> {
    return this.#slot.call((unit) => unit.numAttempts())
  }

  // ---- used by the other proxies and the refresh loop ----

  /** @internal The key the spec files this unit under. */
  get canonicalKey(): string {
    return this.#canonical
  }

  /** @internal True once the LRU dropped this proxy. */
  get detached(): boolean {
    return this.#detached
  }

  /**
   * @internal True if the unit is known to exist: a snapshot of this generation and scope is
   * held. Its age is not checked here (that would cost a clock read per lookup); the read that
   * follows a lookup checks it.
   */
  known(): boolean {
    if (this.#detached) return false
    return this.#snapshot.valid(this.#ctx.generation, this.workSpec.unitEpoch, Number.NEGATIVE_INFINITY) !== undefined
  }

  /** @internal Reads the unit into the snapshot (a lookup's miss); GoneError if there is none. */
  async load(): Promise<void> {
    await this.#fetch()
  }

  /** @internal Runs `op` on the backend handle, following a re-created unit once on GoneError. */
  withHandle<R>(op: (unit: WorkUnit) => Promise<R>): Promise<R> {
    return this.#slot.call(op)
  }

  /** @internal Takes a handle the backend just returned for this name. */
  adopt(handle: WorkUnit): void {
    this.#slot.set(handle)
  }

  /** @internal The name was handed out again: a pending forget() no longer applies. */
  handedOut(): void {
    if (this.#forgotten) {
      this.#forgotten = false
      this.#ctx.forgotten.delete(this)
    }
  }

  /** @internal Marks the unit to be dropped at the next cycle (a delayed delete). */
  forget(): void {
    if (this.#detached) return
    this.#forgotten = true
    this.#ctx.forgotten.add(this)
  }

  /** @internal Whether a forget() is still pending. */
  get forgotten(): boolean {
    return this.#forgotten
  }

  /** @internal Drops the snapshot: a write or a notification made it stale. */
  invalidate(): void {
    this.#snapshot.invalidate()
    this.#loading = undefined
    this.#missingGeneration = -1
  }

  /** @internal A write through this cache changed the row: drop what this and any live proxy of the name hold. */
  wrote(): void {
    this.invalidate()
    if (this.#detached) this.workSpec.namespace.liveSpec(this.workSpec.name)?.invalidateKey(this.#canonical)
    else this.workSpec.keyWritten()
  }

  /** @internal The row may be another incarnation now: look the name up again before the next call. */
  resetHandle(): void {
    this.#slot.reset()
  }

  /** @internal Called by the LRU: stop serving snapshots and leave the refresh loop. */
  detach(): void {
    this.#detached = true
    this.invalidate()
    this.clearInFlight()
    this.handedOut()
    this.workSpec.unitDetached(this)
  }

  /** @internal Whether the refresh loop should read this unit in a cycle at `now`. */
  refreshCandidate(now: number, inFlightLimitMs: number): boolean {
    if (this.#detached) return false
    if (this.#inFlightSince !== undefined && now - this.#inFlightSince < inFlightLimitMs) return false
    if (this.#eligibleAt > now) return false
    const ctx = this.#ctx
    const scope = this.workSpec.unitEpoch
    if (this.#missingGeneration === ctx.generation && this.#missingScope === scope) return false
    // Terminal units leave the fast loop; notifications and the snapshot age still apply to them.
    const snapshot = this.#snapshot.valid(ctx.generation, scope, Number.NEGATIVE_INFINITY)
    return snapshot === undefined || (snapshot.state !== 'finished' && snapshot.state !== 'failed')
  }

  /** @internal Marks the unit in flight and records what the batch read starts from. */
  beginRefresh(now: number): FetchTicket {
    if (this.#inFlightSince === undefined) this.#ctx.inFlight++
    this.#inFlightSince = now
    return this.#ticket()
  }

  /** @internal Applies a batch result (undefined: the batch found no such unit). */
  endRefresh(ticket: FetchTicket, found: WorkUnitSnapshot | undefined, completedSeq: number): void {
    this.#failures = 0
    this.#eligibleAt = 0
    if (found === undefined) this.#markMissing(ticket)
    else this.#apply(ticket, found, completedSeq)
  }

  /** @internal The batch failed: back off, exponentially with jitter. */
  refreshFailed(now: number): void {
    this.#failures++
    this.#eligibleAt = now + backoffDelay(this.#failures, BACKOFF_BASE_MS, this.#ctx.options.maxBackoffMs)
  }

  /** @internal The batch is over, one way or another. */
  clearInFlight(): void {
    if (this.#inFlightSince === undefined) return
    this.#inFlightSince = undefined
    this.#ctx.inFlight--
  }

  /** @internal Applies a snapshot read elsewhere (workUnitSnapshots) under a ticket taken before it. */
  applyRead(ticket: FetchTicket, snapshot: WorkUnitSnapshot, completedSeq: number): void {
    this.#apply(ticket, snapshot, completedSeq)
  }

  /** @internal A ticket for a read that starts now. */
  ticket(): FetchTicket {
    return this.#ticket()
  }

  /** @internal When the snapshot held was stored (clock ms), if it is still of this generation and scope. */
  snapshotStoredAt(): number | undefined {
    const ctx = this.#ctx
    return this.#snapshot.valid(ctx.generation, this.workSpec.unitEpoch, Number.NEGATIVE_INFINITY) === undefined
      ? undefined
      : this.#snapshot.storedAt
  }

  // ---- internals ----

  #read(options: ReadOptions | undefined): Promise<WorkUnitSnapshot> | WorkUnitSnapshot {
    if (options?.fresh === true) return this.#fetch()
    return this.#hit(this.#ctx.now()) ?? this.#load()
  }

  #hit(now: number): WorkUnitSnapshot | undefined {
    const ctx = this.#ctx
    ctx.checkOpen()
    if (this.#detached) return undefined
    const snapshot = this.#snapshot.valid(ctx.generation, this.workSpec.unitEpoch, ctx.oldestServable(now))
    if (snapshot === undefined) return undefined
    ctx.metrics.hit(UNIT_READ)
    ctx.units.get(this)
    return snapshot
  }

  // One database read at a time per unit; readers that come after a write start their own.
  #load(): Promise<WorkUnitSnapshot> {
    this.#ctx.metrics.miss(UNIT_READ)
    if (this.#loading !== undefined) return this.#loading
    const loading: Promise<WorkUnitSnapshot> = this.#fetch().finally(() => {
      if (this.#loading === loading) this.#loading = undefined
    })
    this.#loading = loading
    return loading
  }

  // By name through the spec, so a unit re-created under its name is simply read.
  async #fetch(): Promise<WorkUnitSnapshot> {
    const ctx = this.#ctx
    ctx.checkOpen()
    const ticket = this.#ticket()
    let found: WorkUnitSnapshot | undefined
    try {
      ;[found] = await this.workSpec.fetchUnitSnapshots([this.key])
    } catch (error) {
      if (error instanceof NoSuchWorkSpecError) throw new GoneError('Work unit')
      throw error
    }
    if (found === undefined) {
      this.#markMissing(ticket)
      throw new GoneError('Work unit')
    }
    this.#apply(ticket, found, ctx.nextSeq())
    return found
  }

  #ticket(): FetchTicket {
    const ctx = this.#ctx
    return this.#snapshot.ticket(ctx.nextSeq(), ctx.generation, this.workSpec.unitEpoch)
  }

  #apply(ticket: FetchTicket, snapshot: WorkUnitSnapshot, completedSeq: number): void {
    if (this.#detached) return
    const ctx = this.#ctx
    if (this.#snapshot.apply(ticket, snapshot, completedSeq, ctx.generation, this.workSpec.unitEpoch, ctx.now())) {
      this.#missingGeneration = -1
    }
  }

  #markMissing(ticket: FetchTicket): void {
    const ctx = this.#ctx
    const scope = this.workSpec.unitEpoch
    if (this.#detached || !this.#snapshot.stillCurrent(ticket, ctx.generation, scope)) return
    this.#snapshot.invalidate()
    this.#missingGeneration = ctx.generation
    this.#missingScope = scope
    // Whatever row the handle pointed at is gone; a re-added unit is another row.
    this.#slot.reset()
  }

  // After setData: if the snapshot was the row just before this write, the new row is that
  // snapshot with the new data and version; otherwise something else happened too, so drop it.
  #wroteData(data: DataDict, version: number): void {
    const ctx = this.#ctx
    const scope = this.workSpec.unitEpoch
    const current = this.#detached ? undefined : this.#snapshot.valid(ctx.generation, scope, Number.NEGATIVE_INFINITY)
    if (current === undefined || current.version !== version - 1) {
      this.wrote()
      return
    }
    this.#snapshot.replace({ ...current, unitData: copyData(data), version }, ctx.nextSeq(), ctx.generation, scope, ctx.now())
    this.#loading = undefined
    this.#missingGeneration = -1
  }

  #mutexKey(): string {
    return JSON.stringify(['unit', this.workSpec.namespace.name, this.workSpec.name, this.#canonical])
  }
}

/**
 * The status when it cannot depend on the time (finished, failed, or available with no delay),
 * else undefined and snapshotStatus decides with the clock. Only saves making a Date per read.
 */
function timelessStatus(snapshot: WorkUnitSnapshot): WorkUnitStatus | undefined {
  const { state } = snapshot
  if (state === 'finished' || state === 'failed') return state
  if (state === 'available' && snapshot.notBefore === null) return 'available'
  return undefined
}

function copyDate(date: Date | null): Date | null {
  return date === null ? null : new Date(date.getTime())
}

function unitDataOf(snapshot: WorkUnitSnapshot | undefined): { data: DataDict; version: number } | undefined {
  return snapshot === undefined ? undefined : { data: snapshot.unitData, version: snapshot.version }
}
