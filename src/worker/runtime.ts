import { backoffDelay } from '../coordinate/backoff.js'
import type { Attempt, Coordinate, Worker } from '../coordinate/api.js'
import type { ChangeEvent } from '../coordinate/change-feed.js'
import { type DataDict, workUnitKeyId } from '../coordinate/data.js'
import { snapshotData } from '../coordinate/work-unit-snapshot.js'
import { Completer, type Completion } from './completer.js'
import { LazyAbort } from './lazy-abort.js'
import { LeaseKeeper } from './lease-keeper.js'
import type { TaskContext, TaskUnit, WorkerEvent, WorkerOptions } from './options.js'
import { RUNNING_MODE, STOPPED_MODE, registerWorker, registrationData } from './registration.js'
import { type RunningAttempt, holdsLease } from './running-attempt.js'
import { type WorkerSettings, workerSettings } from './settings.js'
import { Slots } from './slots.js'
import { TaskAbortedError, failureData, taskOutput } from './task-outcome.js'
import { systemTimers } from './timers.js'
import { WakeSignal } from './wake-signal.js'

// Claims after a database error wait from 100 ms, doubling, up to 30 s (with jitter).
const CLAIM_RETRY_BASE_MS = 100
const CLAIM_RETRY_MAX_MS = 30_000
// How long stop() waits for results to be written and attempts given back once handlers are done.
const STOP_WRITE_TIMEOUT_MS = 10_000
// How long start-up waits for the change feed to listen; polling covers a feed that cannot.
const FEED_READY_TIMEOUT_MS = 2_000
// With prefetch, claims in flight at once. With one, short handlers empty the queue before the
// top-up claim returns and wait for it; a second claim, sent as the first one's units drain,
// overlaps the two round trips. Both count against the room while in flight.
const CLAIMS_IN_FLIGHT_WITH_PREFETCH = 2

/** How a stop() call can differ from the runtime's options. */
export interface StopOptions {
  /** Overrides the runtime's gracePeriodMs for this stop. */
  gracePeriodMs?: number
}

/**
 * Claims work units for a set of handlers and runs them: batched claims sized to the free
 * slots, leases renewed while handlers run, results written in batches, idle waits woken by the
 * change feed, and a graceful stop. Made by runWorkers().
 */
export class WorkerRuntime {
  readonly #settings: WorkerSettings
  readonly #worker: Worker
  readonly #held = new Map<string, RunningAttempt>()
  readonly #slots: Slots
  readonly #wake = new WakeSignal()
  readonly #stopClaiming = new AbortController()
  readonly #stopBackground = new AbortController()
  readonly #leases: LeaseKeeper
  readonly #completer: Completer
  #unsubscribe: (() => void) | undefined
  #loops: Promise<unknown> | undefined
  #claiming: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  readonly #settled = new Set<Promise<void>>()

  private constructor(settings: WorkerSettings, worker: Worker) {
    this.#settings = settings
    this.#worker = worker
    this.#slots = new Slots(settings.concurrency, settings.specConcurrency, settings.prefetch)
    const { clock, timers, leaseMs, renewEveryMs } = settings
    this.#leases = new LeaseKeeper({
      clock,
      timers,
      leaseMs,
      renewEveryMs,
      held: () => this.#held.values(),
      leaseLost: (entry, why) => this.#leaseLost(entry, why),
      renewed: (count) => this.#emit({ type: 'renewed', count }),
      databaseError: (during, error) => this.#databaseError(during, error),
    })
    this.#completer = new Completer({
      timers,
      written: (c) => this.#written(c),
      discarded: (c, why) => this.#discard(c.entry, why),
      databaseError: (during, error) => this.#databaseError(during, error),
    })
  }

  /** Registers the worker and starts claiming; see runWorkers(). */
  static async start(coordinate: Coordinate, options: WorkerOptions): Promise<WorkerRuntime> {
    const settings = workerSettings(coordinate, options)
    const namespace = await coordinate.namespace(settings.namespace)
    const worker = await registerWorker(namespace, settings.workerName, settings.parent)
    const runtime = new WorkerRuntime(settings, worker)
    await runtime.#heartbeat(RUNNING_MODE)
    await runtime.#listen()
    runtime.#start()
    return runtime
  }

  /** The registered worker's name. */
  get workerName(): string {
    return this.#worker.name
  }

  /** Handlers running now. */
  get running(): number {
    return this.#slots.running
  }

  /** Renews every held lease now instead of at the next tick; returns how many were renewed. */
  renewLeases(): Promise<number> {
    return this.#leases.renewAll()
  }

  /**
   * Stops claiming, lets running handlers finish for the grace period, then aborts the rest and
   * gives their units back at once; writes the finished results, deactivates the worker.
   * Calling it again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.gracePeriodMs ?? this.#settings.gracePeriodMs)
    return this.#stopping
  }

  // Subscribes to the change feed before the first claim, so work added after that claim
  // wakes the runtime. A feed that can say when it is listening gets a moment to do so.
  async #listen(): Promise<void> {
    const { changes, specs, namespace } = this.#settings
    if (!changes) return
    const wanted = new Set(specs)
    this.#unsubscribe = changes.subscribe((event) => {
      if (concerns(event, namespace, wanted)) this.#wake.notify()
    })
    const ready = (changes as { ready?: () => Promise<void> }).ready
    if (typeof ready !== 'function') return
    const timeout = new AbortController()
    await Promise.race([ready.call(changes).catch(() => undefined), systemTimers.sleep(FEED_READY_TIMEOUT_MS, timeout.signal)])
    timeout.abort()
  }

  #start(): void {
    const background = this.#stopBackground.signal
    const loops = this.#settings.prefetch > 0 ? CLAIMS_IN_FLIGHT_WITH_PREFETCH : 1
    this.#claiming = Promise.all(Array.from({ length: loops }, () => this.#claimLoop())).then(() => undefined)
    this.#loops = Promise.all([this.#claiming, this.#leases.run(background), this.#heartbeatLoop(background)])
  }

  async #claimLoop(): Promise<void> {
    const { timers, pollIntervalMs } = this.#settings
    const stop = this.#stopClaiming.signal
    let failures = 0
    while (!stop.aborted) {
      // News from here on (new work, a freed slot) ends the next wait at once.
      const since = this.#wake.heard
      const plan = this.#claimPlan()
      if (!plan) {
        await this.#wake.wait(timers, pollIntervalMs, stop, since)
        continue
      }
      const arrived = this.#slots.reserve(plan.count)
      let attempts: Attempt[]
      try {
        attempts = await this.#worker.requestAttempts({ numberOfWorkUnits: plan.count, workSpecs: plan.specs, lifetimeMs: this.#settings.leaseMs })
        failures = 0
      } catch (error) {
        arrived()
        failures++
        this.#databaseError('claiming work', error)
        await timers.sleep(backoffDelay(failures, CLAIM_RETRY_BASE_MS, CLAIM_RETRY_MAX_MS), stop)
        continue
      }
      if (stop.aborted) {
        arrived()
        // Claimed while stop() began: nobody will run these, so they go straight back.
        await Promise.all(attempts.map((attempt) => attempt.expire().catch(() => undefined)))
        return
      }
      if (attempts.length === 0) {
        arrived()
        this.#emit({ type: 'idle' })
        await this.#wake.wait(timers, pollIntervalMs, stop, since)
        continue
      }
      // Held until the units are queued, or the other loop would claim their room again.
      await this.#startAll(attempts).finally(arrived)
    }
  }

  // How many units to ask for and from which specs; undefined when no slot is free.
  #claimPlan(): { count: number; specs: string[] } | undefined {
    // Results not yet written still hold leases: do not run far ahead of the writes. With
    // prefetch a whole queue of quick handlers ends within one write, so the bound counts it.
    const { concurrency, prefetch } = this.#settings
    if (this.#completer.backlog >= 2 * (concurrency + prefetch)) return undefined
    return this.#slots.plan(this.#settings.specs)
  }

  // Starts the claimed units' handlers, with the data their claim brought or one read per spec.
  async #startAll(attempts: Attempt[]): Promise<void> {
    const bySpec = new Map<string, Attempt[]>()
    for (const attempt of attempts) {
      const list = bySpec.get(attempt.workUnit.workSpec.name) ?? []
      list.push(attempt)
      bySpec.set(attempt.workUnit.workSpec.name, list)
    }
    for (const [spec, list] of bySpec) {
      const expiresAt = this.#settings.clock.now().getTime() + this.#settings.leaseMs
      let datas: (DataDict | undefined)[]
      try {
        datas = await this.#unitData(list)
      } catch (error) {
        this.#databaseError('reading claimed units', error)
        await Promise.all(list.map((attempt) => attempt.expire().catch(() => undefined)))
        continue
      }
      list.forEach((attempt, i) => {
        const data = datas[i]
        if (data === undefined) this.#settings.logger.warn({ workSpec: spec, unit: attempt.workUnit.name }, 'claimed unit vanished before it started')
        else this.#launch(attempt, data, expiresAt)
      })
      this.#emit({ type: 'claimed', count: list.length, workSpec: spec })
    }
  }

  // The data the claim brought along where the backend gives it (Postgres, REST), else one read;
  // in the attempts' order, undefined for a unit gone meanwhile. Taken, so the attempts the
  // runtime holds while handlers run keep only the copy the handler got.
  async #unitData(attempts: Attempt[]): Promise<(DataDict | undefined)[]> {
    const claimed = attempts.map((attempt) => attempt.takeClaimData())
    const unread = attempts.filter((_, i) => claimed[i] === undefined)
    const first = unread[0]
    if (!first) return claimed
    const snapshots = await first.workUnit.workSpec.workUnitSnapshots(unread.map((a) => a.workUnit.key))
    const now = this.#settings.clock.now()
    const read = new Map(snapshots.map((s) => [workUnitKeyId(s.key), snapshotData(s, now)]))
    return attempts.map((attempt, i) => claimed[i] ?? read.get(workUnitKeyId(attempt.workUnit.key)))
  }

  #launch(attempt: Attempt, data: DataDict, expiresAt: number): void {
    const spec = attempt.workUnit.workSpec
    const unit: TaskUnit = { name: attempt.workUnit.name, key: attempt.workUnit.key, data, workSpec: spec.name, namespace: spec.namespace.name }
    const entry: RunningAttempt = { attempt, unit, controller: new LazyAbort(), state: 'queued', expiresAt, data }
    this.#held.set(attempt.id, entry)
    if (this.#slots.admit(entry)) this.#begin(entry)
  }

  #begin(entry: RunningAttempt): void {
    entry.state = 'running'
    const settled = this.#run(entry).finally(() => this.#settled.delete(settled))
    this.#settled.add(settled)
  }

  async #run(entry: RunningAttempt): Promise<void> {
    const handler = this.#settings.tasks[entry.unit.workSpec]
    const context: TaskContext = {
      // A getter: the signal is made only for handlers that read it.
      get signal() {
        return entry.controller.signal
      },
      attempt: entry.attempt,
      progress: (data) => this.#progress(entry, data),
    }
    let outcome: { ok: true; value: unknown } | { ok: false; thrown: unknown }
    try {
      if (!handler) throw new Error(`no handler for work spec ${entry.unit.workSpec}`)
      outcome = { ok: true, value: await handler(entry.unit, context) }
    } catch (thrown) {
      outcome = { ok: false, thrown }
    }
    // Past the lease's end the database would still take the result (an expired attempt that is
    // still active may finish), yet another worker may have the unit by now: drop it instead.
    if (entry.state === 'running' && this.#settings.clock.now().getTime() > entry.expiresAt) {
      this.#leaseLost(entry, 'the lease ran out before the handler returned')
    }
    if (entry.state === 'running') this.#freeSlot(entry)
    if (entry.state !== 'running') {
      if (entry.state === 'lost') this.#settings.logger.warn(this.#fields(entry), 'handler ended after its lease was lost; result discarded')
      return
    }
    entry.state = 'completing'
    if (outcome.ok) {
      try {
        this.#completer.add({ entry, status: 'finished', data: taskOutput(outcome.value) })
        return
      } catch (invalid) {
        outcome = { ok: false, thrown: invalid }
      }
    }
    this.#completer.add(await this.#failure(entry, outcome.thrown))
  }

  // A thrown error retries the unit while the spec's max_retries allows another attempt, and
  // fails it otherwise (at once when the spec sets no max_retries, as Python's workers do).
  async #failure(entry: RunningAttempt, thrown: unknown): Promise<Completion> {
    const data = failureData(entry.data, thrown)
    this.#settings.logger.info({ ...this.#fields(entry), err: thrown }, 'handler failed')
    try {
      const { maxRetries } = await entry.attempt.workUnit.workSpec.meta()
      if (maxRetries > 0) {
        const attempts = await entry.attempt.workUnit.numAttempts()
        if (attempts < maxRetries) return { entry, status: 'retried', data, delayMs: this.#settings.retryDelayMs(attempts) }
      }
    } catch (error) {
      this.#databaseError('reading max_retries', error)
    }
    return { entry, status: 'failed', data }
  }

  async #progress(entry: RunningAttempt, data: DataDict): Promise<void> {
    if (!holdsLease(entry)) throw new TaskAbortedError(entry.state === 'lost' ? 'lease-lost' : 'shutdown')
    try {
      await this.#leases.renewOne(entry, data)
    } catch (error) {
      if (holdsLease(entry) && (error as { code?: unknown }).code === 'LOST_LEASE') this.#leaseLost(entry, 'progress found another attempt on the unit')
      throw error
    }
  }

  #freeSlot(entry: RunningAttempt): void {
    for (const next of this.#slots.release(entry)) this.#begin(next)
    this.#wake.notify()
  }

  // The handler may ignore the abort; its slot is freed now all the same, so a handler that
  // never ends cannot starve the runtime, and whatever it returns later is dropped.
  #leaseLost(entry: RunningAttempt, why: string): void {
    if (!holdsLease(entry)) return
    const wasRunning = entry.state === 'running'
    if (entry.state === 'queued') this.#slots.dequeue(entry)
    entry.state = 'lost'
    this.#held.delete(entry.attempt.id)
    if (wasRunning) this.#freeSlot(entry)
    entry.controller.abort(new TaskAbortedError('lease-lost'))
    this.#settings.logger.warn({ ...this.#fields(entry), why }, 'lease lost; handler aborted and its result will be discarded')
    this.#emit({ type: 'lease-lost', workSpec: entry.unit.workSpec, unit: entry.unit.name })
  }

  #written(c: Completion): void {
    c.entry.state = 'done'
    this.#held.delete(c.entry.attempt.id)
    this.#emit({ type: 'completed', status: c.status, workSpec: c.entry.unit.workSpec, unit: c.entry.unit.name })
  }

  #discard(entry: RunningAttempt, why: string): void {
    entry.state = 'lost'
    this.#held.delete(entry.attempt.id)
    this.#settings.logger.warn({ ...this.#fields(entry), why }, 'result discarded')
    this.#emit({ type: 'lease-lost', workSpec: entry.unit.workSpec, unit: entry.unit.name })
  }

  async #heartbeatLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      await this.#settings.timers.sleep(this.#settings.heartbeatMs, stop)
      if (!stop.aborted) await this.#heartbeat(RUNNING_MODE).catch((error: unknown) => this.#databaseError('heartbeat', error))
    }
  }

  #heartbeat(mode: string): Promise<void> {
    const { concurrency, specs, workerData, clock, heartbeatMs } = this.#settings
    const data = { ...registrationData(concurrency, specs, workerData), running: this.#slots.running }
    // Three missed heartbeats and the worker reads as gone.
    return this.#worker.update({ data, mode, expiration: new Date(clock.now().getTime() + 3 * heartbeatMs) })
  }

  async #stop(gracePeriodMs: number): Promise<void> {
    const { timers, logger } = this.#settings
    this.#stopClaiming.abort()
    this.#unsubscribe?.()
    logger.info({ running: this.#slots.running, gracePeriodMs }, 'stopping: no new claims')
    await this.#claiming
    await this.#giveBack(this.#slots.drainQueue(), 'claimed unit not started at shutdown; given back')
    const grace = new AbortController()
    const handlersDone = Promise.all([...this.#settled]).then(() => grace.abort())
    await Promise.race([handlersDone, timers.sleep(gracePeriodMs, grace.signal)])
    grace.abort()
    const running = [...this.#held.values()].filter((entry) => entry.state === 'running')
    await this.#giveBack(running, 'handler still running at shutdown; aborted and unit given back')
    const writes = new AbortController()
    await Promise.race([this.#completer.drained(), timers.sleep(STOP_WRITE_TIMEOUT_MS, writes.signal)])
    writes.abort()
    this.#completer.abandon()
    this.#stopBackground.abort()
    await this.#loops
    // The heartbeat records the stopped mode (and marks the worker active), so it goes first.
    await this.#heartbeat(STOPPED_MODE).catch(() => undefined)
    await this.#worker.deactivate().catch((error: unknown) => this.#databaseError('deactivating the worker', error))
    logger.info({}, 'stopped')
  }

  // Handlers still running after the grace period (and units never started): abort them and
  // expire their attempts so other workers can take the units now rather than when the lease
  // would have ended.
  async #giveBack(entries: RunningAttempt[], message: string): Promise<void> {
    await Promise.all(
      entries.map(async (entry) => {
        const wasRunning = entry.state === 'running'
        entry.state = 'given-back'
        this.#held.delete(entry.attempt.id)
        if (wasRunning) this.#freeSlot(entry)
        entry.controller.abort(new TaskAbortedError('shutdown'))
        try {
          await entry.attempt.expire()
          this.#emit({ type: 'given-back', workSpec: entry.unit.workSpec, unit: entry.unit.name })
        } catch (error) {
          this.#databaseError('giving back a unit', error)
        }
        this.#settings.logger.warn(this.#fields(entry), message)
      }),
    )
  }

  #databaseError(during: string, error: unknown): void {
    this.#settings.logger.warn({ err: error, during }, 'database call failed; will retry')
    this.#emit({ type: 'database-error', during, error })
  }

  #emit(event: WorkerEvent): void {
    try {
      this.#settings.onEvent(event)
    } catch {
      // An observer's bug must not stop the runtime.
    }
  }

  #fields(entry: RunningAttempt): Record<string, unknown> {
    return { workSpec: entry.unit.workSpec, unit: entry.unit.name, attempt: entry.attempt.id }
  }
}

// Whether a change can mean new or re-offered work for these specs.
function concerns(event: ChangeEvent, namespace: string, specs: ReadonlySet<string>): boolean {
  if (event.kind === 'resync') return true
  if (event.namespace !== namespace) return false
  return event.kind === 'namespace' || specs.has(event.workSpec)
}

/**
 * Runs handlers for the work specs named in `options.tasks` until stop() is called.
 *
 * @example
 * const runtime = await runWorkers(coordinate, { namespace: 'crawl', tasks: { fetch: async (unit) => ({ size: 1 }) } })
 * process.on('SIGTERM', () => void runtime.stop())
 */
export function runWorkers(coordinate: Coordinate, options: WorkerOptions): Promise<WorkerRuntime> {
  return WorkerRuntime.start(coordinate, options)
}
