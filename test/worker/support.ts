import { afterEach } from 'vitest'
import type { Coordinate } from '../../src/coordinate/api.js'
import type { FakeClock } from '../../src/coordinate/clock.js'
import type { WorkerEvent, WorkerOptions } from '../../src/worker/options.js'
import { type WorkerRuntime, runWorkers } from '../../src/worker/runtime.js'
import { ManualTimers } from '../../src/worker/timers.js'

/** Every event a runtime emitted, with a way to await the next one that matches. */
export class EventLog {
  readonly events: WorkerEvent[] = []
  #waiters: { match: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }[] = []

  /** Records an event and wakes whoever waits for it. */
  readonly push = (event: WorkerEvent): void => {
    this.events.push(event)
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(event)) return true
      w.resolve(event)
      return false
    })
  }

  /** Resolves with the next event (from now on) that `match` accepts. */
  next(match: (e: WorkerEvent) => boolean): Promise<WorkerEvent> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }))
  }

  /** Resolves once `count` completions of this status have been recorded (past ones count). */
  async completed(count: number, status: 'finished' | 'failed' | 'retried' = 'finished'): Promise<void> {
    while (this.events.filter((e) => e.type === 'completed' && e.status === status).length < count) {
      await this.next((e) => e.type === 'completed')
    }
  }
}

/** A runtime on fake time: its sleeps end only when the test advances `timers`. */
export interface TestRuntime {
  runtime: WorkerRuntime
  timers: ManualTimers
  log: EventLog
}

const started: WorkerRuntime[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((r) => r.stop({ gracePeriodMs: 0 })))
})

/** Starts a runtime whose timers follow `clock`; stopped after the test if the test did not. */
export async function startRuntime(coordinate: Coordinate, clock: FakeClock, options: WorkerOptions): Promise<TestRuntime> {
  const timers = new ManualTimers(clock)
  const log = new EventLog()
  const runtime = await runWorkers(coordinate, { clock, timers, onEvent: log.push, ...options })
  started.push(runtime)
  return { runtime, timers, log }
}

/** A promise with its resolve function outside, for handlers a test releases by hand. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void
  const promise = new Promise<T>((resolve) => (open = resolve))
  return { promise, open }
}
