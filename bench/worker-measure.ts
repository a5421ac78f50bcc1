import { percentile, percentileText } from './support.js'

/** How a drain went: units done, and their rate over the time it took. */
export interface RunResult {
  done: number
  rate: number
  /** True when the time limit stopped the drain before every unit was done. */
  cut: boolean
}

/** A clock started now that a drain stops by calling finish(), or that stops itself after `limitMs`. */
export function drainTimed(total: number, limitMs?: number, doneSoFar?: () => number): { finish: (done: number) => void; result: Promise<RunResult> } {
  const start = performance.now()
  let finish!: (done: number) => void
  const result = new Promise<RunResult>((resolve) => {
    let timer: NodeJS.Timeout | undefined
    finish = (done) => {
      if (timer) clearTimeout(timer)
      resolve({ done, rate: done / ((performance.now() - start) / 1000), cut: done < total })
    }
    if (limitMs !== undefined) timer = setTimeout(() => finish(doneSoFar?.() ?? 0), limitMs)
  })
  return { finish, result }
}

/**
 * Pickup latency on an idle runner: the time from the start of the call that adds one unit to
 * its handler starting, one unit at a time, with a pause between them so the runner is idle.
 */
export class PickupMeter {
  readonly samples: number[] = []
  #waiting: ((at: number) => void) | undefined

  constructor(
    private readonly count: number,
    private readonly pauseMs = 20,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Called by the handler as it starts. */
  readonly started = (): void => {
    const waiting = this.#waiting
    this.#waiting = undefined
    waiting?.(performance.now())
  }

  /** Adds units one by one through `add` and records each pickup. */
  async measure(add: (i: number) => Promise<void>): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs))
      const start = performance.now()
      const picked = new Promise<number>((resolve) => {
        this.#waiting = resolve
        setTimeout(() => resolve(NaN), this.timeoutMs).unref()
      })
      await add(i)
      const at = await picked
      this.samples.push(at - start)
    }
  }

  /** "p50 1.2 ms, p99 3.4 ms" (timeouts count as the slowest). */
  summary(): { p50: number; p99: number; text: string } {
    const samples = this.samples.map((s) => (Number.isNaN(s) ? Infinity : s))
    return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), text: percentileText(samples, [0.5, 0.99], 1) }
  }
}
