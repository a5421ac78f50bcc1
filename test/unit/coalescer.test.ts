import { describe, expect, it } from 'vitest'
import { Coalescer, type Settled, settle, settleEach } from '../../src/coordinate/coalescer.js'

/** A batch runner whose batches finish when the test says, recording what each batch held. */
function gated(): { coalescer: Coalescer<number, number>; batches: number[][]; release: () => void } {
  const batches: number[][] = []
  const gates: (() => void)[] = []
  const coalescer = new Coalescer<number, number>(
    async (items) => {
      batches.push(items)
      await new Promise<void>((resolve) => gates.push(resolve))
      return items.map((n): Settled<number> => (n < 0 ? { ok: false, error: new Error(`negative ${n}`) } : { ok: true, value: n * 10 }))
    },
    { maxInFlight: 1, maxBatch: 3 },
  )
  return { coalescer, batches, release: () => gates.shift()?.() }
}

describe('Coalescer', () => {
  it('sends a call at once when idle, and gathers the calls made meanwhile into the next batch', async () => {
    const { coalescer, batches, release } = gated()
    const first = coalescer.call(1)
    const rest = [2, 3, 4, 5].map((n) => coalescer.call(n))
    expect(batches).toEqual([[1]])
    release()
    expect(await first).toBe(10)
    // The four waiting calls, at most three a batch.
    expect(batches).toEqual([[1], [2, 3, 4]])
    release()
    await rest[2]
    expect(batches).toEqual([[1], [2, 3, 4], [5]])
    release()
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50])
  })

  it('gives each call its own outcome, and a thrown batch to every call in it', async () => {
    const { coalescer, release } = gated()
    const calls = [1, -2, 3].map((n) => settle(() => coalescer.call(n)))
    release()
    await calls[0]
    release()
    const outcomes = await Promise.all(calls)
    expect(outcomes.map((o) => (o.ok ? o.value : (o.error as Error).message))).toEqual([10, 'negative -2', 30])

    const failing = new Coalescer<number, number>(() => Promise.reject(new Error('database down')), { maxInFlight: 2, maxBatch: 10 })
    const failed = await Promise.all([1, 2, 3].map((n) => settle(() => failing.call(n))))
    expect(failed.map((o) => (o.ok ? o.value : (o.error as Error).message))).toEqual(['database down', 'database down', 'database down'])
  })

  it('keeps at most maxInFlight batches running', async () => {
    let running = 0
    let most = 0
    const coalescer = new Coalescer<number, number>(
      async (items) => {
        most = Math.max(most, ++running)
        await new Promise((resolve) => setImmediate(resolve))
        running--
        return items.map((value) => ({ ok: true, value }))
      },
      { maxInFlight: 2, maxBatch: 2 },
    )
    expect(await Promise.all(Array.from({ length: 20 }, (_, i) => coalescer.call(i)))).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(most).toBe(2)
  })
})

describe('settleEach', () => {
  /** Runs settleEach over three items whose calls wait for a tick, and records the most running at once. */
  async function mostAtOnce(together: boolean): Promise<{ peak: number; outcomes: Settled<number>[] }> {
    let running = 0
    let peak = 0
    const outcomes = await settleEach(
      [1, 2, 3],
      async (n) => {
        peak = Math.max(peak, ++running)
        await new Promise((resolve) => setImmediate(resolve))
        running--
        if (n === 2) throw new Error('two refused')
        return n * 10
      },
      together,
    )
    return { peak, outcomes }
  }

  it('runs the items at once when together, one after the other otherwise, each with its own outcome', async () => {
    for (const [together, peak] of [[true, 3], [false, 1]] as const) {
      const result = await mostAtOnce(together)
      expect(result.peak).toBe(peak)
      expect(result.outcomes.map((o) => (o.ok ? o.value : (o.error as Error).message))).toEqual([10, 'two refused', 30])
    }
  })
})
